/**
 * Why a replica waits for a node, from chain data alone: the watcher's own placement rule
 * (src/watcher/decide/placeReplicas.ts, a pure function of chain state) run over the nodes as the
 * chain shows them. `pendingReasons` uses their free capacity now (what `describe` shows as
 * FailedScheduling); `neverFits` uses their whole capacity, so a replica it cannot place will not
 * be placed however long one waits (what stops `apply --wait` early).
 */
import type { Hex, PublicClient } from "viem";
import { nodeRegistryAbi } from "../chain/abi";
import type { HyphaAddresses } from "../chain/addresses";
import { toChainError } from "../chain/chainError";
import type { NodeView } from "../chain/nodes";
import { placeReplicas, type PlacementNode, type ReplicaRequest } from "../watcher/decide/placeReplicas";

/** The intent fields placement reads. */
export interface PlacementNeeds {
  cpuMillis: number;
  memoryMiB: number;
  diskMiB: number;
  maxPricePerSecond: bigint;
  replicas: number;
}

function requests(id: string, needs: PlacementNeeds, indexes: number[]): ReplicaRequest[] {
  return indexes.map((replicaIndex) => ({
    deploymentId: id,
    replicaIndex,
    seq: "0",
    cpuMillis: needs.cpuMillis,
    memoryMiB: needs.memoryMiB,
    diskMiB: needs.diskMiB,
    maxPricePerSecond: needs.maxPricePerSecond,
    siblingNodeIds: [],
    previousNodeId: 0,
  }));
}

function asPlacementNode(n: NodeView, approved: boolean, whole: boolean): PlacementNode {
  return {
    nodeId: n.id,
    freeCpuMillis: whole ? n.cpuMillis : n.freeCpuMillis,
    freeMemoryMiB: whole ? n.memoryMiB : n.freeMemoryMiB,
    freeDiskMiB: whole ? n.diskMiB : n.freeDiskMiB,
    freeSlots: whole ? n.slots : n.freeSlots,
    pricePerSecond: n.pricePerSecond,
    eligible: approved && !n.jailed && n.unbondingSince === 0n,
  };
}

/**
 * The reason each of `pendingIndexes` finds no node now, by replica index (absent: a node fits).
 * @example pendingReasons(id, intent, [0], nodes, approved) // Map { 0 => "no node fits: 3 not enough cpu" }
 */
export function pendingReasons(
  id: string,
  needs: PlacementNeeds,
  pendingIndexes: number[],
  nodes: NodeView[],
  approved: ReadonlySet<number>,
): Map<number, string> {
  const { unplaced } = placeReplicas(
    nodes.map((n) => asPlacementNode(n, approved.has(n.id), false)),
    requests(id, needs, pendingIndexes),
  );
  return new Map(unplaced.map((u) => [u.replicaIndex, u.reason]));
}

/**
 * Why the deployment can never be fully placed on these nodes (even empty), or undefined when it can.
 * @example neverFits(intent, nodes, approved) // "no node fits: 3 not enough memory"
 */
export function neverFits(needs: PlacementNeeds, nodes: NodeView[], approved: ReadonlySet<number>): string | undefined {
  const indexes = Array.from({ length: needs.replicas }, (_, i) => i);
  const { unplaced } = placeReplicas(
    nodes.map((n) => asPlacementNode(n, approved.has(n.id), true)),
    requests("0x", needs, indexes),
  );
  return unplaced[0]?.reason;
}

/**
 * Ids of the nodes whose measurement the registry approves.
 * @example await approvedNodes(pc, addresses, nodes) // Set { 1, 2, 3 }
 */
export async function approvedNodes(publicClient: PublicClient, addresses: HyphaAddresses, nodes: NodeView[]): Promise<Set<number>> {
  const byMeasurement = new Map<Hex, boolean>();
  try {
    for (const m of new Set(nodes.map((n) => n.measurement))) {
      byMeasurement.set(
        m,
        (await publicClient.readContract({ address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "measurementApproved", args: [m] })) as boolean,
      );
    }
  } catch (err) {
    throw toChainError(err, "reading approved measurements");
  }
  return new Set(nodes.filter((n) => byMeasurement.get(n.measurement)).map((n) => n.id));
}
