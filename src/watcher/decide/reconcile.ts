/**
 * The level-triggered reconcile: compares what deployments want (their intents and replica counts)
 * with what is observed (placements, replica statuses, node liveness) and returns the actions that
 * close the gap. Pure: same input, same actions, and repeating it after a missed or repeated event
 * does no harm, because every action carries an idempotency key the outbox deduplicates on.
 */
import { deploymentStatusNumber, replicaStatusNumber } from "../../chain/lifecycle";
import type { Hex } from "viem";
import type { DeploymentIntent } from "../../chain/eip712";
import type { ObservedDeployment, ObservedNode, ObservedReplica } from "../store/observedState";
import { placeReplicas, type PlacementNode, type ReplicaRequest, type Unplaced } from "./placeReplicas";

const DEP_ACTIVE = new Set((["Requested", "Scheduled", "Running"] as const).map(deploymentStatusNumber));
/** Completed (job final), Failed: terminate to refund what is left of the escrow. */
const DEP_SETTLE = new Set((["Completed", "Failed"] as const).map(deploymentStatusNumber));
const DEP_TERMINATED = deploymentStatusNumber("Terminated");
const REPLICA_PENDING = replicaStatusNumber("Pending");
/** Scheduled, Running: occupying a node. */
const REPLICA_LIVE = new Set((["Scheduled", "Running"] as const).map(replicaStatusNumber));
const REPLICA_COMPLETED = replicaStatusNumber("Completed");

/** Place one replica on a node (sent batched in scheduleMany). attempt = the attempt it will get. */
export interface ScheduleAction {
  type: "schedule";
  key: string;
  deploymentId: Hex;
  intent: DeploymentIntent;
  replicaIndex: number;
  nodeId: number;
  /** The node price placement decided on (Placement.pricePerSecond on-chain). */
  pricePerSecond: bigint;
  attempt: number;
}

/** A replica's node stopped answering: report it lost so it can be re-placed. */
export interface ReportLostAction {
  type: "reportLost";
  key: string;
  deploymentId: Hex;
  intent: DeploymentIntent;
  replicaIndex: number;
  nodeId: number;
  attempt: number;
}

/** A job is final or a deployment failed: terminate it so nodes are paid and the rest refunded. */
export interface TerminateAction {
  type: "terminate";
  key: string;
  deploymentId: Hex;
  intent: DeploymentIntent;
}

export type WatcherAction = ScheduleAction | ReportLostAction | TerminateAction;

/** A placement sent but not yet seen in events: its capacity is taken already. */
export interface InFlightReservation {
  nodeId: number;
  cpuMillis: number;
  memoryMiB: number;
  diskMiB: number;
}

export interface ReconcileInput {
  deployments: ReadonlyArray<{ deployment: ObservedDeployment; replicas: readonly ObservedReplica[] }>;
  nodes: ReadonlyArray<ObservedNode & { measurementApproved: boolean }>;
  lostNodeIds: ReadonlySet<number>;
  /** Idempotency keys of actions in the outbox (sent or queued, not yet reflected in state). */
  inFlightKeys: ReadonlySet<string>;
  inFlightReservations?: readonly InFlightReservation[];
  /** Deployments whose budget the chain shows spent (see budgetSpent.ts): terminate them to settle. */
  budgetSpentIds?: ReadonlySet<string>;
  /** Conditions nodes report (DiskPressure, …): such a node takes no new replica until they clear. */
  nodeConditions?: ReadonlyMap<number, readonly string[]>;
}

export interface ReconcileResult {
  actions: WatcherAction[];
  unplaced: Unplaced[];
}

/** Idempotency key of placing `replicaIndex` at `attempt`. */
export const scheduleKey = (id: Hex, replicaIndex: number, attempt: number) => `schedule:${id.toLowerCase()}:${replicaIndex}:${attempt}`;
/** Idempotency key of reporting a replica's attempt lost. */
export const reportLostKey = (id: Hex, replicaIndex: number, attempt: number) => `reportLost:${id.toLowerCase()}:${replicaIndex}:${attempt}`;
/** Idempotency key of terminating a deployment. */
export const terminateKey = (id: Hex) => `terminate:${id.toLowerCase()}`;

