/**
 * The watcher's observed state, derived only from contract events: nodes, approved measurements,
 * deployments (with their full intents) and replicas (with their last attestation). These are the
 * records the store keeps and the decide/ functions read; the keys say where each record lives.
 */
import type { Address, Hex } from "viem";
import type { DeploymentIntent } from "../../chain/eip712";

/** A registered node as the events describe it. Free = total - reserved. */
export interface ObservedNode {
  nodeId: number;
  operator: Address;
  agent: Address;
  cpuMillis: number;
  memoryMiB: number;
  diskMiB: number;
  slots: number;
  reservedCpuMillis: number;
  reservedMemoryMiB: number;
  reservedDiskMiB: number;
  usedSlots: number;
  pricePerSecond: bigint;
  stake: bigint;
  unbonding: boolean;
  jailed: boolean;
  measurement: Hex;
  endpoint: string;
}

/** A deployment: its intent (from IntentSubmitted) and the status the contract reported. */
export interface ObservedDeployment {
  id: Hex;
  intent: DeploymentIntent;
  status: number; // DeploymentStatus index
  replicas: number; // desired (Scaled changes it)
  /** Submission order "<block 12 digits>:<log index 6 digits>": placement serves older deployments first. */
  seq: string;
  terminated: boolean;
  jobOutputHash?: Hex;
}

/** The last attestation recorded for a replica. */
export interface ObservedAttestation {
  attempt: number;
  status: number; // AttestedStatus
  measurement: Hex;
  outputHash: Hex;
  signer: Address;
  timestamp: bigint;
}

/** One replica of a deployment. attempt 0 = never placed. */
export interface ObservedReplica {
  deploymentId: Hex;
  index: number;
  nodeId: number;
  status: number; // ReplicaStatus index
  attempt: number;
  pricePerSecond: bigint;
  lastAttestation?: ObservedAttestation;
}

/** Key of a node record. */
export const nodeKey = (nodeId: number) => `node:${String(nodeId).padStart(10, "0")}`;
/** Key of a deployment record. */
export const deploymentKey = (id: Hex) => `dep:${id.toLowerCase()}`;
/** Key of a replica record; replicas of one deployment sort together by index. */
export const replicaKey = (id: Hex, index: number) => `rep:${id.toLowerCase()}:${String(index).padStart(5, "0")}`;
/** Key of a measurement approval (true when approved). */
export const measurementKey = (measurement: Hex) => `meas:${measurement.toLowerCase()}`;

/** Read/write access to state records, as the event reducer sees it. */
export interface StateAccess {
  get<T>(key: string): T | undefined;
  put(key: string, value: unknown): void;
}

/** Read-only access to the whole state, as the reconcile loop sees it. */
export interface StateSnapshot {
  nodes(): ObservedNode[];
  deployments(): ObservedDeployment[];
  replicasOf(id: Hex): ObservedReplica[];
  isMeasurementApproved(measurement: Hex): boolean;
}
