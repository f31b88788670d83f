/**
 * Shared test fixtures for the contract tests: build and sign intents and attestations with viem,
 * register nodes, send transactions and read state, all against the in-process chain.
 */
import { expect } from "vitest";
import {
  BaseError,
  ContractFunctionRevertedError,
  createWalletClient,
  custom,
  decodeErrorResult,
  keccak256,
  parseEther,
  toHex,
  type Address,
  type Hash,
  type Hex,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { deploymentRegistryAbi, hyphaTokenAbi, nodeRegistryAbi } from "../../src/chain/abi";
import { attestationTypedData, hyphaDomain, intentTypedData, type Attestation, type DeploymentIntent } from "../../src/chain/eip712";
import type { InProcessChain } from "../helpers/chain";

export const MEASUREMENT = keccak256(toHex("hypha-agent-measurement-v1"));
export const SPEC = keccak256(toHex("spec"));
export const IMAGE = keccak256(toHex("image"));
export const OPERATORS = [5, 6, 7] as const;
export const AGENTS = [8, 9, 10] as const;
export const DEPLOYER = 11;
export const ORCH = 1;
export const MAX_UINT256 = 2n ** 256n - 1n;

export type Abi = typeof deploymentRegistryAbi | typeof nodeRegistryAbi | typeof hyphaTokenAbi;

/** Sends a contract call from dev account `from` and waits for its receipt (throws on revert). */
export async function send(
  c: InProcessChain,
  from: number,
  call: { address: Address; abi: Abi; functionName: string; args?: readonly unknown[] },
): Promise<{ hash: Hash; gasUsed: bigint; logs: readonly { topics: readonly Hex[]; data: Hex; address: Address }[] }> {
  const wc: WalletClient = c.walletClients[from];
  const hash = await wc.writeContract({ ...call, account: wc.account!, chain: wc.chain } as never);
  const receipt = await c.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${call.functionName} reverted`);
  return { hash, gasUsed: receipt.gasUsed, logs: receipt.logs as never };
}

/** Decodes the custom error a call would revert with (eth_call), or undefined when it succeeds. */
export async function revertOf(
  c: InProcessChain,
  from: number,
  call: { address: Address; abi: Abi; functionName: string; args?: readonly unknown[] },
): Promise<{ errorName?: string; args?: readonly unknown[] } | undefined> {
  try {
    await c.publicClient.simulateContract({ ...call, account: c.walletClients[from].account! } as never);
    return undefined;
  } catch (err) {
    const decoded = decodeRevert(err);
    if (!decoded) throw err;
    return decoded;
  }
}

const ALL_ERRORS = [...deploymentRegistryAbi, ...nodeRegistryAbi, ...hyphaTokenAbi].filter((x) => x.type === "error");

/**
 * The custom error in a failed call: from viem's decoded revert, or (the in-process Hardhat
 * provider reports reverts as plain errors carrying `data`) by decoding the revert data found
 * anywhere in the cause chain against all three contracts' errors.
 */
export function decodeRevert(err: unknown): { errorName: string; args?: readonly unknown[] } | undefined {
  if (err instanceof BaseError) {
    const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError && revert.data?.errorName) return { errorName: revert.data.errorName, args: revert.data.args };
  }
  for (let e: unknown = err, depth = 0; e && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    const data = (e as { data?: unknown }).data;
    const hex = typeof data === "string" ? data : typeof (data as { data?: unknown })?.data === "string" ? (data as { data: string }).data : undefined;
    if (hex && /^0x[0-9a-fA-F]{8}/.test(hex)) {
      try {
        const d = decodeErrorResult({ abi: ALL_ERRORS, data: hex as Hex });
        return { errorName: d.errorName, args: d.args as readonly unknown[] | undefined };
      } catch {
        return { errorName: `unknown(${hex.slice(0, 10)})` };
      }
    }
  }
  return undefined;
}

/**
 * Asserts a call reverts with custom error `name` (and, when given, these args): decoded from an
 * eth_call, then the transaction is really sent (fixed gas, no estimate) and mined as reverted,
 * and `state()` (when given) reads the same before and after.
 */
export async function expectRevert(
  c: InProcessChain,
  from: number,
  call: { address: Address; abi: Abi; functionName: string; args?: readonly unknown[] },
  name: string,
  args?: readonly unknown[],
  state?: () => Promise<unknown>,
): Promise<void> {
  const got = await revertOf(c, from, call);
  if (!got) throw new Error(`${call.functionName} did not revert (expected ${name})`);
  expect(got.errorName, `${call.functionName}`).toBe(name);
  if (args) expect(got.args ?? []).toEqual(args);
  const before = state ? stable(await state()) : undefined;
  const wc = c.walletClients[from];
  const blockBefore = await c.publicClient.getBlockNumber({ cacheTime: 0 });
  let hash: Hash | undefined;
  try {
    hash = await wc.writeContract({ ...call, account: wc.account!, chain: wc.chain, gas: 3_000_000n } as never);
  } catch (e) {
    // Hardhat mines the failing transaction and then reports the failure to the sender.
    if (process.env.DEBUG_REVERTS) {
      let x: unknown = e;
      while ((x as { cause?: unknown }).cause) x = (x as { cause?: unknown }).cause;
      console.log("send error:", String((x as Error).message).slice(0, 300));
    }
  }
  if (!hash) {
    // find the mined transaction from this sender after blockBefore
    const latest = await c.publicClient.getBlockNumber({ cacheTime: 0 });
    for (let n = blockBefore + 1n; n <= latest && !hash; n++) {
      const block = await c.publicClient.getBlock({ blockNumber: n, includeTransactions: true });
      const tx = block.transactions.find((t) => typeof t !== "string" && t.from.toLowerCase() === wc.account!.address.toLowerCase());
      if (tx && typeof tx !== "string") hash = tx.hash;
    }
  }
  expect(hash, `${call.functionName}: the reverting transaction was not mined`).toBeDefined();
  const receipt = await c.publicClient.getTransactionReceipt({ hash: hash! });
  expect(receipt.status).toBe("reverted");
  if (state) expect(stable(await state())).toEqual(before);
}

/** JSON with bigints as strings, for deep comparison of state snapshots. */
export function stable(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)));
}

export function dr(c: InProcessChain) {
  return { address: c.addresses.deploymentRegistry, abi: deploymentRegistryAbi } as const;
}
export function nr(c: InProcessChain) {
  return { address: c.addresses.nodeRegistry, abi: nodeRegistryAbi } as const;
}
export function tok(c: InProcessChain) {
  return { address: c.addresses.token, abi: hyphaTokenAbi } as const;
}

export function domain(c: InProcessChain) {
  return hyphaDomain(c.addresses.chainId, c.addresses.deploymentRegistry);
}

/** A valid single-replica service intent from dev account DEPLOYER; override any field. */
export function makeIntent(c: InProcessChain, over: Partial<DeploymentIntent> = {}): DeploymentIntent {
  return {
    deployer: c.accounts[DEPLOYER].address,
    specHash: SPEC,
    imageRoot: IMAGE,
    replicas: 1,
    cpuMillis: 500,
    memoryMiB: 256,
    diskMiB: 100,
    maxPricePerSecond: parseEther("0.001"),
    budget: parseEther("10"),
    nonce: 1n,
    deadline: 2n ** 63n,
    kind: 0,
    quorum: 0,
    maxRetries: 2,
    maxRunSeconds: over.kind === 1 ? 3600 : 0,
    ...over,
  };
}

/** A placement as the orchestrator sends it: at the node's current registered price (0 for an unknown node). */
export interface Placement {
  replicaIndex: number;
  nodeId: number;
  pricePerSecond: bigint;
}

/** Fills in each placement's pricePerSecond with its node's registered price (unless given). */
export async function priced(c: InProcessChain, placements: { replicaIndex: number; nodeId: number; pricePerSecond?: bigint }[]): Promise<Placement[]> {
  return Promise.all(
    placements.map(async (p) => {
      if (p.pricePerSecond !== undefined) return p as Placement;
      const count = await c.publicClient.readContract({ ...nr(c), functionName: "nodeCount" });
      const price = p.nodeId >= 1 && p.nodeId <= count ? (await getNode(c, p.nodeId)).pricePerSecond : 0n;
      return { ...p, pricePerSecond: price };
    }),
  );
}

/** Orchestrator ORCH schedules `placements` (priced at each node's registered price). */
export async function schedule(
  c: InProcessChain,
  intent: DeploymentIntent,
  placements: { replicaIndex: number; nodeId: number; pricePerSecond?: bigint }[],
  from = ORCH,
) {
  return send(c, from, { ...dr(c), functionName: "schedule", args: [intent, await priced(c, placements)] });
}

/** viem signature of an intent by dev account `signer`. */
export async function signIntent(c: InProcessChain, intent: DeploymentIntent, signer = DEPLOYER): Promise<Hex> {
  return c.accounts[signer].signTypedData(intentTypedData(domain(c), intent));
}

export async function signAttestation(c: InProcessChain, att: Attestation, signer: number): Promise<Hex> {
  return c.accounts[signer].signTypedData(attestationTypedData(domain(c), att));
}

export async function intentId(c: InProcessChain, intent: DeploymentIntent): Promise<Hex> {
  return c.publicClient.readContract({ ...dr(c), functionName: "deploymentId", args: [intent] });
}

/** Approves the registry for `from` (unlimited). */
export async function approve(c: InProcessChain, from: number, spender: Address) {
  await send(c, from, { ...tok(c), functionName: "approve", args: [spender, MAX_UINT256] });
}

export interface NodeOpts {
  cpuMillis?: number;
  memoryMiB?: number;
  diskMiB?: number;
  slots?: number;
  pricePerSecond?: bigint;
  measurement?: Hex;
  stake?: bigint;
}

/** Registers node for operator OPERATORS[k] with agent AGENTS[k]; returns its nodeId. */
export async function registerNode(c: InProcessChain, k: number, o: NodeOpts = {}): Promise<number> {
  const operator = OPERATORS[k];
  await approve(c, operator, c.addresses.nodeRegistry);
  const reg = {
    agent: c.accounts[AGENTS[k]].address,
    cpuMillis: o.cpuMillis ?? 4000,
    memoryMiB: o.memoryMiB ?? 8192,
    diskMiB: o.diskMiB ?? 10_000,
    slots: o.slots ?? 16,
    pricePerSecond: o.pricePerSecond ?? parseEther("0.0001"),
    measurement: o.measurement ?? MEASUREMENT,
    endpoint: `http://127.0.0.1:780${k + 1}`,
  };
  await send(c, operator, { ...nr(c), functionName: "register", args: [reg, o.stake ?? c.params.minStake * 10n] });
  return Number(await c.publicClient.readContract({ ...nr(c), functionName: "nodeCount" }));
}

