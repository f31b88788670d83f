/**
 * The one definition of Hypha's EIP-712 domain and typed data: DeploymentIntent (signed by
 * deployers) and Attestation (signed by node agents). Signer, verifier, CLI, watcher, agent and
 * tests all use these; contracts/interfaces/IHyphaTypes.sol mirrors them field for field.
 */
import type { Address, Hex, TypedDataDomain } from "viem";

export const EIP712_NAME = "Hypha";
export const EIP712_VERSION = "1";

/** Kind of workload, as stored on-chain. */
export const Kind = { Service: 0, Job: 1 } as const;
export type KindName = keyof typeof Kind;

export { DeploymentStatus, ReplicaStatus, AttestedStatus, type AttestedStatusName } from "./lifecycle";

export const hyphaTypes = {
  DeploymentIntent: [
    { name: "deployer", type: "address" },
    { name: "specHash", type: "bytes32" },
    { name: "imageRoot", type: "bytes32" },
    { name: "replicas", type: "uint16" },
    { name: "cpuMillis", type: "uint32" },
    { name: "memoryMiB", type: "uint32" },
    { name: "diskMiB", type: "uint32" },
    { name: "maxPricePerSecond", type: "uint96" },
    { name: "budget", type: "uint96" },
    { name: "nonce", type: "uint64" },
    { name: "deadline", type: "uint64" },
    { name: "kind", type: "uint8" },
    { name: "quorum", type: "uint8" },
    { name: "maxRetries", type: "uint8" },
    { name: "maxRunSeconds", type: "uint32" },
  ],
  Attestation: [
    { name: "deploymentId", type: "bytes32" },
    { name: "replicaIndex", type: "uint16" },
    { name: "nodeId", type: "uint32" },
    { name: "attempt", type: "uint16" },
    { name: "status", type: "uint8" },
    { name: "measurement", type: "bytes32" },
    { name: "outputHash", type: "bytes32" },
    { name: "timestamp", type: "uint64" },
  ],
} as const;

/** A deployment intent as signed; numbers that may exceed 2^53 are bigint. */
export interface DeploymentIntent {
  deployer: Address;
  specHash: Hex;
  imageRoot: Hex;
  replicas: number;
  cpuMillis: number;
  memoryMiB: number;
  diskMiB: number;
  maxPricePerSecond: bigint;
  budget: bigint;
  nonce: bigint;
  deadline: bigint;
  kind: number;
  quorum: number;
  maxRetries: number;
  /** Most seconds one replica placement is paid for: jobs >= 1, services 0 (no cap). */
  maxRunSeconds: number;
}

/** An agent's statement about one placement (attempt) of one replica. */
export interface Attestation {
  deploymentId: Hex;
  replicaIndex: number;
  nodeId: number;
  attempt: number;
  status: number;
  measurement: Hex;
  outputHash: Hex;
  timestamp: bigint;
}

/**
 * The domain every Hypha signature is bound to: the DeploymentRegistry on one chain.
 * @example hyphaDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
 */
export function hyphaDomain(chainId: number, deploymentRegistry: Address): TypedDataDomain {
  return { name: EIP712_NAME, version: EIP712_VERSION, chainId, verifyingContract: deploymentRegistry };
}

/** Typed-data arguments for viem's signTypedData / hashTypedData / verifyTypedData. */
export function intentTypedData(domain: TypedDataDomain, intent: DeploymentIntent) {
  return { domain, types: hyphaTypes, primaryType: "DeploymentIntent" as const, message: intent };
}

/** Typed-data arguments for an attestation. */
export function attestationTypedData(domain: TypedDataDomain, attestation: Attestation) {
  return { domain, types: hyphaTypes, primaryType: "Attestation" as const, message: attestation };
}
