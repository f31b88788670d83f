/**
 * Reads deployments back from the chain: the packed on-chain view, the replicas, every event that
 * concerns one deployment in order, and the list of all deployments (from IntentSubmitted logs).
 */
import {
  encodeEventTopics,
  pad,
  parseEventLogs,
  type Address,
  type ContractEventName,
  type ContractFunctionReturnType,
  type Hex,
  type Log,
  type PublicClient,
} from "viem";
import { deploymentRegistryAbi } from "./abi";
import type { HyphaAddresses } from "./addresses";
import { toChainError } from "./chainError";
import { getLogsSplitting } from "./logs";
import { DeploymentStatus, ReplicaStatus, type DeploymentIntent } from "./eip712";

/** The packed on-chain summary, IDeploymentRegistry.Deployment as the generated ABI declares it. */
export type DeploymentView = ContractFunctionReturnType<typeof deploymentRegistryAbi, "view", "getDeployment">;

/** One replica slot: the fields of IDeploymentRegistry.Replica (from the generated ABI) callers read, and its index. */
export type ReplicaView = Pick<
  ContractFunctionReturnType<typeof deploymentRegistryAbi, "view", "getReplicas">[number],
  "nodeId" | "status" | "attempt" | "pricePerSecond" | "since"
> & {
  index: number;
};

/** A DeploymentRegistry event name, from the generated ABI. */
export type DeploymentEventName = ContractEventName<typeof deploymentRegistryAbi>;

/** One log parsed against the DeploymentRegistry ABI: a union on eventName, its args typed by the ABI. */
type RegistryLog<name extends DeploymentEventName = DeploymentEventName> = ReturnType<typeof parseEventLogs<typeof deploymentRegistryAbi, true, name>>[number];

/**
 * One decoded event of a deployment (an event whose `id` argument is the deployment's), with where
 * it happened: a union on `eventName`, so `e.eventName === "ReplicaScheduled"` narrows `e.args` to
 * that event's arguments, typed by the ABI.
 */
export type DeploymentEvent = Extract<
  {
    [name in DeploymentEventName]: {
      eventName: name;
      args: RegistryLog<name>["args"];
      blockNumber: bigint;
      logIndex: number;
      transactionHash: Hex;
    };
  }[DeploymentEventName],
  { args: { id: Hex } }
>;

/** A parsed log as a DeploymentEvent; undefined for an event that names no deployment. */
function toDeploymentEvent(l: RegistryLog): DeploymentEvent | undefined {
  const e = { eventName: l.eventName, args: l.args, blockNumber: l.blockNumber, logIndex: l.logIndex, transactionHash: l.transactionHash };
  return "id" in e.args ? (e as DeploymentEvent) : undefined;
}

/** Chain order: by block, then by position in the block. */
function byChainOrder(a: DeploymentEvent, b: DeploymentEvent): number {
  return a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1;
}

export interface DeploymentListEntry {
  id: Hex;
  deployer: Address;
  intent: DeploymentIntent;
  /** The deployer's signature (the IntentSubmitted log carries it). */
  signature: Hex;
  blockNumber: bigint;
  transactionHash: Hex;
}

/** Status name of a deployment status number. @example deploymentStatusName(3) // "Running" */
export function deploymentStatusName(status: number): string {
  return DeploymentStatus[status] ?? `Unknown(${status})`;
}
/** Status name of a replica status number. @example replicaStatusName(2) // "Running" */
export function replicaStatusName(status: number): string {
  return ReplicaStatus[status] ?? `Unknown(${status})`;
}

/**
 * The deployment's on-chain summary (status None when the id is unknown).
 * @example const d = await readDeployment(pc, addresses, id); deploymentStatusName(d.status)
 */
export async function readDeployment(publicClient: PublicClient, addresses: HyphaAddresses, id: Hex, blockNumber?: bigint): Promise<DeploymentView> {
  try {
    const d = await publicClient.readContract({
      address: addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      functionName: "getDeployment",
      args: [id],
      blockNumber,
    });
    return { ...d };
  } catch (err) {
    throw toChainError(err, `reading deployment ${id}`);
  }
}

/**
 * Every replica slot of a deployment.
 * @example (await readReplicas(pc, addresses, id)).map(r => r.nodeId)
 */
export async function readReplicas(publicClient: PublicClient, addresses: HyphaAddresses, id: Hex, blockNumber?: bigint): Promise<ReplicaView[]> {
  try {
    const rs = await publicClient.readContract({
      address: addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      functionName: "getReplicas",
      args: [id],
      blockNumber,
    });
    return rs.map((r, index) => ({ index, nodeId: r.nodeId, status: r.status, attempt: r.attempt, pricePerSecond: r.pricePerSecond, since: r.since }));
  } catch (err) {
    throw toChainError(err, `reading the replicas of ${id}`);
  }
}

