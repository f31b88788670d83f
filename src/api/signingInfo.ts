/**
 * GET /v1/eip712: what a wallet needs to sign for this API's chain without the SDK: the
 * DeploymentRegistry's EIP-712 domain, the DeploymentIntent types (from src/chain/eip712.ts, the
 * one definition), and the token's ERC-2612 permit domain (read from its EIP-5267 eip712Domain()).
 */
import type { Request, Response } from "express";
import { getTypesForEIP712Domain, type PublicClient } from "viem";
import type { HyphaAddresses } from "../chain/addresses";
import { hyphaDomain, hyphaTypes } from "../chain/eip712";
import { permitTypes, readEip712Domain } from "../sdk/permit";

/** The signing facts of one chain (pure apart from the token domain, read once). */
export function createSigningInfoHandler(publicClient: PublicClient, addresses: HyphaAddresses) {
  let tokenDomain: ReturnType<typeof readEip712Domain> | undefined;
  return async (_req: Request, res: Response): Promise<void> => {
    tokenDomain ??= readEip712Domain(publicClient, addresses.token).catch((e) => {
      tokenDomain = undefined;
      throw e;
    });
    const domain = hyphaDomain(addresses.chainId, addresses.deploymentRegistry);
    res.json({
      domain,
      primaryType: "DeploymentIntent",
      types: { EIP712Domain: getTypesForEIP712Domain({ domain }), DeploymentIntent: hyphaTypes.DeploymentIntent },
      token: { address: addresses.token, permitDomain: await tokenDomain, permitTypes },
    });
  };
}