export async function approveMeasurementOnChain(c: InProcessChain, m: Hex = MEASUREMENT, approved = true) {
  await send(c, 0, { ...nr(c), functionName: "setMeasurementApproved", args: [m, approved] });
}

/** Signs and submits an intent (relayed by `relayer`), after approving the registry for the deployer. */
export async function submit(c: InProcessChain, intent: DeploymentIntent, opts: { relayer?: number; signer?: number } = {}) {
  const sig = await signIntent(c, intent, opts.signer ?? DEPLOYER);
  const r = await send(c, opts.relayer ?? 12, { ...dr(c), functionName: "submitIntent", args: [intent, sig] });
  return { ...r, id: await intentId(c, intent), sig };
}

export async function getDeployment(c: InProcessChain, id: Hex) {
  return c.publicClient.readContract({ ...dr(c), functionName: "getDeployment", args: [id] });
}
export async function getReplica(c: InProcessChain, id: Hex, i: number) {
  return c.publicClient.readContract({ ...dr(c), functionName: "getReplica", args: [id, i] });
}
export async function getNode(c: InProcessChain, nodeId: number) {
  return c.publicClient.readContract({ ...nr(c), functionName: "getNode", args: [nodeId] });
}
export async function tokenBalance(c: InProcessChain, who: Address) {
  return c.publicClient.readContract({ ...tok(c), functionName: "balanceOf", args: [who] });
}
export async function innerBalance(c: InProcessChain, who: Address) {
  return c.publicClient.readContract({ ...dr(c), functionName: "balanceOf", args: [who] });
}

