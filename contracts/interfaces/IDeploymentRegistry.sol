// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IHyphaTypes} from "./IHyphaTypes.sol";

/// @title DeploymentRegistry interface
/// @notice Records signed deployment intents, replica placements, agents' attestations, job
/// results and the escrow that pays nodes. Storage keeps one packed slot per deployment and one
/// per replica; the intent itself is committed by its id (its EIP-712 digest) and emitted in full
/// in IntentSubmitted, and calls that need its fields take it as calldata and check it against
/// the id. This keeps submitIntent near the cost of one signature check and one storage slot.
interface IDeploymentRegistry is IHyphaTypes {
    /// @notice A deployment as stored (one slot, 248 bits). Counters never exceed MAX_REPLICAS (255).
    /// The submission time is the block of its IntentSubmitted event.
    struct Deployment {
        uint8 status; // DeploymentStatus
        uint8 kind;
        uint8 replicas; // desired, changed by scale (at most 255)
        uint8 placed; // replicas currently Scheduled, Running or Completed
        uint8 running; // replicas currently attested Running (services) or Running/Completed (jobs)
        uint8 quorum;
        uint8 retriesLeft;
        uint96 escrow; // budget not yet paid out or refunded, plus stake slashed for this deployment
        uint32 cpuMillis; // per replica, from the intent (capacity released without the intent)
        uint32 memoryMiB;
        uint32 diskMiB;
        uint8 nodeFaults; // re-placements caused by nodes (lost, tampered copy, placement timeout): free up to MAX_NODE_FAULTS
    }

    struct Replica {
        uint32 nodeId; // 0 while Pending
        uint8 status; // ReplicaStatus
        uint16 attempt; // placement generation, starts at 1 on first placement
        uint96 pricePerSecond; // node's price when placed
        uint64 since; // when it entered its current status (Running: start of paid time)
        uint32 maxRunSeconds; // from the intent: the most run time this placement is paid for (0: no cap)
    }

    struct AttestationRecord {
        Attestation attestation;
        address signer;
        uint64 blockNumber;
    }

    /// @notice The relayer is the transaction's sender (not a topic: a topic costs every submission 375 gas).
    event IntentSubmitted(bytes32 indexed id, address indexed deployer, DeploymentIntent intent, bytes signature);
    /// @notice A deployment's status move, except the moves another event tells alone: None ->
    /// Requested (IntentSubmitted), -> Completed (JobFinalized), -> Terminated (Terminated).
    event DeploymentStatusChanged(bytes32 indexed id, uint8 from, uint8 to);
    event ReplicaScheduled(bytes32 indexed id, uint16 replicaIndex, uint32 indexed nodeId, uint16 attempt, uint96 pricePerSecond);
    event ReplicaStatusChanged(bytes32 indexed id, uint16 replicaIndex, uint32 indexed nodeId, uint8 from, uint8 to);
    event Attested(
        bytes32 indexed id,
        uint16 replicaIndex,
        uint32 indexed nodeId,
        uint16 attempt,
        uint8 status,
        bytes32 measurement,
        bytes32 outputHash,
        address signer,
        uint64 timestamp
    );
    /// @notice A job's result is final: the deployment moved to Completed (no DeploymentStatusChanged for it).
    event JobFinalized(bytes32 indexed id, bytes32 outputHash, uint8 agreeing);
    /// @notice Every replica of a job voted and no output hash reached the quorum: nobody is slashed.
    event JobUndecided(bytes32 indexed id);
    event IntentCancelled(bytes32 indexed id, address indexed deployer);
    /// @notice A batch call left one entry out and went on; `reason` is the selector of the custom
    /// error the single call would have reverted with. `entry` is the index in the call's array;
    /// in scheduleMany it is (intent index << 16) | placement index.
    event BatchEntrySkipped(bytes32 indexed id, uint256 entry, bytes4 reason);
    event Scaled(bytes32 indexed id, uint16 from, uint16 to);
    /// @notice The deployment moved to Terminated (no DeploymentStatusChanged for it), settled and refunded.
    event Terminated(bytes32 indexed id, address indexed by, uint96 paidToNodes, uint96 refunded);
    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event PaymentCredited(bytes32 indexed id, uint32 indexed nodeId, address indexed operator, uint96 amount);

    error InvalidSignature(address deployer);
    error IntentExpired(uint64 deadline, uint64 now_);
    error AlreadySubmitted(bytes32 id);
    error UnknownDeployment(bytes32 id);
    error InvalidIntent(string field, string reason);
    error BadReplicaIndex(bytes32 id, uint16 replicaIndex, uint16 replicas);
    error ReplicaNotPending(bytes32 id, uint16 replicaIndex, uint8 status);
    error PriceTooHigh(uint32 nodeId, uint96 price, uint96 maxPricePerSecond);
    error DeploymentNotActive(bytes32 id, uint8 status);
    error WrongNode(bytes32 id, uint16 replicaIndex, uint32 attested, uint32 placed);
    error StaleAttempt(bytes32 id, uint16 replicaIndex, uint16 attested, uint16 current);
    error InvalidAttester(uint32 nodeId, address signer, address agent);
    error IllegalTransition(bytes32 id, uint16 replicaIndex, uint8 from, uint8 to);
    error NotDeployer(bytes32 id, address caller, address deployer);
    error NotTerminable(bytes32 id, uint8 status);
    error InsufficientDeposit(address account, uint256 balance, uint256 needed);
    error LengthMismatch(uint256 a, uint256 b);
    error NothingToClaim(address account);
    error IntentCancelledAlready(bytes32 id);
    error ZeroOutputHash(bytes32 id, uint16 replicaIndex);
    error NotReclaimable(bytes32 id, uint16 replicaIndex, uint8 status, uint64 reclaimableAt);
    error OperatorAlreadyInJob(bytes32 id, uint32 nodeId, address operator);

