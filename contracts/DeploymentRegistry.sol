// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IDeploymentRegistry} from "./interfaces/IDeploymentRegistry.sol";
import {INodeRegistry} from "./interfaces/INodeRegistry.sol";
import {Lifecycle as L} from "./libraries/Lifecycle.sol";
import {DeploymentSlot, ReplicaSlot} from "./libraries/PackedSlots.sol";
import {JobQuorum} from "./libraries/JobQuorum.sol";
import {IntentRules} from "./libraries/IntentRules.sol";

/// @title DeploymentRegistry
/// @notice Records deployers' signed intents, the orchestrator's replica placements, node agents'
/// signed attestations, job results and the escrow that pays nodes (pull payments).
/// @dev One packed slot per deployment and one per replica (DeploymentSlot, ReplicaSlot). The
/// intent is committed by its id (its EIP-712 digest) and emitted in IntentSubmitted; calls that
/// need its fields take it as calldata and recompute the id. Rules (docs/threat-model.md):
/// - Every status change goes through `_moveReplica` / `_setStatus`, checked against the tables in
///   Lifecycle.
/// - A replica is paid for the time it was Running (capped by the intent's maxRunSeconds), on every
///   exit: Completed, Failed, Tampered, lost, reclaimed, stopped; never more than an equal share of
///   what is left in escrow among the replicas still placed (pro rata).
/// - A job's replicas run on nodes of distinct operators (agent keys are one per node in the
///   NodeRegistry); a job result is final only when `quorum` (a strict majority) agree on a non-zero
///   output hash, once; only then are dissenters slashed, to the treasury (never to the deployer).
///   The quorum bookkeeping lives in the JobQuorum library (linked, to keep this under 24 KB).
/// - A completed job replica keeps its node's reservation until the vote is resolved, so a
///   dissenter cannot withdraw its stake first.
/// - Node faults (lost, Tampered copy, placement timeout, a Failed attestation naming a node cause)
///   re-place the replica without using the deployer's retries, up to MAX_NODE_FAULTS.
/// Reentrancy: the guard covers deposit, withdraw and attest (slashing moves stake). submitIntent
/// follows checks-effects-interactions with one token pull last (the token is fixed at construction).
contract DeploymentRegistry is IDeploymentRegistry, IERC5267, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using DeploymentSlot for Deployment;
    using ReplicaSlot for Replica;

    /// @notice Role of the orchestrator (watcher) accounts: schedule, reportLost.
    bytes32 public constant ORCHESTRATOR_ROLE = keccak256("ORCHESTRATOR_ROLE");
    /// @notice EIP-712 type hash of DeploymentIntent (mirrors src/chain/eip712.ts).
    bytes32 public constant INTENT_TYPEHASH = keccak256(
        "DeploymentIntent(address deployer,bytes32 specHash,bytes32 imageRoot,uint16 replicas,uint32 cpuMillis,uint32 memoryMiB,uint32 diskMiB,uint96 maxPricePerSecond,uint96 budget,uint64 nonce,uint64 deadline,uint8 kind,uint8 quorum,uint8 maxRetries,uint32 maxRunSeconds)"
    );
    /// @notice EIP-712 type hash of Attestation (mirrors src/chain/eip712.ts).
    bytes32 public constant ATTESTATION_TYPEHASH = keccak256(
        "Attestation(bytes32 deploymentId,uint16 replicaIndex,uint32 nodeId,uint16 attempt,uint8 status,bytes32 measurement,bytes32 outputHash,uint64 timestamp)"
    );
    /// @notice Most replicas one deployment may have (bounds every loop over replicas).
    uint16 public constant MAX_REPLICAS = IntentRules.MAX_REPLICAS;
    /// @notice Node-caused re-placements per deployment that do not use the deployer's retries.
    uint8 public constant MAX_NODE_FAULTS = 255;
    /// @notice Seconds a replica may stay Scheduled without reaching Running before anyone may reclaim it.
    uint64 public constant PLACEMENT_TIMEOUT = 600;
    /// @notice An intent's budget must pay every replica this many seconds at its price limit.
    uint256 public constant MIN_RUN_SECONDS = 60;

    uint8 private constant KIND_SERVICE = 0;
    uint8 private constant KIND_JOB = 1;
    uint8 private constant A_RUNNING = 0;
    uint8 private constant A_COMPLETED = 1;
    uint8 private constant A_FAILED = 2;
    uint8 private constant A_TAMPERED = 3;

    /// @notice The payment and stake token.
    IERC20 public immutable token;
    /// @notice The node registry this contract reserves capacity in.
    INodeRegistry public immutable nodes;

    bytes32 private constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );
    bytes32 private constant HASHED_NAME = keccak256("Hypha");
    bytes32 private constant HASHED_VERSION = keccak256("1");
    bytes32 private immutable _cachedDomainSeparator;
    uint256 private immutable _cachedChainId;

    mapping(bytes32 id => Deployment) private _deployments;
    mapping(bytes32 id => mapping(uint256 index => Replica)) private _replicas;
    mapping(address account => uint256) private _balances;
    JobQuorum.Votes private _votes;

    /// @param token_ payment token
    /// @param nodes_ NodeRegistry (must grant this contract DEPLOYMENTS_ROLE)
    /// @param admin DEFAULT_ADMIN_ROLE holder (grants ORCHESTRATOR_ROLE)
    constructor(IERC20 token_, INodeRegistry nodes_, address admin) {
        token = token_;
        nodes = nodes_;
        _cachedChainId = block.chainid;
        _cachedDomainSeparator = _buildDomainSeparator();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ------------------------------------------------------------------ intents

    /// @inheritdoc IDeploymentRegistry
    function submitIntent(DeploymentIntent calldata intent, bytes calldata signature) external returns (bytes32) {
        return _submit(intent, signature, true, 0);
    }

    /// @inheritdoc IDeploymentRegistry
    function submitIntents(
        DeploymentIntent[] calldata intents,
        bytes[] calldata signatures
    ) external returns (bytes32[] memory ids) {
        if (intents.length != signatures.length) revert LengthMismatch(intents.length, signatures.length);
        ids = new bytes32[](intents.length);
        for (uint256 i; i < intents.length; ++i) {
            ids[i] = _submit(intents[i], signatures[i], false, i);
        }
    }

    /// @dev Records one intent. In a batch (`strict` false) an intent already submitted or cancelled
    /// is skipped, since another relayer may have sent it first.
    function _submit(
        DeploymentIntent calldata intent,
        bytes calldata signature,
        bool strict,
        uint256 entry
    ) private returns (bytes32 id) {
        (uint256 packed, bool bad, address deployer, uint96 budget, uint64 deadline) = _checkAndPack(intent);
        if (bad) {
            // A dirty calldata struct cannot be handed to a library (the ABI re-encoding reverts
            // with no reason), so that one is told here.
            if (IntentRules.dirty(intent)) revert InvalidIntent("intent", "a field exceeds its type");
            IntentRules.explainInvalid(intent);
        }
        if (block.timestamp > deadline) revert IntentExpired(deadline, uint64(block.timestamp));
        id = _intentId(intent);
        Deployment storage slot = _deployments[id];
        uint256 existing;
        assembly ("memory-safe") {
            existing := sload(slot.slot) // status >= Requested (or Cancelled) in every stored deployment
        }
        if (existing != 0) {
            bytes memory err =
                uint8(existing) == L.D_CANCELLED
                    ? abi.encodeWithSelector(IntentCancelledAlready.selector, id)
                    : abi.encodeWithSelector(AlreadySubmitted.selector, id);
            _refuse(strict, id, entry, err);
            return id;
        }
        if (!_isValidSignature(deployer, id, signature)) revert InvalidSignature(deployer);
        assembly ("memory-safe") {
            sstore(slot.slot, packed)
        }
        _emitIntentSubmitted(id, deployer, intent, signature);
        bool fromDeposit;
        assembly ("memory-safe") {
            // _balances[deployer] -= budget when it covers it (one slot hash for read and write)
            mstore(0x00, deployer)
            mstore(0x20, _balances.slot)
            let balanceSlot := keccak256(0x00, 0x40)
            let bal := sload(balanceSlot)
            if iszero(lt(bal, budget)) {
                sstore(balanceSlot, sub(bal, budget))
                fromDeposit := 1
            }
        }
        if (!fromDeposit) token.safeTransferFrom(deployer, address(this), budget);
    }

    /// @inheritdoc IDeploymentRegistry
    function cancelIntent(DeploymentIntent calldata intent) external {
        bytes32 id = _intentId(intent);
        if (msg.sender != intent.deployer) revert NotDeployer(id, msg.sender, intent.deployer);
        Deployment storage slot = _deployments[id];
        Deployment memory d = slot.load();
        if (d.status == L.D_CANCELLED) revert IntentCancelledAlready(id);
        if (d.status != L.D_NONE) revert AlreadySubmitted(id);
        _setStatus(id, d, L.D_CANCELLED);
        slot.store(d);
        emit IntentCancelled(id, msg.sender);
    }

    /// @dev emit IntentSubmitted(id, deployer, intent, signature), encoded straight
    /// from calldata (the ABI encoding of a static struct is its calldata words, already checked
    /// clean by _checkAndPack): 15 intent words, the signature's offset (0x200), length, bytes.
    function _emitIntentSubmitted(
        bytes32 id,
        address deployer,
        DeploymentIntent calldata intent,
        bytes calldata signature
    ) private {
        bytes32 topic = IntentSubmitted.selector;
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, intent, 0x1e0)
            mstore(add(p, 0x1e0), 0x200)
            let len := signature.length
            mstore(add(p, 0x200), len)
            let padded := and(add(len, 31), not(31))
            if padded {
                mstore(add(p, add(0x200, padded)), 0)
            }
            calldatacopy(add(p, 0x220), signature.offset, len)
            log3(p, add(0x220, padded), topic, id, deployer)
        }
    }

    /// @dev Reads the intent's words once and returns the packed Deployment slot (DeploymentSlot's
    /// layout: status Requested, kind, replicas, quorum, retriesLeft, escrow, cpu, memory, disk) and
    /// whether any rule of IntentRules fails (its cold path says which), in one pass of assembly.
    function _checkAndPack(
        DeploymentIntent calldata intent
    ) private pure returns (uint256 packed, bool bad, address deployer, uint96 budget, uint64 deadline) {
        assembly ("memory-safe") {
            deployer := calldataload(intent)
            budget := calldataload(add(intent, 0x100))
            deadline := calldataload(add(intent, 0x140))
            let replicas := calldataload(add(intent, 0x60))
            let cpu := calldataload(add(intent, 0x80))
            let mem := calldataload(add(intent, 0xa0))
            let kind := calldataload(add(intent, 0x160))
            let quorum := calldataload(add(intent, 0x180))
            // a field exceeds its declared type (an ABI decoder would reject it)
            let dirty := or(
                or(or(shr(160, deployer), shr(16, replicas)), or(shr(32, cpu), shr(32, mem))),
                or(
                    or(
                        or(shr(32, calldataload(add(intent, 0xc0))), shr(96, calldataload(add(intent, 0xe0)))),
                        or(shr(96, budget), shr(64, calldataload(add(intent, 0x120))))
                    ),
                    or(
                        or(or(shr(64, deadline), shr(8, kind)), or(shr(8, quorum), shr(8, calldataload(add(intent, 0x1a0))))),
                        shr(32, calldataload(add(intent, 0x1c0)))
                    )
                )
            )
            // service: quorum 0; job: a strict majority (replicas < 2 * quorum <= 2 * replicas) and
            // a maximum run time
            let kindOk := or(
                and(iszero(kind), iszero(quorum)),
                and(
                    and(eq(kind, 1), iszero(iszero(calldataload(add(intent, 0x1c0))))),
                    and(lt(replicas, shl(1, quorum)), iszero(gt(quorum, replicas)))
                )
            )
            // replicas, cpu, memory, budget non-zero, at most 255 replicas, and the budget pays every
            // replica MIN_RUN_SECONDS (60) at the price limit (no overflow when the fields are clean)
            bad := or(
                or(iszero(iszero(dirty)), iszero(kindOk)),
                or(
                    or(
                        or(iszero(deployer), iszero(calldataload(add(intent, 0x20)))),
                        or(iszero(mul(mul(replicas, cpu), mul(mem, budget))), gt(replicas, 255))
                    ),
                    lt(budget, mul(mul(replicas, calldataload(add(intent, 0xe0))), 60))
                )
            )
            packed := or(
                or(or(1, shl(8, kind)), or(shl(16, replicas), shl(40, quorum))),
                or(
                    or(shl(48, calldataload(add(intent, 0x1a0))), shl(56, budget)),
                    or(or(shl(152, cpu), shl(184, mem)), shl(216, calldataload(add(intent, 0xc0))))
                )
            )
        }
    }

    // ------------------------------------------------------------------ placement

    /// @inheritdoc IDeploymentRegistry
    function schedule(DeploymentIntent calldata intent, Placement[] calldata placements) external onlyRole(ORCHESTRATOR_ROLE) {
        _schedule(intent, placements, true, 0);
    }

    /// @inheritdoc IDeploymentRegistry
    function scheduleMany(
        DeploymentIntent[] calldata intents,
        Placement[][] calldata placements
    ) external onlyRole(ORCHESTRATOR_ROLE) {
        if (intents.length != placements.length) revert LengthMismatch(intents.length, placements.length);
        for (uint256 i; i < intents.length; ++i) {
            _schedule(intents[i], placements[i], false, i);
        }
    }

    function _schedule(DeploymentIntent calldata intent, Placement[] calldata placements, bool strict, uint256 entry) private {
        bytes32 id = _intentId(intent);
        Deployment storage slot = _deployments[id];
        Deployment memory d = slot.load();
        if (d.status == L.D_NONE || d.status > L.D_RUNNING) {
            bytes memory err =
                d.status == L.D_NONE
                    ? abi.encodeWithSelector(UnknownDeployment.selector, id)
                    : abi.encodeWithSelector(DeploymentNotActive.selector, id, d.status);
            _refuse(strict, id, entry << 16, err);
            return;
        }
        bool distinctOperators = d.kind == KIND_JOB && d.replicas > 1;
        for (uint256 i; i < placements.length; ++i) {
            _place(id, d, intent, placements[i], distinctOperators, strict, (entry << 16) | i);
        }
        _advance(id, d);
        slot.store(d);
    }

    /// @dev One placement: checks, reserve at the expected price, Pending -> Scheduled.
    function _place(
        bytes32 id,
        Deployment memory d,
        DeploymentIntent calldata intent,
        Placement calldata p,
        bool distinctOperators,
        bool strict,
        uint256 entry
    ) private {
        if (p.replicaIndex >= d.replicas) {
            _refuse(strict, id, entry, abi.encodeWithSelector(BadReplicaIndex.selector, id, p.replicaIndex, d.replicas));
            return;
        }
        Replica storage rs = _replicas[id][p.replicaIndex];
        Replica memory r = rs.load();
        bytes memory err = _placementProblem(id, intent, p, r);
        if (err.length == 0 && distinctOperators) err = JobQuorum.claimOperator(_votes, nodes, id, p.nodeId);
        if (err.length == 0) {
            err = _reserve(d, p, strict);
            if (err.length != 0 && distinctOperators) JobQuorum.releaseOperator(_votes, nodes, id, p.nodeId);
        }
        if (err.length != 0) {
            _refuse(strict, id, entry, err);
            return;
        }
        r.nodeId = p.nodeId;
        r.attempt += 1;
        r.pricePerSecond = p.pricePerSecond;
        r.maxRunSeconds = intent.maxRunSeconds;
        _moveReplica(id, p.replicaIndex, rs, r, L.R_SCHEDULED);
        unchecked {
            d.placed += 1; // placed <= replicas <= 255: only Pending replicas are placed
        }
    }

    /// @dev Why a placement of a replica (as stored) cannot go through; empty when it can.
    function _placementProblem(
        bytes32 id,
        DeploymentIntent calldata intent,
        Placement calldata p,
        Replica memory r
    ) private pure returns (bytes memory err) {
        if (r.status != L.R_PENDING) return abi.encodeWithSelector(ReplicaNotPending.selector, id, p.replicaIndex, r.status);
        if (p.pricePerSecond > intent.maxPricePerSecond) {
            return abi.encodeWithSelector(PriceTooHigh.selector, p.nodeId, p.pricePerSecond, intent.maxPricePerSecond);
        }
    }

    /// @dev Reserves the replica's resources on its node at the expected price; in a batch a failed
    /// reservation (node full, ineligible, repriced) is returned instead of reverting.
    function _reserve(Deployment memory d, Placement calldata p, bool strict) private returns (bytes memory err) {
        Resources memory res = Resources(d.cpuMillis, d.memoryMiB, d.diskMiB);
        if (strict) {
            nodes.reserve(p.nodeId, res, p.pricePerSecond);
        } else {
            try nodes.reserve(p.nodeId, res, p.pricePerSecond) {} catch (bytes memory reason) {
                err = reason;
            }
        }
    }

    /// @inheritdoc IDeploymentRegistry
    function reportLost(DeploymentIntent calldata intent, uint16 replicaIndex) external onlyRole(ORCHESTRATOR_ROLE) {
        bytes32 id = _intentId(intent);
        (Deployment storage slot, Deployment memory d) = _activeDeployment(id);
        if (replicaIndex >= d.replicas) revert BadReplicaIndex(id, replicaIndex, d.replicas);
        Replica storage rs = _replicas[id][replicaIndex];
        Replica memory r = rs.load();
        if (r.status != L.R_SCHEDULED && r.status != L.R_RUNNING)
            revert IllegalTransition(id, replicaIndex, r.status, L.R_FAILED);
        _fail(id, d, replicaIndex, rs, r, L.R_FAILED, true);
        slot.store(d);
    }

    /// @inheritdoc IDeploymentRegistry
    function reclaim(bytes32 id, uint16 replicaIndex) external {
        (Deployment storage slot, Deployment memory d) = _activeDeployment(id);
        if (replicaIndex >= d.replicas) revert BadReplicaIndex(id, replicaIndex, d.replicas);
        Replica storage rs = _replicas[id][replicaIndex];
        Replica memory r = rs.load();
        uint64 at = type(uint64).max;
        if (r.status == L.R_SCHEDULED) at = r.since + PLACEMENT_TIMEOUT;
        else if (r.status == L.R_RUNNING && d.kind == KIND_JOB) at = r.since + r.maxRunSeconds;
        if (block.timestamp < at) revert NotReclaimable(id, replicaIndex, r.status, at);
        _fail(id, d, replicaIndex, rs, r, L.R_FAILED, true);
        slot.store(d);
    }

    // ------------------------------------------------------------------ attestations

    /// @inheritdoc IDeploymentRegistry
    function attest(Attestation calldata attestation, bytes calldata signature) external nonReentrant {
        _attest(attestation, signature, true, 0);
    }

    /// @inheritdoc IDeploymentRegistry
    function attestMany(Attestation[] calldata attestations, bytes[] calldata signatures) external nonReentrant {
        if (attestations.length != signatures.length) revert LengthMismatch(attestations.length, signatures.length);
        for (uint256 i; i < attestations.length; ++i) {
            _attest(attestations[i], signatures[i], false, i);
        }
    }

    function _attest(Attestation calldata a, bytes calldata signature, bool strict, uint256 entry) private {
        Deployment storage slot = _deployments[a.deploymentId];
        Deployment memory d = slot.load();
        bytes memory err = _attestationProblem(a, d);
        if (err.length != 0) {
            _refuse(strict, a.deploymentId, entry, err);
            return;
        }
        Replica storage rs = _replicas[a.deploymentId][a.replicaIndex];
        Replica memory r = rs.load();
        err = _replicaProblem(a, d, r);
        if (err.length == 0) err = _signatureProblem(a, r.nodeId, signature);
        if (err.length != 0) {
            _refuse(strict, a.deploymentId, entry, err);
            return;
        }
        _applyAttestation(a, d, rs, r);
        slot.store(d);
    }

    /// @dev The replica's move for a checked attestation.
    function _applyAttestation(Attestation calldata a, Deployment memory d, Replica storage rs, Replica memory r) private {
        bytes32 id = a.deploymentId;
        uint8 attested = a.status;
        if (attested == A_RUNNING) {
            _moveReplica(id, a.replicaIndex, rs, r, L.R_RUNNING);
            unchecked {
                d.running += 1;
            }
            _advance(id, d);
        } else if (attested == A_COMPLETED) {
            _complete(id, d, a.replicaIndex, rs, r, a.outputHash);
        } else {
            // A Tampered copy, or a Failed attestation naming a node cause (non-zero outputHash:
            // image fetch, disk), is the node's fault: re-placed without the deployer's retries.
            // Reporting one's own corrupted copy is never slashed (honest reporting must be safe).
            bool nodeFault = attested == A_TAMPERED || a.outputHash != 0;
            _fail(id, d, a.replicaIndex, rs, r, attested == A_TAMPERED ? L.R_TAMPERED : L.R_FAILED, nodeFault);
        }
    }

    /// @dev Why an attestation cannot apply to its deployment (empty when it can).
    function _attestationProblem(Attestation calldata a, Deployment memory d) private pure returns (bytes memory err) {
        if (d.status == L.D_NONE) return abi.encodeWithSelector(UnknownDeployment.selector, a.deploymentId);
        // A final job (Completed) takes no more attestations: its other replicas were stopped.
        if (d.status > L.D_RUNNING) return abi.encodeWithSelector(DeploymentNotActive.selector, a.deploymentId, d.status);
        if (a.replicaIndex >= d.replicas)
            return abi.encodeWithSelector(BadReplicaIndex.selector, a.deploymentId, a.replicaIndex, d.replicas);
    }

    /// @dev Why an attestation cannot apply to the replica's current placement (empty when it can).
    function _replicaProblem(
        Attestation calldata a,
        Deployment memory d,
        Replica memory r
    ) private pure returns (bytes memory err) {
        bytes32 id = a.deploymentId;
        if (a.nodeId != r.nodeId) return abi.encodeWithSelector(WrongNode.selector, id, a.replicaIndex, a.nodeId, r.nodeId);
        if (a.attempt != r.attempt)
            return abi.encodeWithSelector(StaleAttempt.selector, id, a.replicaIndex, a.attempt, r.attempt);
        uint8 s = a.status;
        uint8 to =
            s == A_RUNNING
                ? L.R_RUNNING
                : s == A_COMPLETED
                    ? L.R_COMPLETED
                    : s == A_FAILED
                        ? L.R_FAILED
                        : s == A_TAMPERED
                            ? L.R_TAMPERED
                            : type(uint8).max;
        // Completed only for a job (from Running, or from Scheduled when it finished before its
        // Running attestation was sent: then its paid time starts at its placement).
        if (to == type(uint8).max || !L.replicaMoveLegal(r.status, to) || (to == L.R_COMPLETED && d.kind != KIND_JOB)) {
            return abi.encodeWithSelector(IllegalTransition.selector, id, a.replicaIndex, r.status, to);
        }
        if (to == L.R_COMPLETED && a.outputHash == bytes32(0))
            return abi.encodeWithSelector(ZeroOutputHash.selector, id, a.replicaIndex);
    }

    /// @dev Checks the node's agent signed the attestation and its agent build is still approved;
    /// emits Attested when it did (empty return), else returns the error.
    function _signatureProblem(
        Attestation calldata a,
        uint32 nodeId,
        bytes calldata signature
    ) private returns (bytes memory err) {
        address agent;
        try nodes.attesterOf(nodeId) returns (address who) {
            agent = who;
        } catch (bytes memory reason) {
            return reason;
        }
        bytes32 digest = _attestationDigest(a);
        address recovered = _recover(digest, signature);
        if (
            recovered != agent &&
            !(agent.code.length != 0 && SignatureChecker.isValidERC1271SignatureNowCalldata(agent, digest, signature))
        ) return abi.encodeWithSelector(InvalidAttester.selector, nodeId, recovered, agent);
        _emitAttested(a, agent);
    }

    function _emitAttested(Attestation calldata a, address signer) private {
        emit Attested(
            a.deploymentId,
            a.replicaIndex,
            a.nodeId,
            a.attempt,
            a.status,
            a.measurement,
            a.outputHash,
            signer,
            a.timestamp
        );
    }

    /// @dev A job replica finished: pay its run time (since Running, or since its placement when it
    /// completes straight from Scheduled), keep its reservation until the vote resolves, count its
    /// vote; finalize when a quorum agrees, or fail the job when every replica voted and none did.
    /// A single-replica job (quorum 1) is final at once: released and finalized here, nothing stored.
    function _complete(
        bytes32 id,
        Deployment memory d,
        uint16 index,
        Replica storage rs,
        Replica memory r,
        bytes32 outputHash
    ) private {
        if (r.status == L.R_SCHEDULED) {
            unchecked {
                d.running += 1; // paid as a Running replica for its time since placement
            }
        }
        if (d.quorum == 1) {
            // A single-replica job: its one vote is final at once (no vote to count, no result slot:
            // JobQuorum), so the replica leaves its node now, and release names the operator to pay.
            _pay(id, d, r, nodes.release(r.nodeId, Resources(d.cpuMillis, d.memoryMiB, d.diskMiB)));
            unchecked {
                d.running -= 1;
                d.placed -= 1;
            }
            _moveReplica(id, index, rs, r, L.R_COMPLETED);
            emit JobFinalized(id, outputHash, 1);
            _setStatus(id, d, L.D_COMPLETED);
            return;
        }
        _pay(id, d, r, nodes.operatorOf(r.nodeId));
        unchecked {
            d.running -= 1;
        }
        _moveReplica(id, index, rs, r, L.R_COMPLETED);
        (bool finalNow, bool undecided, uint8 agreeing) = JobQuorum.vote(_votes, id, index, outputHash, d.quorum, d.replicas);
        if (finalNow) {
            emit JobFinalized(id, outputHash, agreeing);
            _setStatus(id, d, L.D_COMPLETED);
            _settleReplicas(id, d, outputHash);
        } else if (undecided) {
            emit JobUndecided(id);
            _failDeployment(id, d);
        }
    }

    /// @dev A placed replica left its node (attested Failed/Tampered, lost, reclaimed): pay its run
    /// time and release it, then back to Pending (a node fault first uses the free node-fault
    /// allowance, else a retry), or the deployment Fails when no retry is left.
    function _fail(
        bytes32 id,
        Deployment memory d,
        uint16 index,
        Replica storage rs,
        Replica memory r,
        uint8 to,
        bool nodeFault
    ) private {
        _unplace(id, d, r);
        _moveReplica(id, index, rs, r, to);
        if (nodeFault && d.nodeFaults < MAX_NODE_FAULTS) {
            unchecked {
                d.nodeFaults += 1;
            }
        } else if (d.retriesLeft > 0) {
            unchecked {
                d.retriesLeft -= 1;
            }
        } else {
            _failDeployment(id, d);
            return;
        }
        r.nodeId = 0;
        r.pricePerSecond = 0;
        _moveReplica(id, index, rs, r, L.R_PENDING);
    }

    /// @dev The deployment Failed: stop every replica still placed (paid for its run time) and
    /// release completed job replicas' reservations (their votes will never be counted).
    function _failDeployment(bytes32 id, Deployment memory d) private {
        _setStatus(id, d, L.D_FAILED);
        _settleReplicas(id, d, bytes32(0));
    }

    /// @dev Ends every placement of a deployment that is final, failed or terminated: Scheduled and
    /// Running replicas are stopped and paid; Completed job replicas (already paid) release their
    /// reservation, and when `result` is set those that voted otherwise are slashed to the treasury.
    function _settleReplicas(bytes32 id, Deployment memory d, bytes32 result) private {
        uint256 n = d.replicas;
        for (uint256 j; j < n && d.placed != 0; ++j) {
            Replica storage rs = _replicas[id][j];
            Replica memory r = rs.load();
            if (r.status == L.R_SCHEDULED || r.status == L.R_RUNNING) {
                _unplace(id, d, r);
                _moveReplica(id, j, rs, r, L.R_STOPPED);
            } else if (r.status == L.R_COMPLETED) {
                // every Completed job replica still holds its reservation: settling happens once
                nodes.release(r.nodeId, Resources(d.cpuMillis, d.memoryMiB, d.diskMiB));
                unchecked {
                    d.placed -= 1;
                }
                if (result != bytes32(0) && JobQuorum.outputOf(_votes, id, j, d.quorum, result) != result) {
                    nodes.slash(r.nodeId, address(0), JobQuorum.REASON_JOB_DISSENT);
                }
            }
        }
    }

    /// @dev A Scheduled or Running replica leaves its node: release the reservation, pay its run time.
    function _unplace(bytes32 id, Deployment memory d, Replica memory r) private {
        address operator = nodes.release(r.nodeId, Resources(d.cpuMillis, d.memoryMiB, d.diskMiB));
        if (d.kind == KIND_JOB && d.replicas > 1) JobQuorum.releaseOperatorOf(_votes, id, operator);
        if (r.status == L.R_RUNNING) {
            _pay(id, d, r, operator);
            unchecked {
                d.running -= 1;
            }
        }
        unchecked {
            d.placed -= 1;
        }
    }

    /// @dev Credits `operator` for the replica's time Running (capped by its maxRunSeconds), at most
    /// an equal share of the escrow among the replicas still Running, this one included (pro rata
    /// when it runs short; completed job replicas were paid already, Scheduled ones are owed nothing).
    function _pay(bytes32 id, Deployment memory d, Replica memory r, address operator) private {
        uint256 ran = block.timestamp - r.since;
        if (r.maxRunSeconds != 0 && ran > r.maxRunSeconds) ran = r.maxRunSeconds;
        uint256 owed = uint256(r.pricePerSecond) * ran;
        uint256 share = d.escrow / d.running; // d.running >= 1: this replica is Running (callers decrement after)
        uint96 pay = uint96(owed < share ? owed : share);
        if (pay == 0) return;
        unchecked {
            d.escrow -= pay;
        }
        _balances[operator] += pay;
        emit PaymentCredited(id, r.nodeId, operator, pay);
    }

    // ------------------------------------------------------------------ deployer

    /// @inheritdoc IDeploymentRegistry
    function terminate(DeploymentIntent calldata intent) external {
        _terminate(intent, true, 0);
    }

    /// @inheritdoc IDeploymentRegistry
    function terminateMany(DeploymentIntent[] calldata intents) external {
        for (uint256 i; i < intents.length; ++i) {
            _terminate(intents[i], false, i);
        }
    }

    function _terminate(DeploymentIntent calldata intent, bool strict, uint256 entry) private {
        bytes32 id = _intentId(intent);
        Deployment storage slot = _deployments[id];
        Deployment memory d = slot.load();
        if (d.status == L.D_NONE) {
            _refuse(strict, id, entry, abi.encodeWithSelector(UnknownDeployment.selector, id));
            return;
        }
        bool settled = d.status == L.D_COMPLETED || d.status == L.D_FAILED;
        if (
            d.status == L.D_TERMINATED ||
            d.status == L.D_CANCELLED ||
            (msg.sender != intent.deployer && !settled && !_budgetSpent(id, d))
        ) {
            _refuse(strict, id, entry, abi.encodeWithSelector(NotTerminable.selector, id, d.status));
            return;
        }
        uint96 escrowBefore = d.escrow;
        _setStatus(id, d, L.D_TERMINATED);
        // A final or failed deployment has nothing placed any more (settled when it got there).
        if (!settled) _settleReplicas(id, d, bytes32(0));
        uint96 refund = d.escrow;
        d.escrow = 0;
        slot.store(d);
        if (refund != 0) _balances[intent.deployer] += refund;
        emit Terminated(id, msg.sender, escrowBefore - refund, refund);
    }

    /// @dev True when the run time owed to Running replicas has reached the escrow.
    function _budgetSpent(bytes32 id, Deployment memory d) private view returns (bool) {
        uint256 owed;
        for (uint256 i; i < d.replicas; ++i) {
            Replica memory r = _replicas[id][i].load();
            if (r.status != L.R_RUNNING) continue;
            uint256 ran = block.timestamp - r.since;
            if (r.maxRunSeconds != 0 && ran > r.maxRunSeconds) ran = r.maxRunSeconds;
            owed += uint256(r.pricePerSecond) * ran;
        }
        return owed >= d.escrow;
    }

    /// @inheritdoc IDeploymentRegistry
    /// @dev Services only (a job's quorum counts completed replicas by index). Scaling down stops
    /// the highest indexes and pays their run time; scaling up adds Pending replicas.
    function scale(DeploymentIntent calldata intent, uint16 replicas) external {
        bytes32 id = _intentId(intent);
        (Deployment storage slot, Deployment memory d) = _activeDeployment(id);
        if (msg.sender != intent.deployer) revert NotDeployer(id, msg.sender, intent.deployer);
        if (d.kind != KIND_SERVICE) revert InvalidIntent("kind", "jobs cannot be scaled");
        IntentRules.checkReplicas(replicas);
        uint16 from = d.replicas;
        if (replicas > from) {
            for (uint256 i = from; i < replicas; ++i) {
                Replica storage rs = _replicas[id][i];
                Replica memory r = rs.load();
                if (r.status != L.R_PENDING) {
                    // a replica stopped by an earlier scale-down comes back Pending (next attempt)
                    r.nodeId = 0;
                    r.pricePerSecond = 0;
                    _moveReplica(id, i, rs, r, L.R_PENDING);
                }
            }
        } else {
            for (uint256 i = replicas; i < from; ++i) {
                Replica storage rs = _replicas[id][i];
                Replica memory r = rs.load();
                if (r.status == L.R_SCHEDULED || r.status == L.R_RUNNING) {
                    _unplace(id, d, r);
                    _moveReplica(id, i, rs, r, L.R_STOPPED);
                }
            }
        }
        d.replicas = uint8(replicas);
        emit Scaled(id, from, replicas);
        _advance(id, d);
        slot.store(d);
    }

    // ------------------------------------------------------------------ balances

    /// @inheritdoc IDeploymentRegistry
    function deposit(uint256 amount) external nonReentrant {
        if (amount == 0) revert InsufficientDeposit(msg.sender, 0, 1);
        _balances[msg.sender] += amount;
        emit Deposited(msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IDeploymentRegistry
    /// @dev `amount` 0 withdraws the whole balance.
    function withdraw(uint256 amount) external nonReentrant {
        uint256 balance = _balances[msg.sender];
        if (balance == 0) revert NothingToClaim(msg.sender);
        if (amount == 0) amount = balance;
        if (amount > balance) revert InsufficientDeposit(msg.sender, balance, amount);
        unchecked {
            _balances[msg.sender] = balance - amount;
        }
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IDeploymentRegistry
    function deploymentId(DeploymentIntent calldata intent) external view returns (bytes32) {
        return _intentId(intent);
    }

    /// @inheritdoc IDeploymentRegistry
    function attestationDigest(Attestation calldata attestation) external view returns (bytes32) {
        return _attestationDigest(attestation);
    }

    /// @inheritdoc IDeploymentRegistry
    function getDeployment(bytes32 id) external view returns (Deployment memory) {
        return _deployments[id];
    }

    /// @inheritdoc IDeploymentRegistry
    function getReplica(bytes32 id, uint16 replicaIndex) external view returns (Replica memory) {
        return _replicas[id][replicaIndex];
    }

    /// @inheritdoc IDeploymentRegistry
    function getReplicas(bytes32 id) external view returns (Replica[] memory list) {
        uint256 n = _deployments[id].replicas;
        list = new Replica[](n);
        for (uint256 i; i < n; ++i) {
            list[i] = _replicas[id][i];
        }
    }

    /// @inheritdoc IDeploymentRegistry
    function jobResult(bytes32 id) external view returns (bytes32) {
        return _votes.result[id];
    }

    /// @inheritdoc IDeploymentRegistry
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account];
    }

    /// @inheritdoc IERC5267
    function eip712Domain()
        external
        view
        returns (bytes1, string memory, string memory, uint256, address, bytes32, uint256[] memory)
    {
        return (hex"0f", "Hypha", "1", block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    // ------------------------------------------------------------------ internals

    /// @dev In a single call (`strict`) revert with `err`; in a batch, emit why the entry was left out.
    function _refuse(bool strict, bytes32 id, uint256 entry, bytes memory err) private {
        if (strict) {
            assembly ("memory-safe") {
                revert(add(err, 0x20), mload(err))
            }
        }
        emit BatchEntrySkipped(id, entry, bytes4(err));
    }

    /// @dev The only writer of a replica's status: checks the move, stamps `since`, writes the
    /// whole slot and emits the event (Pending -> Scheduled is ReplicaScheduled, which carries the
    /// node, attempt and price; every other move is ReplicaStatusChanged).
    function _moveReplica(bytes32 id, uint256 index, Replica storage rs, Replica memory r, uint8 to) private {
        uint8 from = r.status;
        if (!L.replicaMoveLegal(from, to)) revert IllegalTransition(id, uint16(index), from, to);
        r.status = to;
        r.since = uint64(block.timestamp);
        rs.store(r);
        if (to == L.R_SCHEDULED) emit ReplicaScheduled(id, uint16(index), r.nodeId, r.attempt, r.pricePerSecond);
        else emit ReplicaStatusChanged(id, uint16(index), r.nodeId, from, to);
    }

    /// @dev The only writer of a deployment's status (the caller stores the slot). One event tells
    /// each move: DeploymentStatusChanged, except the moves another event of the same call already
    /// tells (as IntentSubmitted tells None -> Requested): JobFinalized tells -> Completed, Terminated
    /// tells -> Terminated (src/chain/deploymentMoves.ts puts them back in one list).
    function _setStatus(bytes32 id, Deployment memory d, uint8 to) private {
        if (!L.deploymentMoveLegal(d.status, to)) revert DeploymentNotActive(id, d.status);
        if (to != L.D_COMPLETED && to != L.D_TERMINATED) emit DeploymentStatusChanged(id, d.status, to);
        d.status = to;
    }

    /// @dev A minimal EIP-712 domain (OpenZeppelin's EIP712 with constant name and version; its
    /// string-storage fallback is not needed here and the contract is near the code-size limit).
    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, HASHED_NAME, HASHED_VERSION, block.chainid, address(this)));
    }

    function _hashTypedDataV4(bytes32 structHash) private view returns (bytes32) {
        bytes32 domain = block.chainid == _cachedChainId ? _cachedDomainSeparator : _buildDomainSeparator();
        return MessageHashUtils.toTypedDataHash(domain, structHash);
    }

    function _activeDeployment(bytes32 id) private view returns (Deployment storage slot, Deployment memory d) {
        slot = _deployments[id];
        d = slot.load();
        if (d.status == L.D_NONE) revert UnknownDeployment(id);
        if (d.status > L.D_RUNNING) revert DeploymentNotActive(id, d.status);
    }

    /// @dev Moves Requested -> Scheduled -> Running as far as the counters allow (never back).
    function _advance(bytes32 id, Deployment memory d) private {
        if (d.status == L.D_REQUESTED && d.placed == d.replicas) _setStatus(id, d, L.D_SCHEDULED);
        if (d.kind == KIND_SERVICE) {
            if (d.status == L.D_SCHEDULED && d.running == d.replicas) _setStatus(id, d, L.D_RUNNING);
        } else if (d.status < L.D_RUNNING && d.running != 0) {
            _setStatus(id, d, L.D_RUNNING);
        }
    }

    function _isValidSignature(address signer, bytes32 digest, bytes calldata signature) private view returns (bool) {
        if (_recover(digest, signature) == signer) return true;
        return signer.code.length != 0 && SignatureChecker.isValidERC1271SignatureNowCalldata(signer, digest, signature);
    }

    /// @dev ecrecover of a 65-byte (r, s, v) or 64-byte EIP-2098 (r, vs) signature; address(0)
    /// for any malformed or malleable (high-s) signature. Same rules as OpenZeppelin's ECDSA,
    /// which also accepted 64-byte signatures before v5.
    function _recover(bytes32 digest, bytes calldata signature) private view returns (address signer) {
        assembly ("memory-safe") {
            let len := signature.length
            let r := calldataload(signature.offset)
            let s := calldataload(add(signature.offset, 0x20))
            let v := 0
            if eq(len, 65) {
                v := byte(0, calldataload(add(signature.offset, 0x40)))
            }
            if eq(len, 64) {
                v := add(shr(255, s), 27)
                s := and(s, 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff)
            }
            if and(lt(s, 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A1), or(eq(v, 27), eq(v, 28))) {
                let m := mload(0x40)
                mstore(m, digest)
                mstore(add(m, 0x20), v)
                mstore(add(m, 0x40), r)
                mstore(add(m, 0x60), s)
                mstore(0x00, 0)
                if staticcall(gas(), 1, m, 0x80, 0x00, 0x20) {
                    signer := mload(0x00)
                }
            }
        }
    }

    /// @dev EIP-712 digest of a calldata intent: the struct is 15 static words, hashed in place,
    /// then keccak256("\x19\x01" || domainSeparator || structHash) in the same scratch memory.
    function _intentId(DeploymentIntent calldata intent) private view returns (bytes32 id) {
        bytes32 typeHash = INTENT_TYPEHASH;
        bytes32 domain = block.chainid == _cachedChainId ? _cachedDomainSeparator : _buildDomainSeparator();
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, typeHash)
            calldatacopy(add(p, 0x20), intent, 0x1e0)
            let structHash := keccak256(p, 0x200)
            mstore(p, hex"1901")
            mstore(add(p, 0x02), domain)
            mstore(add(p, 0x22), structHash)
            id := keccak256(p, 0x42)
        }
    }

    /// @dev EIP-712 digest of a calldata attestation: 8 static words, hashed in place.
    function _attestationDigest(Attestation calldata a) private view returns (bytes32) {
        bytes32 typeHash = ATTESTATION_TYPEHASH;
        bytes32 structHash;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, typeHash)
            calldatacopy(add(p, 0x20), a, 0x100)
            structHash := keccak256(p, 0x120)
        }
        return _hashTypedDataV4(structHash);
    }
}