/** Agent of node k attests `status` for replica `index` of `id` at its current attempt. */
export const ZERO32 = `0x${"00".repeat(32)}` as Hex;
/** A non-zero 32-byte value made of one repeated byte, e.g. H("aa"). */
export const H = (b: string) => `0x${b.repeat(32)}` as Hex;

export async function attestAs(c: InProcessChain, k: number, id: Hex, index: number, status: number, over: Partial<Attestation> = {}, submitter = ORCH) {
  return attestBy(c, AGENTS[k], id, index, status, over, submitter);
}

/** The attestation agent account `agent` would sign for replica `index` at its current placement, and its signature. */
export async function signedAttestation(c: InProcessChain, agent: number, id: Hex, index: number, status: number, over: Partial<Attestation> = {}) {
  const r = await getReplica(c, id, index);
  const att: Attestation = {
    deploymentId: id,
    replicaIndex: index,
    nodeId: r.nodeId,
    attempt: r.attempt,
    status,
    measurement: MEASUREMENT,
    outputHash: ZERO32,
    timestamp: 1n,
    ...over,
  };
  return { att, sig: await signAttestation(c, att, agent) };
}

/** Dev (or added) account `agent` attests `status` for replica `index` of `id` at its current attempt. */
export async function attestBy(c: InProcessChain, agent: number, id: Hex, index: number, status: number, over: Partial<Attestation> = {}, submitter = ORCH) {
  const { att, sig } = await signedAttestation(c, agent, id, index, status, over);
  return send(c, submitter, { ...dr(c), functionName: "attest", args: [att, sig] });
}

