/**
 * The event reducer: how one Hypha contract event changes the observed state. Pure apart from the
 * StateAccess it is handed (the store wraps that to record undo entries), so a fresh replay from
 * block 0 and an incremental follow produce the same records.
 */
import { deploymentStatusNumber, replicaStatusNumber } from "../../chain/lifecycle";
import type { Hex } from "viem";
import type { HyphaEvent } from "../ingest/decodeLogs";
import {
  deploymentKey,
  measurementKey,
  nodeKey,
  replicaKey,
  type ObservedDeployment,
  type ObservedNode,
  type ObservedReplica,
  type StateAccess,
} from "./observedState";

const DEPLOYMENT_REQUESTED = deploymentStatusNumber("Requested");
const DEPLOYMENT_TERMINATED = deploymentStatusNumber("Terminated");
const DEPLOYMENT_COMPLETED = deploymentStatusNumber("Completed");
const REPLICA_PENDING = replicaStatusNumber("Pending");
const REPLICA_SCHEDULED = replicaStatusNumber("Scheduled");
const REPLICA_RUNNING = replicaStatusNumber("Running");
const REPLICA_COMPLETED = replicaStatusNumber("Completed");
/** Replica moves that end a placement's reservation (Completed keeps it until its job settles). */
const RELEASING_REPLICA_MOVES = new Set((["Failed", "Tampered", "Stopped"] as const).map((n) => replicaStatusNumber(n)));
/** Deployment moves that settle it: the reservations of its Completed job replicas end here. */
const SETTLING_DEPLOYMENT_MOVES = new Set((["Completed", "Failed", "Terminated"] as const).map((n) => deploymentStatusNumber(n)));
const SETTLED_DEPLOYMENT = new Set((["Completed", "Failed"] as const).map((n) => deploymentStatusNumber(n)));

/** Submission order key: older deployments sort first. */
export function eventSeq(blockNumber: bigint, logIndex: number): string {
  return `${blockNumber.toString().padStart(12, "0")}:${String(logIndex).padStart(6, "0")}`;
}

function updateNode(state: StateAccess, nodeId: number, change: (n: ObservedNode) => Partial<ObservedNode>): void {
  const node = state.get<ObservedNode>(nodeKey(nodeId));
  if (!node) return; // an event for a node we never saw registered: nothing to update
  state.put(nodeKey(nodeId), { ...node, ...change(node) });
}

function updateDeployment(state: StateAccess, id: Hex, change: (d: ObservedDeployment) => Partial<ObservedDeployment>): void {
  const dep = state.get<ObservedDeployment>(deploymentKey(id));
  if (!dep) return;
  state.put(deploymentKey(id), { ...dep, ...change(dep) });
}

/**
 * A deployment's status move. Settling (to Completed, Failed or Terminated from an active status)
 * releases its Completed job replicas' reservations; its Scheduled and Running replicas are stopped
 * with their own events.
 */
function moveDeployment(state: StateAccess, id: Hex, from: number, to: number): void {
  if (SETTLING_DEPLOYMENT_MOVES.has(to) && !SETTLED_DEPLOYMENT.has(from)) {
    const dep = state.get<ObservedDeployment>(deploymentKey(id));
    for (let idx = 0; dep && idx < dep.replicas; idx++) {
      const r = state.get<ObservedReplica>(replicaKey(id, idx));
      if (r?.status === REPLICA_COMPLETED) moveReservation(state, id, r.nodeId, -1);
    }
  }
  updateDeployment(state, id, () => ({ status: to }));
}

/**
 * One replica's resources reserved on (+1) or released from (-1) its node. The NodeRegistry emits
 * no reservation events: each follows from the DeploymentRegistry event that caused it (see
 * INodeRegistry.sol), with the resources from the deployment's intent.
 */
function moveReservation(state: StateAccess, id: Hex, nodeId: number, sign: 1 | -1): void {
  const dep = state.get<ObservedDeployment>(deploymentKey(id));
  if (!dep || nodeId === 0) return;
  const { cpuMillis, memoryMiB, diskMiB } = dep.intent;
  updateNode(state, nodeId, (n) => ({
    reservedCpuMillis: Math.max(0, n.reservedCpuMillis + sign * cpuMillis),
    reservedMemoryMiB: Math.max(0, n.reservedMemoryMiB + sign * memoryMiB),
    reservedDiskMiB: Math.max(0, n.reservedDiskMiB + sign * diskMiB),
    usedSlots: Math.max(0, n.usedSlots + sign),
  }));
}

function updateReplica(state: StateAccess, id: Hex, index: number, change: (r: ObservedReplica) => Partial<ObservedReplica>): void {
  const existing = state.get<ObservedReplica>(replicaKey(id, index)) ?? pendingReplica(id, index);
  state.put(replicaKey(id, index), { ...existing, ...change(existing) });
}

function pendingReplica(id: Hex, index: number): ObservedReplica {
  return { deploymentId: id.toLowerCase() as Hex, index, nodeId: 0, status: REPLICA_PENDING, attempt: 0, pricePerSecond: 0n };
}

/**
 * Apply one decoded event to the state.
 * @example applyHyphaEvent(state, event) // state now reflects the event
 */
