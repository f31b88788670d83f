/**
 * The one TypeScript source of deployment and replica statuses and their legal moves, mirroring
 * contracts/interfaces/IHyphaTypes.sol (the enums) and contracts/libraries/Lifecycle.sol (the move
 * tables); test/chain/lifecycle.test.ts checks both against the Solidity sources.
 */
import { zeroHash } from "viem";

/** DeploymentStatus names, indexed by their on-chain number. */
export const DeploymentStatus = ["None", "Requested", "Scheduled", "Running", "Completed", "Terminated", "Failed", "Cancelled"] as const;
/** ReplicaStatus names, indexed by their on-chain number. */
export const ReplicaStatus = ["Pending", "Scheduled", "Running", "Completed", "Failed", "Tampered", "Stopped"] as const;
/** What an agent may attest (Attestation.status). */
export const AttestedStatus = { Running: 0, Completed: 1, Failed: 2, Tampered: 3 } as const;
export type AttestedStatusName = keyof typeof AttestedStatus;
export type DeploymentStatusName = (typeof DeploymentStatus)[number];
export type ReplicaStatusName = (typeof ReplicaStatus)[number];

/** A deployment's on-chain number for a status name. @example deploymentStatusNumber("Running") // 3 */
export function deploymentStatusNumber(name: DeploymentStatusName): number {
  return DeploymentStatus.indexOf(name);
}

/** A replica's on-chain number for a status name. @example replicaStatusNumber("Pending") // 0 */
export function replicaStatusNumber(name: ReplicaStatusName): number {
  return ReplicaStatus.indexOf(name);
}

/**
 * Deployment moves (Lifecycle.DEPLOYMENT_MOVES): forward only through Requested -> Scheduled ->
 * Running (a job is Running from its first Running replica); a job's result makes it Completed
 * from any active status (its replicas may complete before any attested Running); any active
 * status may Fail or be Terminated; Completed and Failed end Terminated.
 */
export const deploymentMoves: Record<DeploymentStatusName, readonly DeploymentStatusName[]> = {
  None: ["Requested", "Cancelled"],
  Requested: ["Scheduled", "Running", "Completed", "Terminated", "Failed"],
  Scheduled: ["Running", "Completed", "Terminated", "Failed"],
  Running: ["Completed", "Terminated", "Failed"],
  Completed: ["Terminated"],
  Terminated: [],
  Failed: ["Terminated"],
  Cancelled: [],
};

/**
 * Replica moves (Lifecycle.REPLICA_MOVES): Pending -> Scheduled -> Running -> Stopped; a job
 * replica Completes from Running, or straight from Scheduled when it finished before its Running
 * attestation was sent (paid from its placement); Failed/Tampered go back to Pending while it is
 * re-placed, and a replica stopped by a scale-down comes back Pending on scale-up.
 */
export const replicaMoves: Record<ReplicaStatusName, readonly ReplicaStatusName[]> = {
  Pending: ["Scheduled"],
  Scheduled: ["Running", "Completed", "Failed", "Tampered", "Stopped"],
  Running: ["Completed", "Failed", "Tampered", "Stopped"],
  Completed: [],
  Failed: ["Pending"],
  Tampered: ["Pending"],
  Stopped: ["Pending"],
};

/** Whether a deployment may move `from -> to` (numbers as on-chain). */
export function isLegalDeploymentMove(from: number, to: number): boolean {
  const f = DeploymentStatus[from];
  const t = DeploymentStatus[to];
  return f !== undefined && t !== undefined && deploymentMoves[f].includes(t);
}

/** Whether a replica may move `from -> to` (numbers as on-chain). */
export function isLegalReplicaMove(from: number, to: number): boolean {
  const f = ReplicaStatus[from];
  const t = ReplicaStatus[to];
  return f !== undefined && t !== undefined && replicaMoves[f].includes(t);
}

/**
 * A Failed attestation's `outputHash` says whose fault the failure is: zero when the workload
 * itself failed or the deployer's spec/image cannot run (uses one of the deployment's retries),
 * NODE_FAULT when the node could not run it (disk, fetch, launch): re-placed without a retry.
 */
export const FAILURE_CAUSE = {
  workload: zeroHash,
  node: "0x6e6f64652d6661756c7400000000000000000000000000000000000000000000", // bytes32("node-fault")
} as const;

/** Statuses after which a deployment never changes again except to Terminated. */
export const SETTLED_DEPLOYMENT_STATUSES: readonly DeploymentStatusName[] = ["Completed", "Failed", "Terminated", "Cancelled"];
