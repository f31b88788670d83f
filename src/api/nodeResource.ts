/**
 * The one JSON shape of a node, for `hypha get nodes -o json|yaml` and GET /v1/nodes alike: the
 * on-chain state as a name (Active, Unbonding, Jailed), amounts as decimal wei strings, and the
 * agent's liveness next to it (its /healthz answered just now, or not, and when its agent last
 * signed an attestation the chain accepted), since a node the chain calls Active may have no
 * agent running.
 */
import { getAbiItem, parseEventLogs, toEventSelector, type Address, type Hex, type PublicClient } from "viem";
import { deploymentRegistryAbi } from "../chain/abi";
import type { HyphaAddresses } from "../chain/addresses";
import { getLogsSplitting } from "../chain/logs";
import { listNodes, type NodeView } from "../chain/nodes";

export interface NodeResource {
  id: number;
  state: "Active" | "Unbonding" | "Jailed";
  operator: Address;
  agent: Address;
  endpoint: string;
  /**
   * Whether the agent's GET /healthz answered within the probe timeout, when that was checked, and
   * the time its agent signed into its latest attestation on-chain (null: none yet): last seen.
   */
  liveness: { reachable: boolean; checkedAt: string; lastAttestation: string | null };
  capacity: { cpuMillis: number; memoryMiB: number; diskMiB: number; slots: number };
  free: { cpuMillis: number; memoryMiB: number; diskMiB: number; slots: number };
  placed: number;
  pricePerSecond: string;
  stake: string;
  unbondingSince: string | null;
  measurement: Hex;
}

/** @example nodeState({ jailed: false, unbondingSince: 0n }) // "Active" */
export function nodeState(n: Pick<NodeView, "jailed" | "unbondingSince">): NodeResource["state"] {
  if (n.jailed) return "Jailed";
  if (n.unbondingSince > 0n) return "Unbonding";
  return "Active";
}

/** Pure: the resource of a node view, its probe result and its latest attestation's time (unix s). */
export function toNodeResource(n: NodeView, reachable: boolean, checkedAt: Date, lastAttestation?: bigint): NodeResource {
  return {
    id: n.id,
    state: nodeState(n),
    operator: n.operator,
    agent: n.agent,
    endpoint: n.endpoint,
    liveness: {
      reachable,
      checkedAt: checkedAt.toISOString(),
      lastAttestation: lastAttestation ? new Date(Number(lastAttestation) * 1000).toISOString() : null,
    },
    capacity: { cpuMillis: n.cpuMillis, memoryMiB: n.memoryMiB, diskMiB: n.diskMiB, slots: n.slots },
    free: { cpuMillis: n.freeCpuMillis, memoryMiB: n.freeMemoryMiB, diskMiB: n.freeDiskMiB, slots: n.freeSlots },
    placed: n.placed,
    pricePerSecond: String(n.pricePerSecond),
    stake: String(n.stake),
    unbondingSince: n.unbondingSince > 0n ? String(n.unbondingSince) : null,
    measurement: n.measurement,
  };
}

/** Whether `GET <endpoint>/healthz` answers 2xx within `timeoutMs`. */
export async function probeAgent(endpoint: string, timeoutMs = 1_000): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint.replace(/\/+$/, "")}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Every registered node as a resource, each agent probed in parallel.
 * @example (await readNodeResources(pc, addresses)).filter((n) => !n.liveness.reachable)
 */
export async function readNodeResources(
  publicClient: PublicClient,
  addresses: HyphaAddresses,
  probe: (endpoint: string) => Promise<boolean> = probeAgent,
): Promise<NodeResource[]> {
  const nodes = await listNodes(publicClient, addresses);
  const lastSeen = await readLastAttestations(
    publicClient,
    addresses,
    nodes.map((n) => n.id),
  );
  const reachable = await Promise.all(nodes.map((n) => probe(n.endpoint)));
  const now = new Date();
  return nodes.map((n, i) => toNodeResource(n, reachable[i], now, lastSeen.get(n.id)));
}

const ATTESTED = toEventSelector(getAbiItem({ abi: deploymentRegistryAbi, name: "Attested" }));

/**
 * Each node's latest accepted attestation time (the `timestamp` its agent signed, unix seconds),
 * from the Attested logs; nodes that never attested are absent. The logs are read newest first, in
 * windows that double from `firstWindow` blocks, and the reading stops once every node of
 * `nodeIds` has been seen, so a long history is not read in full each time (only while some node
 * never attested, or without `nodeIds`, is it read back to the deploy block).
 * @example (await readLastAttestations(pc, addresses, [1, 2])).get(1) // 1795990545n
 */
export async function readLastAttestations(
  publicClient: PublicClient,
  addresses: HyphaAddresses,
  nodeIds?: readonly number[],
  firstWindow = 1000n,
): Promise<Map<number, bigint>> {
  const floor = BigInt(addresses.deployBlock);
  const latest = new Map<number, bigint>();
  let span = firstWindow;
  for (let to = await publicClient.getBlockNumber({ cacheTime: 0 }); to >= floor; span *= 2n) {
    const fromBlock = to - span + 1n > floor ? to - span + 1n : floor;
    const logs = await getLogsSplitting(publicClient, { address: addresses.deploymentRegistry, topics: [ATTESTED], fromBlock, toBlock: to });
    for (const l of parseEventLogs({ abi: deploymentRegistryAbi, logs, eventName: "Attested" })) {
      const { nodeId, timestamp } = l.args as { nodeId: number; timestamp: bigint };
      if (timestamp > (latest.get(nodeId) ?? 0n)) latest.set(nodeId, timestamp);
    }
    if (nodeIds?.every((id) => latest.has(id))) break;
    to = fromBlock - 1n;
  }
  return latest;
}
