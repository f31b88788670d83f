/**
 * Deterministic replica placement: a pure function of the nodes (capacity, price, eligibility) and
 * the replicas waiting for a node; it picks a node for each replica or says why none fits. Same
 * input, same output, whatever the input order. The input is chain state plus the watcher's own
 * view of liveness (probes, reported conditions), which the chain does not record: so `hypha audit`
 * does not re-run it, it checks what chain data settles (price limit, attempt order).
 *
 * Rule, per replica in submission order (deployment seq, then replica index): among nodes that are
 * eligible (not jailed, not unbonding, approved measurement, not lost, no condition such as
 * DiskPressure reported), have a free slot and the
 * free cpu/memory/disk, and ask at most the intent's maxPricePerSecond, take the one with the
 * fewest replicas of the same deployment (spread), then not the node this replica last failed on,
 * then the lowest price, then the most free slots, then the lowest node id. A job with more than one
 * replica never gets two replicas on nodes of one operator (the contract refuses it: one operator
 * must not be able to make a job's quorum alone).
 */

/** A node as placement sees it. */
export interface PlacementNode {
  nodeId: number;
  freeCpuMillis: number;
  freeMemoryMiB: number;
  freeDiskMiB: number;
  freeSlots: number;
  pricePerSecond: bigint;
  /** Active on-chain (not jailed, not unbonding, measurement approved) and answering probes. */
  eligible: boolean;
  /** Conditions the node reports (DiskPressure, …): while any holds it takes no new replica. */
  conditions?: readonly string[];
  /** The node's operator (lowercase address); replicas of one job need distinct operators. */
  operator?: string;
}

/** One replica that needs a node. */
export interface ReplicaRequest {
  deploymentId: string;
  replicaIndex: number;
  /** Submission order of the deployment; smaller is served first. */
  seq: string;
  cpuMillis: number;
  memoryMiB: number;
  diskMiB: number;
  maxPricePerSecond: bigint;
  /** Nodes already running other replicas of the same deployment (one entry per replica). */
  siblingNodeIds: number[];
  /** The node this replica's previous attempt ran on (placed last among equals), 0 if none. */
  previousNodeId: number;
  /** A job with several replicas: each on a node of a different operator. */
  distinctOperators?: boolean;
}

export interface Placement {
  deploymentId: string;
  replicaIndex: number;
  nodeId: number;
  /** The node's price when decided; the contract refuses the placement if the operator changed it. */
  pricePerSecond: bigint;
}

export interface Unplaced {
  deploymentId: string;
  replicaIndex: number;
  reason: string;
}

export interface PlacementResult {
  placements: Placement[];
  unplaced: Unplaced[];
}

function compareRequests(a: ReplicaRequest, b: ReplicaRequest): number {
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  if (a.deploymentId !== b.deploymentId) return a.deploymentId < b.deploymentId ? -1 : 1;
  return a.replicaIndex - b.replicaIndex;
}

function whyNot(node: PlacementNode, r: ReplicaRequest): string | undefined {
  if (!node.eligible) return "not eligible";
  if (node.conditions?.length) return `node reports ${node.conditions.join(", ")}`;
  if (node.pricePerSecond > r.maxPricePerSecond) return "price above maxPricePerSecond";
  if (node.freeSlots < 1) return "no free slot";
  if (node.freeCpuMillis < r.cpuMillis) return "not enough cpu";
  if (node.freeMemoryMiB < r.memoryMiB) return "not enough memory";
  if (node.freeDiskMiB < r.diskMiB) return "not enough disk";
  return undefined;
}

/**
 * Place replicas on nodes. Does not modify its inputs.
 * @example
 * placeReplicas(
 *   [{ nodeId: 1, freeCpuMillis: 1000, freeMemoryMiB: 512, freeDiskMiB: 1024, freeSlots: 4, pricePerSecond: 1n, eligible: true }],
 *   [{ deploymentId: "0xab", replicaIndex: 0, seq: "1", cpuMillis: 100, memoryMiB: 64, diskMiB: 0, maxPricePerSecond: 5n, siblingNodeIds: [], previousNodeId: 0 }],
 * ) // { placements: [{ deploymentId: "0xab", replicaIndex: 0, nodeId: 1, pricePerSecond: 1n }], unplaced: [] }
 */
export function placeReplicas(nodes: readonly PlacementNode[], requests: readonly ReplicaRequest[]): PlacementResult {
  const free = [...nodes].map((n) => ({ ...n })).sort((a, b) => a.nodeId - b.nodeId);
  const placedThisRound = new Map<string, number[]>();
  const placements: Placement[] = [];
  const unplaced: Unplaced[] = [];
  for (const r of [...requests].sort(compareRequests)) {
    const siblings = [...r.siblingNodeIds, ...(placedThisRound.get(r.deploymentId) ?? [])];
    const count = (nodeId: number) => siblings.reduce((c, id) => c + (id === nodeId ? 1 : 0), 0);
    const takenOperators = r.distinctOperators ? new Set(siblings.map((id) => free.find((n) => n.nodeId === id)?.operator?.toLowerCase())) : undefined;
    let best: (typeof free)[number] | undefined;
    let bestKey: [number, number, bigint, number, number] | undefined;
    const reasons = new Map<string, number>();
    for (const node of free) {
      const reason = takenOperators?.has(node.operator?.toLowerCase()) ? "operator already runs a replica of this job" : whyNot(node, r);
      if (reason) {
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        continue;
      }
      const key: [number, number, bigint, number, number] = [
        count(node.nodeId),
        node.nodeId === r.previousNodeId ? 1 : 0,
        node.pricePerSecond,
        -node.freeSlots,
        node.nodeId,
      ];
      if (!bestKey || lessThan(key, bestKey)) {
        best = node;
        bestKey = key;
      }
    }
    if (!best) {
      const detail = free.length === 0 ? "no nodes registered" : [...reasons.entries()].map(([why, n]) => `${n} ${why}`).join(", ");
      unplaced.push({ deploymentId: r.deploymentId, replicaIndex: r.replicaIndex, reason: `no node fits: ${detail}` });
      continue;
    }
    best.freeCpuMillis -= r.cpuMillis;
    best.freeMemoryMiB -= r.memoryMiB;
    best.freeDiskMiB -= r.diskMiB;
    best.freeSlots -= 1;
    placedThisRound.set(r.deploymentId, [...(placedThisRound.get(r.deploymentId) ?? []), best.nodeId]);
    placements.push({ deploymentId: r.deploymentId, replicaIndex: r.replicaIndex, nodeId: best.nodeId, pricePerSecond: best.pricePerSecond });
  }
  return { placements, unplaced };
}

function lessThan(a: readonly (number | bigint)[], b: readonly (number | bigint)[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}