/**
 * Every DeploymentRegistry event whose first indexed argument is `id`, in chain order.
 * @example for (const e of await readDeploymentEvents(pc, addresses, id)) console.log(e.blockNumber, e.eventName)
 */
export async function readDeploymentEvents(publicClient: PublicClient, addresses: HyphaAddresses, id: Hex, toBlock?: bigint): Promise<DeploymentEvent[]> {
  let logs: Log[];
  try {
    const latest = toBlock ?? (await publicClient.getBlockNumber());
    logs = await getLogsSplitting(publicClient, {
      address: addresses.deploymentRegistry,
      topics: [null, id],
      fromBlock: addresses.deployBlock,
      toBlock: latest,
    });
  } catch (err) {
    throw toChainError(err, `reading the events of ${id}`);
  }
  const events: DeploymentEvent[] = [];
  for (const l of parseEventLogs({ abi: deploymentRegistryAbi, logs, strict: true })) {
    const e = toDeploymentEvent(l);
    if (e) events.push(e);
  }
  return events.sort(byChainOrder);
}

/**
 * All deployments ever submitted (optionally by one deployer, up to `toBlock`), oldest first.
 * @example const mine = await listDeployments(pc, addresses, { deployer: "0x71bE…" })
 */
export async function listDeployments(
  publicClient: PublicClient,
  addresses: HyphaAddresses,
  opts: { deployer?: Address; toBlock?: bigint } = {},
): Promise<DeploymentListEntry[]> {
  try {
    const [topic] = encodeEventTopics({ abi: deploymentRegistryAbi, eventName: "IntentSubmitted" });
    const deployerTopic = opts.deployer ? (pad(opts.deployer.toLowerCase() as Hex) as Hex) : null;
    const raw = await getLogsSplitting(publicClient, {
      address: addresses.deploymentRegistry,
      topics: [topic, null, deployerTopic],
      fromBlock: addresses.deployBlock,
      toBlock: opts.toBlock ?? (await publicClient.getBlockNumber()),
    });
    const logs = parseEventLogs({ abi: deploymentRegistryAbi, eventName: "IntentSubmitted", logs: raw, strict: true });
    return logs.map((l) => ({
      id: l.args.id as Hex,
      deployer: l.args.deployer as Address,
      intent: { ...(l.args.intent as DeploymentIntent) },
      signature: l.args.signature as Hex,
      blockNumber: l.blockNumber!,
      transactionHash: l.transactionHash!,
    }));
  } catch (err) {
    throw toChainError(err, "listing deployments");
  }
}

/**
 * The events of several deployments at once, grouped by lowercase id, each list in chain order:
 * one eth_getLogs for the named events (all of them when `eventNames` is empty) from `fromBlock`.
 * @example const byId = await readEventsOfDeployments(pc, addresses, ids, ["Terminated"], 12n)
 */
export async function readEventsOfDeployments(
  publicClient: PublicClient,
  addresses: HyphaAddresses,
  ids: Hex[],
  eventNames: string[],
  fromBlock: bigint = addresses.deployBlock,
): Promise<Map<string, DeploymentEvent[]>> {
  const byId = new Map<string, DeploymentEvent[]>(ids.map((id) => [id.toLowerCase(), []]));
  if (ids.length === 0) return byId;
  let logs: Log[];
  try {
    const topic0 = eventNames.length ? eventNames.map((n) => encodeEventTopics({ abi: deploymentRegistryAbi, eventName: n as "Terminated" })[0]) : null;
    // A long OR-list of ids is heavier for the node than filtering here.
    const idTopic = ids.length <= 32 ? ids.map((id) => id.toLowerCase() as Hex) : null;
    const head = await publicClient.getBlockNumber();
    logs = await getLogsSplitting(publicClient, { address: addresses.deploymentRegistry, topics: [topic0, idTopic], fromBlock, toBlock: head });
  } catch (err) {
    throw toChainError(err, "reading deployment events");
  }
  for (const l of parseEventLogs({ abi: deploymentRegistryAbi, logs, strict: true })) {
    const e = toDeploymentEvent(l);
    const list = e && byId.get(e.args.id.toLowerCase());
    if (list) list.push(e);
  }
  for (const list of byId.values()) list.sort(byChainOrder);
  return byId;
}

/**
 * A job's agreed output hash as stored by jobResult(id): zero until a quorum agreed, and always zero
 * for a single-replica job (its result is only in JobFinalized).
 * @example await readJobResult(pc, addresses, id) // "0xb7a5…" or 0x000…
 */
export async function readJobResult(publicClient: PublicClient, addresses: HyphaAddresses, id: Hex): Promise<Hex> {
  try {
    return (await publicClient.readContract({
      address: addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      functionName: "jobResult",
      args: [id],
    })) as Hex;
  } catch (err) {
    throw toChainError(err, `reading the job result of ${id}`);
  }
}
