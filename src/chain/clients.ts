/**
 * Makes the viem clients every part uses to talk to a Hypha chain over JSON-RPC (HTTP over a
 * keep-alive connection pool, with batching and retries; fast polling for local chains) and loads the contract addresses that
 * belong to the chain the RPC endpoint serves.
 */
import { createPublicClient, createWalletClient, defineChain, http, type Account, type Chain, type PublicClient, type WalletClient } from "viem";
import { readAddresses, type HyphaAddresses } from "./addresses";
import { ChainUnavailableError, toChainError } from "./chainError";
import { InputError } from "../errors";
import { keepAliveHttp } from "./keepAliveTransport";

/** Default file or folder holding `<chainId>.json` address files (written by the deploy code). */
export const DEFAULT_DEPLOYMENTS = "deployments";

function transport(rpcUrl: string) {
  // node:http with keep-alive costs a fraction of fetch's client CPU per request (bench:transport).
  if (/^https?:/i.test(rpcUrl)) return keepAliveHttp(rpcUrl, { retryCount: 2, retryDelay: 100, timeout: 20_000 });
  return http(rpcUrl, { batch: { wait: 0 }, retryCount: 2, retryDelay: 100, timeout: 20_000 });
}

/**
 * A minimal viem chain definition for any EVM chain id (Hypha talks to whatever the RPC serves).
 * @example makeChain(31337, "http://127.0.0.1:8545")
 */
export function makeChain(chainId: number, rpcUrl: string): Chain {
  return defineChain({
    id: chainId,
    name: chainId === 31337 ? "Hardhat" : `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

/**
 * A read-only client over HTTP JSON-RPC, polling every 100 ms by default (a local chain mines
 * instantly; viem's 4 s default would make every wait slow).
 * @example const pc = makePublicClient("http://127.0.0.1:8545"); await pc.getBlockNumber();
 */
export function makePublicClient(rpcUrl: string, opts: { pollingIntervalMs?: number; chain?: Chain } = {}): PublicClient {
  return createPublicClient({
    chain: opts.chain,
    transport: transport(rpcUrl),
    pollingInterval: opts.pollingIntervalMs ?? 100,
  }) as PublicClient;
}

/**
 * A client that signs with `account` (a local account signs in-process; a JSON-RPC account is
 * signed by the node). Without `opts.chain`, pass `chain: null` to writeContract / sendTransaction:
 * viem then asks the node for the chain id instead of asserting it.
 * @example const wc = makeWalletClient(rpc, devAccount(11)); await wc.writeContract({ ...call, chain: null });
 */
export function makeWalletClient(rpcUrl: string, account: Account, opts: { chain?: Chain; pollingIntervalMs?: number } = {}): WalletClient {
  return createWalletClient({
    account,
    chain: opts.chain,
    transport: transport(rpcUrl),
    pollingInterval: opts.pollingIntervalMs ?? 100,
  }) as WalletClient;
}

/**
 * Reads the Hypha contract addresses for the chain `publicClient` is connected to, from
 * `deploymentFile` (a `<chainId>.json` file or a folder of them; default `deployments/`), and checks
 * that the DeploymentRegistry has code there (a restarted local node forgets its contracts).
 * @example const addresses = await loadContracts(makePublicClient(rpc));
 */
export async function loadContracts(publicClient: PublicClient, deploymentFile?: string): Promise<HyphaAddresses> {
  let chainId: number;
  try {
    chainId = await publicClient.getChainId();
  } catch (err) {
    throw toChainError(err, "reading the chain id");
  }
  const addresses = readAddresses(deploymentFile ?? DEFAULT_DEPLOYMENTS, chainId);
  if (addresses.chainId !== chainId) {
    throw new InputError("deployment file", `is for chain ${addresses.chainId}, but the RPC serves chain ${chainId}`);
  }
  let code: string | undefined;
  try {
    code = await publicClient.getCode({ address: addresses.deploymentRegistry });
  } catch (err) {
    throw toChainError(err, "checking the DeploymentRegistry");
  }
  if (!code || code === "0x") {
    throw new ChainUnavailableError(`no contract at DeploymentRegistry ${addresses.deploymentRegistry} on chain ${chainId}`, {
      details: "the chain was probably restarted; deploy the contracts again (hypha up) or pass --deployment FILE",
    });
  }
  return addresses;
}