    /// @notice Record a signed intent and escrow its budget. Anyone may relay it. The budget comes
    /// from the deployer's deposit in this contract when it covers it, else by transferFrom.
    function submitIntent(DeploymentIntent calldata intent, bytes calldata signature) external returns (bytes32 id);
    /// @notice Several intents in one transaction (relayers, benchmarks). An intent already submitted
    /// or cancelled is skipped (BatchEntrySkipped); any other bad entry reverts the call.
    function submitIntents(
        DeploymentIntent[] calldata intents,
        bytes[] calldata signatures
    ) external returns (bytes32[] memory ids);

    /// @notice Orchestrator: place pending replicas of one deployment on nodes.
    function schedule(DeploymentIntent calldata intent, Placement[] calldata placements) external;
    /// @notice Orchestrator: place replicas of several deployments in one transaction. A placement
    /// that lost a race (deployment no longer active, replica no longer Pending, node no longer
    /// eligible, full, or repriced) is skipped (BatchEntrySkipped); the others go through.
    function scheduleMany(DeploymentIntent[] calldata intents, Placement[][] calldata placements) external;

    /// @notice Record an agent's signed attestation. Anyone may submit it.
    function attest(Attestation calldata attestation, bytes calldata signature) external;
    /// @notice Several attestations in one transaction (any account may relay several agents'
    /// attestations); one that cannot apply (stale, already applied, bad signature) is skipped.
    function attestMany(Attestation[] calldata attestations, bytes[] calldata signatures) external;

    /// @notice Orchestrator: a replica's node stopped answering. The replica is Failed and re-placed
    /// without using the deployer's retries (up to MAX_NODE_FAULTS per deployment); its node is paid
    /// for the time it was Running.
    function reportLost(DeploymentIntent calldata intent, uint16 replicaIndex) external;
    /// @notice Anyone: a replica Scheduled for longer than PLACEMENT_TIMEOUT without reaching Running,
    /// or a job replica Running past its maxRunSeconds, is taken back from its node (a node fault:
    /// re-placed without using the deployer's retries) so nobody can pin capacity for free.
    function reclaim(bytes32 id, uint16 replicaIndex) external;
    /// @notice Deployer: cancel a signed intent before anyone submits it (it can never be submitted).
    function cancelIntent(DeploymentIntent calldata intent) external;

    /// @notice Deployer at any time; anyone once the budget is spent, a job is final or the deployment Failed.
    /// Releases capacity, credits nodes for replica-time run, refunds the rest to the deployer's deposit.
    function terminate(DeploymentIntent calldata intent) external;
    /// @notice Several terminations in one transaction (the watcher settles finished jobs in batches);
    /// each follows terminate's rules, and one that may not be terminated is skipped (BatchEntrySkipped).
    function terminateMany(DeploymentIntent[] calldata intents) external;
    /// @notice Deployer: change the replica count.
    function scale(DeploymentIntent calldata intent, uint16 replicas) external;

    /// @notice Prepay tokens for future intents (pull from caller).
    function deposit(uint256 amount) external;
    /// @notice Withdraw unspent deposit and credited payments.
    function withdraw(uint256 amount) external;

    /// @notice The deployment id of an intent: its EIP-712 digest under this contract's domain.
    function deploymentId(DeploymentIntent calldata intent) external view returns (bytes32);
    /// @notice The EIP-712 digest an agent signs for `attestation`.
    function attestationDigest(Attestation calldata attestation) external view returns (bytes32);
    /// @notice A deployment's stored state (all zero when unknown).
    function getDeployment(bytes32 id) external view returns (Deployment memory);
    /// @notice One replica: node, status, placement attempt, price, since when.
    function getReplica(bytes32 id, uint16 replicaIndex) external view returns (Replica memory);
    /// @notice All replicas 0..replicas-1 of a deployment.
    function getReplicas(bytes32 id) external view returns (Replica[] memory);
    /// @notice A job's finalized output hash when its quorum is 2 or more (zero until a quorum
    /// agrees). A single-replica job's result is one node's word and is only in its JobFinalized event.
    function jobResult(bytes32 id) external view returns (bytes32);
    /// @notice An account's withdrawable balance: unspent deposit, refunds and node payments.
    function balanceOf(address account) external view returns (uint256);
}
