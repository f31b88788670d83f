/**
 * Deploys Hypha's three contracts (HyphaToken, NodeRegistry, DeploymentRegistry) to any chain,
 * wires their roles, and (on local chains) funds accounts and approves agent measurements.
 * Bytecode is read from Hardhat's artifacts/ at run time, so this works from tests, scripts and
 * the CLI alike. Transactions are sent one at a time from the admin account.
 */
import fs from "node:fs";
import path from "node:path";
import { getAddress, parseEther, type Abi, type Address, type Hash, type Hex, type PublicClient, type WalletClient } from "viem";
import { HyphaError } from "../errors";
import { ChainRefusedError, ChainUnavailableError } from "./chainError";
import { deploymentRegistryAbi, hyphaTokenAbi, nodeRegistryAbi } from "./abi";
import type { HyphaAddresses } from "./addresses";

/** Deploying or configuring the contracts failed (missing artifacts: exit 1; chain: exit 2). */
export class DeployError extends HyphaError {
  override name = "DeployError";
}

/** Constructor parameters; every field has a local-chain default. */
export interface DeployParams {
  /** Least stake to register a node, token wei (default 100 tokens). */
  minStake?: bigint;
  /** Seconds from beginUnbonding to withdraw (default 60). */
  unbondingDelaySeconds?: bigint;
  /** Share of a node's stake slashed per incident, basis points 0..10000 (default 1000 = 10%). */
  slashBps?: number;
  /** Accounts given ORCHESTRATOR_ROLE on the DeploymentRegistry (default none). */
  orchestrators?: Address[];
  /** Receives slashed stake that has no harmed party (default: the admin). */
  treasury?: Address;
  /** Hardhat artifacts folder (default: <repo>/artifacts). */
  artifactsDir?: string;
}

export const DEFAULT_DEPLOY_PARAMS = {
  minStake: parseEther("100"),
  unbondingDelaySeconds: 60n,
  slashBps: 1000,
} as const;

const DEFAULT_ARTIFACTS = path.join(__dirname, "..", "..", "artifacts");

/**
 * Reads a contract's creation bytecode from Hardhat's artifacts.
 * @example loadBytecode("HyphaToken") // "0x6080..."
 */
export function loadBytecode(
  contract: "HyphaToken" | "NodeRegistry" | "DeploymentRegistry" | string,
  artifactsDir = DEFAULT_ARTIFACTS,
  sourceDir = "contracts",
): Hex {
  const file = path.join(artifactsDir, sourceDir, `${contract}.sol`, `${contract}.json`);
  let json: { bytecode?: string };
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8")) as { bytecode?: string };
  } catch (cause) {
    throw new DeployError(`contract artifact ${contract}: not found at ${file}`, { details: "run `npm run compile` first", cause });
  }
  if (!json.bytecode || json.bytecode === "0x") throw new DeployError(`contract artifact ${contract}: has no bytecode`, { details: "run `npm run compile`" });
  return json.bytecode as Hex;
}

/** The linked libraries DeploymentRegistry needs (source path inside contracts/, library name). */
const REGISTRY_LIBRARIES = [
  ["libraries", "JobQuorum"],
  ["libraries", "IntentRules"],
] as const;

/**
 * Replaces the link placeholders of `contract`'s bytecode with the given library addresses, at the
 * offsets its artifact's `linkReferences` lists (Solidity's `__$<hash>$__` markers).
 * @example linkBytecode(loadBytecode("DeploymentRegistry"), readLinkReferences("DeploymentRegistry"), { JobQuorum: "0x…" })
 */
export function linkBytecode(
  bytecode: Hex,
  linkReferences: Record<string, Record<string, { start: number; length: number }[]>>,
  libraries: Record<string, Address>,
): Hex {
  let hex = bytecode.slice(2);
  for (const refs of Object.values(linkReferences)) {
    for (const [name, places] of Object.entries(refs)) {
      const address = libraries[name];
      if (!address) throw new DeployError(`linking: no address for library ${name}`);
      for (const { start, length } of places) {
        hex = hex.slice(0, start * 2) + address.slice(2).toLowerCase() + hex.slice((start + length) * 2);
      }
    }
  }
  if (hex.includes("__$")) throw new DeployError("linking: a library placeholder is left in the bytecode");
  return `0x${hex}`;
}

