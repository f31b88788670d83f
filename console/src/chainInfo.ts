/**
 * What the console learns from the API it is served by: the chain, the DeploymentRegistry's
 * EIP-712 domain and the token (GET /v1/eip712), and the API client all pages share.
 */
import { createApiClient } from "hypha/sdk";
import type { Address } from "viem";

export const api = createApiClient("");

export interface ChainInfo {
  chainId: number;
  registry: Address;
  token: Address;
  relayer: Address | null;
}

export async function loadChainInfo(): Promise<ChainInfo> {
  const [eip712, health] = await Promise.all([fetch("/v1/eip712").then((r) => r.json()), api.health()]);
  return { chainId: eip712.domain.chainId, registry: eip712.domain.verifyingContract, token: eip712.token.address, relayer: health.relayer };
}