/** Nodes as placement sees them: free capacity net of in-flight placements, eligibility incl. liveness. */
export function placementNodes(
  nodes: ReconcileInput["nodes"],
  lostNodeIds: ReadonlySet<number>,
  inFlight: readonly InFlightReservation[] = [],
  conditions: ReadonlyMap<number, readonly string[]> = new Map(),
): PlacementNode[] {
  return nodes.map((n) => {
    const mine = inFlight.filter((r) => r.nodeId === n.nodeId);
    const sum = (f: (r: InFlightReservation) => number) => mine.reduce((s, r) => s + f(r), 0);
    return {
      nodeId: n.nodeId,
      freeCpuMillis: n.cpuMillis - n.reservedCpuMillis - sum((r) => r.cpuMillis),
      freeMemoryMiB: n.memoryMiB - n.reservedMemoryMiB - sum((r) => r.memoryMiB),
      freeDiskMiB: n.diskMiB - n.reservedDiskMiB - sum((r) => r.diskMiB),
      freeSlots: n.slots - n.usedSlots - mine.length,
      pricePerSecond: n.pricePerSecond,
      eligible: !n.jailed && !n.unbonding && n.measurementApproved && !lostNodeIds.has(n.nodeId),
      conditions: conditions.get(n.nodeId) ?? [],
      operator: n.operator?.toLowerCase(),
    };
  });
}

/**
 * Decide what to do: place pending replicas, report replicas on lost nodes, terminate finished jobs,
 * failed deployments and deployments whose budget is spent. Actions whose key is in flight are left out.
 * @example reconcile({ deployments, nodes, lostNodeIds: new Set(), inFlightKeys: new Set() }).actions
 */
export function reconcile(input: ReconcileInput): ReconcileResult {
  const actions: WatcherAction[] = [];
  const requests: ReplicaRequest[] = [];
  const byId = new Map<string, { deployment: ObservedDeployment; replicas: readonly ObservedReplica[] }>();
  for (const entry of input.deployments) {
    const { deployment: dep, replicas } = entry;
    byId.set(dep.id.toLowerCase(), entry);
    if (dep.terminated || dep.status === DEP_TERMINATED) continue;
    if (DEP_SETTLE.has(dep.status) || (DEP_ACTIVE.has(dep.status) && input.budgetSpentIds?.has(dep.id.toLowerCase()))) {
      const key = terminateKey(dep.id);
      if (!input.inFlightKeys.has(key)) actions.push({ type: "terminate", key, deploymentId: dep.id, intent: dep.intent });
      continue;
    }
    if (!DEP_ACTIVE.has(dep.status)) continue;
    const wanted = replicas.filter((r) => r.index < dep.replicas);
    for (const r of wanted) {
      if (REPLICA_LIVE.has(r.status) && input.lostNodeIds.has(r.nodeId)) {
        const key = reportLostKey(dep.id, r.index, r.attempt);
        if (!input.inFlightKeys.has(key))
          actions.push({ type: "reportLost", key, deploymentId: dep.id, intent: dep.intent, replicaIndex: r.index, nodeId: r.nodeId, attempt: r.attempt });
        continue;
      }
      if (r.status !== REPLICA_PENDING) continue;
      if (input.inFlightKeys.has(scheduleKey(dep.id, r.index, r.attempt + 1))) continue;
      requests.push({
        deploymentId: dep.id.toLowerCase(),
        replicaIndex: r.index,
        seq: dep.seq,
        cpuMillis: dep.intent.cpuMillis,
        memoryMiB: dep.intent.memoryMiB,
        diskMiB: dep.intent.diskMiB,
        maxPricePerSecond: dep.intent.maxPricePerSecond,
        siblingNodeIds: wanted
          .filter((s) => s.index !== r.index && (REPLICA_LIVE.has(s.status) || s.status === REPLICA_COMPLETED) && s.nodeId !== 0)
          .map((s) => s.nodeId),
        previousNodeId: r.nodeId,
        distinctOperators: dep.intent.kind === 1 && dep.replicas > 1,
      });
    }
  }
  const { placements, unplaced } = placeReplicas(placementNodes(input.nodes, input.lostNodeIds, input.inFlightReservations, input.nodeConditions), requests);
  for (const p of placements) {
    const { deployment: dep, replicas } = byId.get(p.deploymentId)!;
    const attempt = replicas.find((r) => r.index === p.replicaIndex)!.attempt + 1;
    actions.push({
      type: "schedule",
      key: scheduleKey(dep.id, p.replicaIndex, attempt),
      deploymentId: dep.id,
      intent: dep.intent,
      replicaIndex: p.replicaIndex,
      nodeId: p.nodeId,
      pricePerSecond: p.pricePerSecond,
      attempt,
    });
  }
  return { actions, unplaced };
}