/** A contract artifact's linkReferences (empty when it links nothing). */
export function readLinkReferences(contract: string, artifactsDir = DEFAULT_ARTIFACTS, sourceDir = "contracts") {
  const file = path.join(artifactsDir, sourceDir, `${contract}.sol`, `${contract}.json`);
  const json = JSON.parse(fs.readFileSync(file, "utf8")) as { linkReferences?: Record<string, Record<string, { start: number; length: number }[]>> };
  return json.linkReferences ?? {};
}

function sender(walletClient: WalletClient) {
  const account = walletClient.account;
  if (!account) throw new DeployError("walletClient: has no account (create it with an account to deploy from)");
  return account;
}

async function confirm(publicClient: PublicClient, hash: Hash, what: string) {
  let receipt;
  try {
    receipt = await publicClient.waitForTransactionReceipt({ hash });
  } catch (cause) {
    throw new ChainUnavailableError(`${what}: no receipt`, { cause });
  }
  if (receipt.status !== "success") throw new ChainRefusedError(`${what}: transaction reverted (${hash})`);
  return receipt;
}

async function deployOne(
  walletClient: WalletClient,
  publicClient: PublicClient,
  name: string,
  abi: Abi,
  bytecode: Hex,
  args: readonly unknown[],
): Promise<{ address: Address; blockNumber: bigint }> {
  let hash: Hash;
  try {
    hash = await walletClient.deployContract({ abi, bytecode, args, account: sender(walletClient), chain: walletClient.chain ?? null });
  } catch (cause) {
    throw new ChainUnavailableError(`deploying ${name}: ${(cause as Error).message.split("\n")[0]}`, { cause });
  }
  const receipt = await confirm(publicClient, hash, `deploying ${name}`);
  if (!receipt.contractAddress) throw new ChainUnavailableError(`deploying ${name}: receipt has no contract address`);
  return { address: getAddress(receipt.contractAddress), blockNumber: receipt.blockNumber };
}

async function write(
  walletClient: WalletClient,
  publicClient: PublicClient,
  what: string,
  call: { address: Address; abi: Abi; functionName: string; args: readonly unknown[] },
) {
  let hash: Hash;
  try {
    hash = await walletClient.writeContract({ ...call, account: sender(walletClient), chain: walletClient.chain ?? null });
  } catch (cause) {
    throw new ChainUnavailableError(`${what}: ${(cause as Error).message.split("\n")[0]}`, { cause });
  }
  return confirm(publicClient, hash, what);
}

/**
 * Deploys HyphaToken, NodeRegistry and DeploymentRegistry from `walletClient`'s account (the admin),
 * grants the DeploymentRegistry DEPLOYMENTS_ROLE on the NodeRegistry and ORCHESTRATOR_ROLE to each
 * orchestrator. Returns the addresses (write them with writeAddresses).
 * @example const addrs = await deployHypha({ walletClient, publicClient, params: { orchestrators: [devAccount(1).address] } });
 */