let addedAccounts = 0;

/**
 * A fresh account beyond the 20 dev accounts (deterministic key), appended to c.accounts and
 * c.walletClients; returns its index. It gets 10 ETH for gas (hardhat_setBalance) and `tokens`
 * minted by the admin. Added inside a test's snapshot, its funds go away with the revert.
 */
export async function addAccount(c: InProcessChain, tokens = 0n): Promise<number> {
  const key = keccak256(toHex(`hypha-test-account-${addedAccounts++}`));
  const account = privateKeyToAccount(key);
  const transport = custom(c.provider, { retryCount: 0 });
  c.accounts.push(account as never);
  c.walletClients.push(createWalletClient({ account, chain: hardhat, transport, pollingInterval: 10 }) as WalletClient);
  await c.provider.request({ method: "hardhat_setBalance", params: [account.address, toHex(parseEther("10"))] } as never);
  if (tokens > 0n) await send(c, 0, { ...tok(c), functionName: "mint", args: [account.address, tokens] });
  return c.accounts.length - 1;
}

/** Registers a node for account `operator` with agent account `agent` (any indexes); returns its nodeId. */
export async function registerNodeAs(c: InProcessChain, operator: number, agent: number, o: NodeOpts = {}): Promise<number> {
  await approve(c, operator, c.addresses.nodeRegistry);
  const reg = {
    agent: c.accounts[agent].address,
    cpuMillis: o.cpuMillis ?? 4000,
    memoryMiB: o.memoryMiB ?? 8192,
    diskMiB: o.diskMiB ?? 10_000,
    slots: o.slots ?? 16,
    pricePerSecond: o.pricePerSecond ?? parseEther("0.0001"),
    measurement: o.measurement ?? MEASUREMENT,
    endpoint: `http://127.0.0.1:7800/${agent}`,
  };
  await send(c, operator, { ...nr(c), functionName: "register", args: [reg, o.stake ?? c.params.minStake * 10n] });
  return Number(await c.publicClient.readContract({ ...nr(c), functionName: "nodeCount" }));
}

/**
 * A state reader for revert checks: token balances and registry balances of every dev account and
 * both registries, plus the given deployments (with replicas and job result) and nodes.
 */
export function stateReader(c: InProcessChain, ids: () => Hex[] = () => [], nodeIds: () => number[] = () => []) {
  return async () => {
    const who = [...c.accounts.map((a) => a.address), c.addresses.deploymentRegistry, c.addresses.nodeRegistry];
    const tokens = await Promise.all(who.map((w) => tokenBalance(c, w)));
    const inner = await Promise.all(who.map((w) => innerBalance(c, w)));
    const deployments = await Promise.all(
      ids().map(async (id) => ({
        d: await getDeployment(c, id),
        r: await c.publicClient.readContract({ ...dr(c), functionName: "getReplicas", args: [id] }),
        result: await c.publicClient.readContract({ ...dr(c), functionName: "jobResult", args: [id] }),
      })),
    );
    const count = await c.publicClient.readContract({ ...nr(c), functionName: "nodeCount" });
    const nodes = await Promise.all(nodeIds().map((n) => getNode(c, n)));
    const supply = await c.publicClient.readContract({ ...tok(c), functionName: "totalSupply" });
    return { tokens, inner, deployments, count, nodes, supply };
  };
}
