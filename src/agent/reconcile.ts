/**
 * The agent's level-triggered reconcile decision (pure): from what the chain says is placed on
 * this node and what runs locally, which replica runs to start and which to stop; and whether a
 * queued attestation is still needed given the replica's current on-chain state. Re-running it
 * on the same inputs gives the same answer, so a missed or repeated poll does no harm.
 */
import type { Hex } from "viem";

/** Deployment statuses under which a placed replica should run (and may attest). A job whose
 * result is final is Completed, but its remaining replicas still run and attest (dissent is
 * slashed on-chain, so every node's answer counts). */
const ACTIVE_DEPLOYMENT = new Set(["Requested", "Scheduled", "Running", "Completed"]);
/** Replica statuses (on-chain) under which the placed node should run it. */
const RUNNABLE_REPLICA = new Set(["Scheduled", "Running"]);

/** One replica as the chain reports it (getReplica + getDeployment). */
export interface ChainReplica {
  deploymentId: Hex;
  replicaIndex: number;
  nodeId: number;
  attempt: number;
  /** ReplicaStatus name (Pending, Scheduled, Running, Completed, Failed, Tampered, Stopped). */
  status: string;
  /** DeploymentStatus name. */
  deploymentStatus: string;
}

/** One local run of a replica (one placement attempt). */
export interface LocalRun {
  deploymentId: Hex;
  replicaIndex: number;
  attempt: number;
  /** Process starting, running or waiting to restart. */
  active: boolean;
}

/** What the agent should do this tick. */
export interface ReconcileActions {
  start: ChainReplica[];
  stop: { run: LocalRun; reason: string }[];
}

/** How the agent names a replica: `<deploymentId>/<index>` (lower-case id); the watcher store's record key is observedState.replicaKey. */
export function replicaRef(deploymentId: Hex, replicaIndex: number): string {
  return `${deploymentId.toLowerCase()}/${replicaIndex}`;
}

/** Should node `nodeId` run this replica now? (pure) */
export function isAssignedToMe(r: ChainReplica, nodeId: number): boolean {
  return r.nodeId === nodeId && RUNNABLE_REPLICA.has(r.status) && ACTIVE_DEPLOYMENT.has(r.deploymentStatus);
}

/**
 * Decide starts and stops (pure).
 * @example decideReconcile(1, [{ deploymentId, replicaIndex: 0, nodeId: 1, attempt: 1, status: "Scheduled", deploymentStatus: "Scheduled" }], [])
 * // { start: [that replica], stop: [] }
 */
export function decideReconcile(nodeId: number, chain: ChainReplica[], local: LocalRun[]): ReconcileActions {
  const wanted = new Map<string, ChainReplica>();
  for (const r of chain) if (isAssignedToMe(r, nodeId)) wanted.set(replicaRef(r.deploymentId, r.replicaIndex), r);
  const localByKey = new Map<string, LocalRun[]>();
  for (const l of local) {
    const k = replicaRef(l.deploymentId, l.replicaIndex);
    localByKey.set(k, [...(localByKey.get(k) ?? []), l]);
  }
  const start: ChainReplica[] = [];
  for (const [k, r] of wanted) {
    // Any local run of this very attempt (active, finished or refused) means it was handled.
    if (!(localByKey.get(k) ?? []).some((l) => l.attempt === r.attempt)) start.push(r);
  }
  const stop: { run: LocalRun; reason: string }[] = [];
  const chainByKey = new Map(chain.map((r) => [replicaRef(r.deploymentId, r.replicaIndex), r]));
  for (const l of local) {
    if (!l.active) continue;
    const k = replicaRef(l.deploymentId, l.replicaIndex);
    const w = wanted.get(k);
    if (w && w.attempt === l.attempt) continue;
    stop.push({ run: l, reason: stopReason(chainByKey.get(k), nodeId, l.attempt) });
  }
  const order = (a: { deploymentId: Hex; replicaIndex: number }, b: { deploymentId: Hex; replicaIndex: number }) =>
    replicaRef(a.deploymentId, a.replicaIndex) < replicaRef(b.deploymentId, b.replicaIndex) ? -1 : 1;
  start.sort(order);
  stop.sort((a, b) => order(a.run, b.run));
  return { start, stop };
}

function stopReason(r: ChainReplica | undefined, nodeId: number, attempt: number): string {
  if (!r) return "no longer on the chain's list for this node";
  if (!ACTIVE_DEPLOYMENT.has(r.deploymentStatus)) return `deployment is ${r.deploymentStatus}`;
  if (r.nodeId !== nodeId) return r.nodeId === 0 ? `replica is ${r.status}, not placed` : `replica re-placed on node ${r.nodeId}`;
  if (r.attempt !== attempt) return `replica is now attempt ${r.attempt}`;
  return `replica is ${r.status}`;
}

/** An attestation the agent wants on-chain. */
export interface WantedAttestation {
  deploymentId: Hex;
  replicaIndex: number;
  attempt: number;
  /** AttestedStatus name. */
  status: "Running" | "Completed" | "Failed" | "Tampered";
}

/**
 * Is `att` still needed, given the replica's current on-chain state? False when the chain
 * already reflects it, or the placement moved on (sending it would only revert). (pure)
 * @example attestationStillNeeded({ ..., attempt: 1, status: "Running" }, { ..., attempt: 1, status: "Running" }, 1) // false
 */
export function attestationStillNeeded(att: WantedAttestation, r: ChainReplica, nodeId: number): boolean {
  if (r.nodeId !== nodeId || r.attempt !== att.attempt) return false;
  if (!ACTIVE_DEPLOYMENT.has(r.deploymentStatus)) return false;
  if (att.status === "Running") return r.status === "Scheduled";
  return r.status === "Scheduled" || r.status === "Running";
}