export async function deployHypha(opts: { walletClient: WalletClient; publicClient: PublicClient; params?: DeployParams }): Promise<HyphaAddresses> {
  const { walletClient, publicClient } = opts;
  const p = opts.params ?? {};
  const admin = sender(walletClient).address;
  const minStake = p.minStake ?? DEFAULT_DEPLOY_PARAMS.minStake;
  const delay = p.unbondingDelaySeconds ?? DEFAULT_DEPLOY_PARAMS.unbondingDelaySeconds;
  const slashBps = p.slashBps ?? DEFAULT_DEPLOY_PARAMS.slashBps;
  if (minStake < 0n || minStake >= 2n ** 96n) throw new DeployError(`params.minStake: ${minStake} must fit uint96`);
  if (delay < 0n || delay >= 2n ** 64n) throw new DeployError(`params.unbondingDelaySeconds: ${delay} must fit uint64`);
  if (!Number.isInteger(slashBps) || slashBps < 0 || slashBps > 10_000) throw new DeployError(`params.slashBps: ${slashBps} must be 0..10000`);
  const dir = p.artifactsDir ?? DEFAULT_ARTIFACTS;
  const bytecode = {
    token: loadBytecode("HyphaToken", dir),
    nodes: loadBytecode("NodeRegistry", dir),
    deployments: loadBytecode("DeploymentRegistry", dir),
  };
  const libraries: Record<string, Address> = {};
  for (const [folder, name] of REGISTRY_LIBRARIES) {
    libraries[name] = (await deployOne(walletClient, publicClient, name, [], loadBytecode(name, dir, `contracts/${folder}`), [])).address;
  }
  bytecode.deployments = linkBytecode(bytecode.deployments, readLinkReferences("DeploymentRegistry", dir), libraries);
  const chainId = await publicClient.getChainId();
  const token = await deployOne(walletClient, publicClient, "HyphaToken", hyphaTokenAbi, bytecode.token, [admin]);
  const nodes = await deployOne(walletClient, publicClient, "NodeRegistry", nodeRegistryAbi, bytecode.nodes, [
    token.address,
    admin,
    minStake,
    delay,
    slashBps,
    p.treasury ?? admin,
  ]);
  const deployments = await deployOne(walletClient, publicClient, "DeploymentRegistry", deploymentRegistryAbi, bytecode.deployments, [
    token.address,
    nodes.address,
    admin,
  ]);
  const deploymentsRole = await publicClient.readContract({ address: nodes.address, abi: nodeRegistryAbi, functionName: "DEPLOYMENTS_ROLE" });
  await write(walletClient, publicClient, "granting DEPLOYMENTS_ROLE", {
    address: nodes.address,
    abi: nodeRegistryAbi,
    functionName: "grantRole",
    args: [deploymentsRole, deployments.address],
  });
  const orchestratorRole = await publicClient.readContract({
    address: deployments.address,
    abi: deploymentRegistryAbi,
    functionName: "ORCHESTRATOR_ROLE",
  });
  for (const o of p.orchestrators ?? []) {
    await write(walletClient, publicClient, `granting ORCHESTRATOR_ROLE to ${o}`, {
      address: deployments.address,
      abi: deploymentRegistryAbi,
      functionName: "grantRole",
      args: [orchestratorRole, o],
    });
  }
  return { chainId, token: token.address, nodeRegistry: nodes.address, deploymentRegistry: deployments.address, deployBlock: token.blockNumber };
}

/**
 * Mints `amount` HyphaToken to each account (local chains: the admin holds MINTER_ROLE).
 * @example await fundAccounts({ walletClient, publicClient, addresses, accounts: [devAccount(11).address], amount: parseEther("1000") });
 */
export async function fundAccounts(opts: {
  walletClient: WalletClient;
  publicClient: PublicClient;
  addresses: HyphaAddresses;
  accounts: readonly Address[];
  amount: bigint;
}): Promise<void> {
  if (opts.amount <= 0n) throw new DeployError(`amount: ${opts.amount} must be positive`);
  for (const to of opts.accounts) {
    await write(opts.walletClient, opts.publicClient, `minting to ${to}`, {
      address: opts.addresses.token,
      abi: hyphaTokenAbi,
      functionName: "mint",
      args: [to, opts.amount],
    });
  }
}

/**
 * Admin: approves (or with `approved: false` revokes) an agent measurement, so nodes reporting it
 * are eligible for placement.
 * @example await approveMeasurement({ walletClient, publicClient, addresses, measurement: "0x…32 bytes" });
 */
export async function approveMeasurement(opts: {
  walletClient: WalletClient;
  publicClient: PublicClient;
  addresses: HyphaAddresses;
  measurement: Hex;
  approved?: boolean;
}): Promise<void> {
  if (!/^0x[0-9a-fA-F]{64}$/.test(opts.measurement)) throw new DeployError(`measurement: ${opts.measurement} must be 32 bytes hex`);
  await write(opts.walletClient, opts.publicClient, "approving measurement", {
    address: opts.addresses.nodeRegistry,
    abi: nodeRegistryAbi,
    functionName: "setMeasurementApproved",
    args: [opts.measurement, opts.approved ?? true],
  });
}
