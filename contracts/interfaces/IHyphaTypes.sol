// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Hypha shared types
/// @notice Structs and enums shared by NodeRegistry, DeploymentRegistry and the
/// off-chain code. The EIP-712 type strings in src/chain/eip712.ts mirror
/// DeploymentIntent and Attestation field for field; a test checks they agree.
interface IHyphaTypes {
    /// @notice What a workload is: a long-running service or a run-to-completion job.
    enum Kind {
        Service,
        Job
    }

    /// @notice Deployment lifecycle (DESIGN.md): Requested -> Scheduled -> Running -> Terminated, or Failed.
    /// Jobs go Running -> Completed when a strict majority of replicas agrees on the output hash.
    /// Cancelled: the deployer cancelled the signed intent before anyone submitted it.
    enum DeploymentStatus {
        None,
        Requested,
        Scheduled,
        Running,
        Completed,
        Terminated,
        Failed,
        Cancelled
    }

    /// @notice Replica lifecycle: Pending -> Scheduled -> Running -> Stopped, or Running -> Completed
    /// (jobs), Failed, Tampered. Failed/Tampered replicas go back to Pending while retries remain.
    enum ReplicaStatus {
        Pending,
        Scheduled,
        Running,
        Completed,
        Failed,
        Tampered,
        Stopped
    }

    /// @notice What an agent may attest about a replica it runs.
    enum AttestedStatus {
        Running,
        Completed,
        Failed,
        Tampered
    }

    /// @notice Resources, per replica (in an intent) or per node (capacity).
    struct Resources {
        uint32 cpuMillis;
        uint32 memoryMiB;
        uint32 diskMiB;
    }

    /// @notice The deployer's signed request (EIP-712 primary type `DeploymentIntent`).
    /// Its EIP-712 digest is the deployment id, so one intent is recorded once.
    struct DeploymentIntent {
        address deployer;
        bytes32 specHash; // sha256 of the RFC 8785 canonical JSON of the normalized WorkloadSpec
        bytes32 imageRoot; // content address of the image manifest (sha256 multihash digest)
        uint16 replicas;
        uint32 cpuMillis; // per replica
        uint32 memoryMiB; // per replica
        uint32 diskMiB; // per replica
        uint96 maxPricePerSecond; // highest price per replica-second the deployer accepts, token wei
        uint96 budget; // escrowed at submission, token wei
        uint64 nonce;
        uint64 deadline; // unix seconds; the intent cannot be submitted after it
        uint8 kind; // Kind
        uint8 quorum; // jobs: replicas that must agree on the output hash; services: 0
        uint8 maxRetries; // re-placements allowed after replicas the deployment's own workload failed
        uint32 maxRunSeconds; // most seconds one replica placement is paid for (jobs: >= 1; services: 0 = no cap)
    }

    /// @notice A node agent's signed statement about one placement of one replica
    /// (EIP-712 primary type `Attestation`). `attempt` is the placement generation, so an
    /// attestation for an earlier placement can never be replayed against a later one.
    struct Attestation {
        bytes32 deploymentId;
        uint16 replicaIndex;
        uint32 nodeId;
        uint16 attempt;
        uint8 status; // AttestedStatus
        bytes32 measurement; // hash of what was launched: specHash, imageRoot, argv, env, limits, agent version
        bytes32 outputHash; // jobs: hash of stdout and declared outputs; otherwise 0
        uint64 timestamp;
    }

    /// @notice One replica placed on one node, as sent by the orchestrator, at the node price the
    /// orchestrator saw (the placement reverts if the operator changed it since).
    struct Placement {
        uint16 replicaIndex;
        uint32 nodeId;
        uint96 pricePerSecond;
    }
}