export function applyHyphaEvent(state: StateAccess, event: HyphaEvent): void {
  switch (event.eventName) {
    case "NodeRegistered": {
      const { nodeId, operator, agent, registration: r, stake } = event.args;
      const node: ObservedNode = {
        nodeId,
        operator,
        agent,
        cpuMillis: r.cpuMillis,
        memoryMiB: r.memoryMiB,
        diskMiB: r.diskMiB,
        slots: r.slots,
        reservedCpuMillis: 0,
        reservedMemoryMiB: 0,
        reservedDiskMiB: 0,
        usedSlots: 0,
        pricePerSecond: r.pricePerSecond,
        stake,
        unbonding: false,
        jailed: false,
        measurement: r.measurement,
        endpoint: r.endpoint,
      };
      state.put(nodeKey(nodeId), node);
      return;
    }
    case "CapacityUpdated": {
      const { nodeId, cpuMillis, memoryMiB, diskMiB, slots } = event.args;
      return updateNode(state, nodeId, () => ({ cpuMillis, memoryMiB, diskMiB, slots }));
    }
    case "EndpointUpdated":
      return updateNode(state, event.args.nodeId, () => ({ endpoint: event.args.endpoint }));
    case "PriceUpdated":
      return updateNode(state, event.args.nodeId, () => ({ pricePerSecond: event.args.pricePerSecond }));
    case "AgentUpdated":
      return updateNode(state, event.args.nodeId, () => ({ agent: event.args.agent }));
    case "MeasurementUpdated":
      return updateNode(state, event.args.nodeId, () => ({ measurement: event.args.measurement }));
    case "StakeAdded":
      return updateNode(state, event.args.nodeId, () => ({ stake: event.args.stake }));
    case "UnbondingStarted":
      return updateNode(state, event.args.nodeId, () => ({ unbonding: true }));
    case "StakeWithdrawn":
      return updateNode(state, event.args.nodeId, (n) => ({ unbonding: true, stake: n.stake > event.args.amount ? n.stake - event.args.amount : 0n }));
    case "Slashed":
      return updateNode(state, event.args.nodeId, (n) => ({ stake: n.stake > event.args.amount ? n.stake - event.args.amount : 0n }));
    case "Jailed":
      return updateNode(state, event.args.nodeId, () => ({ jailed: true }));
    case "Unjailed":
      return updateNode(state, event.args.nodeId, () => ({ jailed: false }));
    case "MeasurementApprovalSet":
      state.put(measurementKey(event.args.measurement), event.args.approved);
      return;
    case "IntentSubmitted": {
      const id = event.args.id.toLowerCase() as Hex;
      const i = event.args.intent;
      const dep: ObservedDeployment = {
        id,
        intent: { ...i },
        status: Math.max(DEPLOYMENT_REQUESTED, state.get<ObservedDeployment>(deploymentKey(id))?.status ?? 0),
        replicas: i.replicas,
        seq: eventSeq(event.blockNumber, event.logIndex),
        terminated: false,
      };
      state.put(deploymentKey(id), dep);
      for (let idx = 0; idx < i.replicas; idx++) if (!state.get(replicaKey(id, idx))) state.put(replicaKey(id, idx), pendingReplica(id, idx));
      return;
    }
    case "DeploymentStatusChanged": {
      const { id, from, to } = event.args;
      return moveDeployment(state, id, from, to);
    }
    case "ReplicaScheduled": {
      const { id, replicaIndex, nodeId, attempt, pricePerSecond } = event.args;
      moveReservation(state, id, nodeId, 1);
      return updateReplica(state, id, replicaIndex, () => ({ nodeId, attempt, pricePerSecond, status: REPLICA_SCHEDULED }));
    }
    case "ReplicaStatusChanged": {
      const { id, replicaIndex, nodeId, from, to } = event.args;
      if ((from === REPLICA_SCHEDULED || from === REPLICA_RUNNING) && RELEASING_REPLICA_MOVES.has(to)) moveReservation(state, id, nodeId, -1);
      return updateReplica(state, id, replicaIndex, (r) => ({ status: to, nodeId: nodeId === 0 ? r.nodeId : nodeId }));
    }
    case "Attested": {
      const { id, replicaIndex, attempt, status, measurement, outputHash, signer, timestamp } = event.args;
      return updateReplica(state, id, replicaIndex, () => ({ lastAttestation: { attempt, status, measurement, outputHash, signer, timestamp } }));
    }
    case "JobFinalized": {
      // tells the move to Completed too (the contract emits no DeploymentStatusChanged for it)
      const { id, outputHash } = event.args;
      moveDeployment(state, id, state.get<ObservedDeployment>(deploymentKey(id))?.status ?? 0, DEPLOYMENT_COMPLETED);
      return updateDeployment(state, id, () => ({ jobOutputHash: outputHash }));
    }
    case "Scaled": {
      const { id, to } = event.args;
      const dep = state.get<ObservedDeployment>(deploymentKey(id));
      if (!dep) return;
      state.put(deploymentKey(id), { ...dep, replicas: to });
      for (let idx = 0; idx < to; idx++) if (!state.get(replicaKey(id, idx))) state.put(replicaKey(id, idx), pendingReplica(id, idx));
      return;
    }
    case "Terminated": {
      // tells the move to Terminated too (no DeploymentStatusChanged for it)
      const { id } = event.args;
      moveDeployment(state, id, state.get<ObservedDeployment>(deploymentKey(id))?.status ?? 0, DEPLOYMENT_TERMINATED);
      return updateDeployment(state, id, () => ({ terminated: true }));
    }
    default:
      return; // Deposited, Withdrawn, PaymentCredited, role and token events: not part of the observed state
  }
}
