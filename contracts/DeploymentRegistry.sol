// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IDeploymentRegistry} from "./interfaces/IDeploymentRegistry.sol";
import {INodeRegistry} from "./interfaces/INodeRegistry.sol";

/// @title DeploymentRegistry
/// @notice Records deployers' signed intents, the orchestrator's replica placements, node agents'
/// signed attestations, job results and the escrow that pays nodes (pull payments).
/// @dev One packed slot per deployment (`Deployment`) and one per replica. The intent is committed by
/// its id (its EIP-712 digest) and emitted in IntentSubmitted; calls that need its fields take it
/// as calldata and recompute the id. Lifecycle rules:
/// - Deployment: Requested -> Scheduled (every replica placed) -> Running (services: every replica
///   attested Running; jobs: the first replica attested Running or Completed, so a job may go
///   Requested/Scheduled -> Running directly) -> Completed (jobs: a quorum agreed on an output hash)
///   -> Terminated; or -> Failed (a replica failed with no retries left). Requested, Scheduled and
///   Running are never re-entered: a Running service whose replica fails stays Running while the
///   replica heals (replica statuses show it).
/// - Replica: Pending -> Scheduled -> Running -> Stopped; jobs: Scheduled/Running -> Completed;
///   Scheduled/Running -> Failed/Tampered -> Pending while retries remain (new attempt on next
///   placement). Pending replicas of a terminated deployment stay Pending (never ran).
/// - Payment: a replica leaving Running is paid price-at-placement x seconds since it was attested
///   Running; a job replica that attests Completed is paid from its placement. Capped by escrow.
/// Reentrancy: the guard covers deposit, withdraw and attest (slashing moves stake). submitIntent
/// follows checks-effects-interactions with one token pull last (the token is fixed at construction)
/// and only a staticcall before it (ERC-1271), so it is left unguarded to save ~400 gas; the others
/// only call the trusted NodeRegistry and credit internal balances.
contract DeploymentRegistry is IDeploymentRegistry, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Role of the orchestrator (watcher) accounts: schedule, reportLost.
    bytes32 public constant ORCHESTRATOR_ROLE = keccak256("ORCHESTRATOR_ROLE");
    /// @notice EIP-712 type hash of DeploymentIntent (mirrors src/chain/eip712.ts).
    bytes32 public constant INTENT_TYPEHASH = keccak256(
        "DeploymentIntent(address deployer,bytes32 specHash,bytes32 imageRoot,uint16 replicas,uint32 cpuMillis,uint32 memoryMiB,uint32 diskMiB,uint96 maxPricePerSecond,uint96 budget,uint64 nonce,uint64 deadline,uint8 kind,uint8 quorum,uint8 maxRetries)"
    );
    /// @notice EIP-712 type hash of Attestation (mirrors src/chain/eip712.ts).
    bytes32 public constant ATTESTATION_TYPEHASH = keccak256(
        "Attestation(bytes32 deploymentId,uint16 replicaIndex,uint32 nodeId,uint16 attempt,uint8 status,bytes32 measurement,bytes32 outputHash,uint64 timestamp)"
    );
    /// @notice Most replicas one deployment may have (bounds every loop over replicas).
    uint16 public constant MAX_REPLICAS = 255;
    /// @notice `reason` passed to NodeRegistry.slash.
    bytes32 public constant REASON_TAMPERED = "tampered";
    bytes32 public constant REASON_JOB_DISSENT = "job-dissent";

    uint8 private constant D_NONE = 0;
    uint8 private constant D_REQUESTED = 1;
    uint8 private constant D_SCHEDULED = 2;
    uint8 private constant D_RUNNING = 3;
    uint8 private constant D_COMPLETED = 4;
    uint8 private constant D_TERMINATED = 5;
    uint8 private constant D_FAILED = 6;

    uint8 private constant R_PENDING = 0;
    uint8 private constant R_SCHEDULED = 1;
    uint8 private constant R_RUNNING = 2;
    uint8 private constant R_COMPLETED = 3;
    uint8 private constant R_FAILED = 4;
    uint8 private constant R_TAMPERED = 5;
    uint8 private constant R_STOPPED = 6;

    uint8 private constant KIND_SERVICE = 0;
    uint8 private constant KIND_JOB = 1;

    /// @notice The payment and stake token.
    IERC20 public immutable token;
    /// @notice The node registry this contract reserves capacity in.
    INodeRegistry public immutable nodes;

    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant HASHED_NAME = keccak256("Hypha");
    bytes32 private constant HASHED_VERSION = keccak256("1");
    bytes32 private immutable _cachedDomainSeparator;
    uint256 private immutable _cachedChainId;

    mapping(bytes32 id => Deployment) private _deployments;
    mapping(bytes32 id => mapping(uint256 index => Replica)) private _replicas;
    mapping(address account => uint256) private _balances;
    mapping(bytes32 id => bytes32) private _jobResults;
    mapping(bytes32 id => mapping(uint256 index => bytes32)) private _outputs;
    mapping(bytes32 id => mapping(bytes32 outputHash => uint256)) private _votes;

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
        return _submit(intent, signature);
    }

    /// @inheritdoc IDeploymentRegistry
    function submitIntents(DeploymentIntent[] calldata intents, bytes[] calldata signatures)
        external
        returns (bytes32[] memory ids)
    {
        if (intents.length != signatures.length) revert LengthMismatch(intents.length, signatures.length);
        ids = new bytes32[](intents.length);
        for (uint256 i; i < intents.length; ++i) {
            ids[i] = _submit(intents[i], signatures[i]);
        }
    }

    function _submit(DeploymentIntent calldata intent, bytes calldata signature) private returns (bytes32 id) {
        (uint256 packed, bool bad, address deployer, uint96 budget, uint64 deadline) = _checkAndPack(intent);
        if (bad) _explainInvalid(intent);
        if (block.timestamp > deadline) revert IntentExpired(deadline, uint64(block.timestamp));
        id = _intentId(intent);
        Deployment storage slot = _deployments[id];
        bool exists;
        assembly ("memory-safe") {
            exists := iszero(iszero(sload(slot.slot))) // status >= Requested in every stored deployment
        }
        if (exists) revert AlreadySubmitted(id);
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

    /// @dev emit IntentSubmitted(id, deployer, msg.sender, intent, signature), encoded straight
    /// from calldata (the ABI encoding of a static struct is its calldata words, already checked
    /// clean by _checkAndPack).
    function _emitIntentSubmitted(bytes32 id, address deployer, DeploymentIntent calldata intent, bytes calldata signature) private {
        bytes32 topic = IntentSubmitted.selector;
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, intent, 0x1c0)
            mstore(add(p, 0x1c0), 0x1e0)
            let len := signature.length
            mstore(add(p, 0x1e0), len)
            let padded := and(add(len, 31), not(31))
            if padded { mstore(add(p, add(0x1e0, padded)), 0) }
            calldatacopy(add(p, 0x200), signature.offset, len)
            log4(p, add(0x200, padded), topic, id, deployer, caller())
        }
    }

    /// @dev Reads the intent's words once and returns the packed Deployment slot (field order as
    /// declared: status, kind, replicas, placed, running, quorum, retriesLeft, escrow, cpuMillis,
    /// memoryMiB, diskMiB) and whether any check fails (the cold path _explainInvalid says which).
    function _checkAndPack(DeploymentIntent calldata intent)
        private
        pure
        returns (uint256 packed, bool bad, address deployer, uint96 budget, uint64 deadline)
    {
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
                    or(or(shr(32, calldataload(add(intent, 0xc0))), shr(96, calldataload(add(intent, 0xe0)))), or(shr(96, budget), shr(64, calldataload(add(intent, 0x120))))),
                    or(or(shr(64, deadline), shr(8, kind)), or(shr(8, quorum), shr(8, calldataload(add(intent, 0x1a0)))))
                )
            )
            // service: quorum 0; job: 1 <= quorum <= replicas; nothing else
            let kindOk := or(
                and(iszero(kind), iszero(quorum)),
                and(eq(kind, 1), and(iszero(iszero(quorum)), iszero(gt(quorum, replicas))))
            )
            // replicas, cpu, memory, budget all non-zero (no overflow: each fits its type when clean)
            bad := or(
                or(iszero(iszero(dirty)), iszero(kindOk)),
                or(or(iszero(deployer), iszero(calldataload(add(intent, 0x20)))), or(iszero(mul(mul(replicas, cpu), mul(mem, budget))), gt(replicas, 255)))
            )
            packed := or(
                or(or(1, shl(8, kind)), or(shl(16, replicas), shl(40, quorum))),
                or(or(shl(48, calldataload(add(intent, 0x1a0))), shl(56, budget)), or(or(shl(152, cpu), shl(184, mem)), shl(216, calldataload(add(intent, 0xc0)))))
            )
        }
    }

    /// @dev The set of failed checks, one bit each (bit order = _explainInvalid order).
    function _failures(DeploymentIntent calldata intent) private pure returns (uint256 failures) {
        assembly ("memory-safe") {
            let deployer := calldataload(intent)
            let budget := calldataload(add(intent, 0x100))
            let deadline := calldataload(add(intent, 0x140))
            let replicas := calldataload(add(intent, 0x60))
            let kind := calldataload(add(intent, 0x160))
            let quorum := calldataload(add(intent, 0x180))
            // bit 0: a field exceeds its declared type (an ABI decoder would reject it)
            failures := iszero(iszero(or(
                or(or(shr(160, deployer), shr(16, replicas)), or(shr(32, calldataload(add(intent, 0x80))), shr(32, calldataload(add(intent, 0xa0))))),
                or(
                    or(or(shr(32, calldataload(add(intent, 0xc0))), shr(96, calldataload(add(intent, 0xe0)))), or(shr(96, budget), shr(64, calldataload(add(intent, 0x120))))),
                    or(or(shr(64, deadline), shr(8, kind)), or(shr(8, quorum), shr(8, calldataload(add(intent, 0x1a0)))))
                )
            )))
            let isJob := eq(kind, 1)
            failures := or(
                or(
                    or(failures, shl(1, iszero(deployer))),
                    or(shl(2, iszero(calldataload(add(intent, 0x20)))), shl(3, iszero(replicas)))
                ),
                or(
                    or(
                        or(shl(4, gt(replicas, 255)), shl(5, iszero(calldataload(add(intent, 0x80))))),
                        or(shl(6, iszero(calldataload(add(intent, 0xa0)))), shl(7, iszero(budget)))
                    ),
                    or(
                        or(shl(8, and(iszero(kind), iszero(iszero(quorum)))), shl(9, and(isJob, iszero(quorum)))),
                        or(shl(10, and(isJob, gt(quorum, replicas))), shl(11, gt(kind, 1)))
                    )
                )
            )
        }
    }

    /// @dev Reverts InvalidIntent for the first failed check (cold path: keeps strings off the hot one).
    function _explainInvalid(DeploymentIntent calldata intent) private pure {
        uint256 failures = _failures(intent);
        if (failures & 1 != 0) _invalid("intent", "a field exceeds its type");
        if (failures & 2 != 0) _invalid("deployer", "zero address");
        if (failures & 4 != 0) _invalid("specHash", "zero");
        if (failures & 8 != 0) _invalidZero("replicas");
        if (failures & 16 != 0) _invalid("replicas", "more than 255");
        if (failures & 32 != 0) _invalidZero("cpuMillis");
        if (failures & 64 != 0) _invalidZero("memoryMiB");
        if (failures & 128 != 0) _invalidZero("budget");
        if (failures & 256 != 0) _invalid("quorum", "must be 0 for a service");
        if (failures & 512 != 0) _invalid("quorum", "must be at least 1 for a job");
        if (failures & 1024 != 0) _invalid("quorum", "more than replicas");
        _invalid("kind", "unknown (0 service, 1 job)");
    }

    // ------------------------------------------------------------------ placement

    /// @inheritdoc IDeploymentRegistry
    function schedule(DeploymentIntent calldata intent, Placement[] calldata placements)
        external
        onlyRole(ORCHESTRATOR_ROLE)
    {
        _schedule(intent, placements);
    }

    /// @inheritdoc IDeploymentRegistry
    function scheduleMany(DeploymentIntent[] calldata intents, Placement[][] calldata placements)
        external
        onlyRole(ORCHESTRATOR_ROLE)
    {
        if (intents.length != placements.length) revert LengthMismatch(intents.length, placements.length);
        for (uint256 i; i < intents.length; ++i) {
            _schedule(intents[i], placements[i]);
        }
    }

    function _schedule(DeploymentIntent calldata intent, Placement[] calldata placements) private {
        bytes32 id = _intentId(intent);
        Deployment memory d = _activeDeployment(id);
        Resources memory res = Resources(d.cpuMillis, d.memoryMiB, d.diskMiB);
        uint96 maxPrice = intent.maxPricePerSecond;
        for (uint256 i; i < placements.length; ++i) {
            uint16 index = placements[i].replicaIndex;
            uint32 nodeId = placements[i].nodeId;
            if (index >= d.replicas) revert BadReplicaIndex(id, index, d.replicas);
            Replica memory r = _replicas[id][index];
            if (r.status != R_PENDING) revert ReplicaNotPending(id, index, r.status);
            uint96 price = nodes.reserve(nodeId, res);
            if (price > maxPrice) revert PriceTooHigh(nodeId, price, maxPrice);
            uint16 attempt = r.attempt + 1;
            _putReplica(id, index, nodeId, R_SCHEDULED, attempt, price);
            unchecked {
                d.placed += 1; // placed <= replicas <= 255: only Pending replicas are placed
            }
            emit ReplicaScheduled(id, index, nodeId, attempt, price);
        }
        _advance(id, d);
        _putDeployment(id, d);
    }

    /// @inheritdoc IDeploymentRegistry
    function reportLost(DeploymentIntent calldata intent, uint16 replicaIndex) external onlyRole(ORCHESTRATOR_ROLE) {
        bytes32 id = _intentId(intent);
        Deployment memory d = _activeDeployment(id);
        if (replicaIndex >= d.replicas) revert BadReplicaIndex(id, replicaIndex, d.replicas);
        Replica memory r = _replicas[id][replicaIndex];
        if (r.status != R_SCHEDULED && r.status != R_RUNNING) revert IllegalTransition(id, replicaIndex, r.status, R_FAILED);
        _fail(id, d, replicaIndex, r, R_FAILED);
        _putDeployment(id, d);
    }

    // ------------------------------------------------------------------ attestations

    /// @inheritdoc IDeploymentRegistry
    function attest(Attestation calldata attestation, bytes calldata signature) external nonReentrant {
        _attest(attestation, signature);
    }

    /// @inheritdoc IDeploymentRegistry
    function attestMany(Attestation[] calldata attestations, bytes[] calldata signatures) external nonReentrant {
        if (attestations.length != signatures.length) revert LengthMismatch(attestations.length, signatures.length);
        for (uint256 i; i < attestations.length; ++i) {
            _attest(attestations[i], signatures[i]);
        }
    }

    function _attest(Attestation calldata a, bytes calldata signature) private {
        bytes32 id = a.deploymentId;
        uint16 index = a.replicaIndex;
        Deployment memory d = _deployments[id];
        if (d.status == D_NONE) revert UnknownDeployment(id);
        if (d.status > D_COMPLETED) revert DeploymentNotActive(id, d.status);
        if (index >= d.replicas) revert BadReplicaIndex(id, index, d.replicas);
        Replica memory r = _replicas[id][index];
        if (a.nodeId != r.nodeId) revert WrongNode(id, index, a.nodeId, r.nodeId);
        if (a.attempt != r.attempt) revert StaleAttempt(id, index, a.attempt, r.attempt);
        uint8 attested = a.status;
        uint8 to = attested < 4 ? attested + R_RUNNING : type(uint8).max;
        bool placedNow = r.status == R_SCHEDULED || r.status == R_RUNNING;
        if (
            !placedNow || to == type(uint8).max || (to == R_RUNNING && r.status != R_SCHEDULED)
                || (to == R_COMPLETED && d.kind != KIND_JOB)
        ) revert IllegalTransition(id, index, r.status, to);
        _emitAttested(a, _checkAttester(r.nodeId, _attestationDigest(a), signature));
        if (to == R_RUNNING) {
            _putReplica(id, index, r.nodeId, R_RUNNING, r.attempt, r.pricePerSecond);
            unchecked {
                d.running += 1;
            }
            _replicaStatusChanged(id, index, r.nodeId, R_SCHEDULED, R_RUNNING);
            _advance(id, d);
        } else if (to == R_COMPLETED) {
            _complete(id, d, index, r, a.outputHash);
        } else {
            _fail(id, d, index, r, to);
        }
        _putDeployment(id, d);
    }

    function _emitAttested(Attestation calldata a, address signer) private {
        emit Attested(a.deploymentId, a.replicaIndex, a.nodeId, a.attempt, a.status, a.measurement, a.outputHash, signer, a.timestamp);
    }

    /// @dev Returns the agent when it signed `digest`, else reverts InvalidAttester.
    function _checkAttester(uint32 nodeId, bytes32 digest, bytes calldata signature) private view returns (address agent) {
        agent = nodes.agentOf(nodeId);
        address recovered = _recover(digest, signature);
        if (recovered == agent) return agent;
        if (agent.code.length != 0 && SignatureChecker.isValidERC1271SignatureNowCalldata(agent, digest, signature)) return agent;
        revert InvalidAttester(nodeId, recovered, agent);
    }

    /// @dev A job replica finished: pay and release it, count its vote, finalize on quorum, slash dissent.
    function _complete(bytes32 id, Deployment memory d, uint16 index, Replica memory r, bytes32 outputHash) private {
        _releaseAndPay(id, d, r, true);
        if (r.status == R_SCHEDULED) {
            unchecked {
                d.running += 1;
            }
        }
        _replicaStatusChanged(id, index, r.nodeId, r.status, R_COMPLETED);
        _putReplica(id, index, r.nodeId, R_COMPLETED, r.attempt, r.pricePerSecond);
        _outputs[id][index] = outputHash;
        _advance(id, d);
        bytes32 result = _jobResults[id];
        if (result == bytes32(0)) {
            uint256 votes = ++_votes[id][outputHash];
            if (votes >= d.quorum) {
                _jobResults[id] = outputHash;
                emit JobFinalized(id, outputHash, uint8(votes));
                _setStatus(id, d, D_COMPLETED);
                for (uint256 j; j < d.replicas; ++j) {
                    if (j == index) continue;
                    Replica storage other = _replicas[id][j];
                    if (other.status == R_COMPLETED && _outputs[id][j] != outputHash) {
                        _slashInto(d, other.nodeId, REASON_JOB_DISSENT);
                    }
                }
            }
        } else if (outputHash != result) {
            _slashInto(d, r.nodeId, REASON_JOB_DISSENT);
        }
    }

    /// @dev A placed replica failed (attested Failed/Tampered, or lost): pay and release it, slash if
    /// Tampered, then back to Pending while retries remain, else the deployment Fails.
    function _fail(bytes32 id, Deployment memory d, uint16 index, Replica memory r, uint8 to) private {
        _releaseAndPay(id, d, r, false);
        unchecked {
            if (r.status == R_RUNNING) d.running -= 1;
            d.placed -= 1;
        }
        _replicaStatusChanged(id, index, r.nodeId, r.status, to);
        // One incident, one slash: a jailed node's further Tampered reports (every replica on a
        // corrupted image tree reports it) await the admin, who unjails after the incident.
        if (to == R_TAMPERED && !nodes.isJailed(r.nodeId)) _slashInto(d, r.nodeId, REASON_TAMPERED);
        bool active = d.status < D_COMPLETED;
        if (active && d.retriesLeft > 0) {
            unchecked {
                d.retriesLeft -= 1;
            }
            _putReplica(id, index, 0, R_PENDING, r.attempt, 0);
            _replicaStatusChanged(id, index, 0, to, R_PENDING);
        } else {
            _putReplica(id, index, r.nodeId, to, r.attempt, r.pricePerSecond);
            if (active) _setStatus(id, d, D_FAILED);
        }
    }

    /// @dev One revert site for InvalidIntent keeps the encoder out of every check (code size).
    function _invalid(string memory field, string memory reason) private pure {
        revert InvalidIntent(field, reason);
    }

    function _invalidZero(string memory field) private pure {
        _invalid(field, "must be at least 1");
    }

    function _checkReplicas(uint16 replicas) private pure {
        if (replicas == 0) _invalidZero("replicas");
        if (replicas > MAX_REPLICAS) _invalid("replicas", "more than 255");
    }

    /// @dev Writes a whole Replica in one SSTORE (field order as declared: nodeId, status, attempt,
    /// pricePerSecond, since), with `since` = now.
    function _putReplica(bytes32 id, uint256 index, uint32 nodeId, uint8 status, uint16 attempt, uint96 price) private {
        Replica storage slot = _replicas[id][index];
        uint256 packed = uint256(nodeId) | (uint256(status) << 32) | (uint256(attempt) << 40) | (uint256(price) << 56)
            | (block.timestamp << 152);
        assembly ("memory-safe") {
            sstore(slot.slot, packed)
        }
    }

    /// @dev Writes a whole Deployment in one SSTORE (field order as declared, as in _checkAndPack);
    /// Solidity's struct copy would read and write each of its 11 fields separately.
    function _putDeployment(bytes32 id, Deployment memory d) private {
        Deployment storage slot = _deployments[id];
        uint256 packed = uint256(d.status) | (uint256(d.kind) << 8) | (uint256(d.replicas) << 16)
            | (uint256(d.placed) << 24) | (uint256(d.running) << 32) | (uint256(d.quorum) << 40)
            | (uint256(d.retriesLeft) << 48) | (uint256(d.escrow) << 56) | (uint256(d.cpuMillis) << 152)
            | (uint256(d.memoryMiB) << 184) | (uint256(d.diskMiB) << 216);
        assembly ("memory-safe") {
            sstore(slot.slot, packed)
        }
    }

    function _replicaStatusChanged(bytes32 id, uint256 index, uint32 nodeId, uint8 from, uint8 to) private {
        emit ReplicaStatusChanged(id, uint16(index), nodeId, from, to);
    }

    function _slashInto(Deployment memory d, uint32 nodeId, bytes32 reason) private {
        // Slashed stake is paid to this contract and added to the deployment's escrow, which is
        // refunded to the harmed deployer at terminate (or pays honest nodes' run time first).
        d.escrow += nodes.slash(nodeId, address(this), reason);
    }

    /// @dev Release the replica's capacity and credit its operator for run time (from Running, or
    /// from placement when `fromPlacement`), capped by escrow. Returns the amount credited.
    function _releaseAndPay(bytes32 id, Deployment memory d, Replica memory r, bool fromPlacement) private returns (uint96 pay) {
        address operator = nodes.release(r.nodeId, Resources(d.cpuMillis, d.memoryMiB, d.diskMiB));
        if (r.status != R_RUNNING && !fromPlacement) return 0;
        uint256 owed = uint256(r.pricePerSecond) * (block.timestamp - r.since);
        pay = owed > d.escrow ? d.escrow : uint96(owed);
        if (pay == 0) return 0;
        unchecked {
            d.escrow -= pay;
        }
        _balances[operator] += pay;
        emit PaymentCredited(id, r.nodeId, operator, pay);
    }

    // ------------------------------------------------------------------ deployer

    /// @inheritdoc IDeploymentRegistry
    function terminate(DeploymentIntent calldata intent) external {
        _terminate(intent);
    }

    /// @inheritdoc IDeploymentRegistry
    function terminateMany(DeploymentIntent[] calldata intents) external {
        for (uint256 i; i < intents.length; ++i) {
            _terminate(intents[i]);
        }
    }

    function _terminate(DeploymentIntent calldata intent) private {
        bytes32 id = _intentId(intent);
        Deployment memory d = _deployments[id];
        if (d.status == D_NONE) revert UnknownDeployment(id);
        if (d.status == D_TERMINATED) revert NotTerminable(id, d.status);
        if (msg.sender != intent.deployer && d.status != D_COMPLETED && d.status != D_FAILED && !_budgetSpent(id, d)) {
            revert NotTerminable(id, d.status);
        }
        uint96 paid;
        for (uint256 i; i < d.replicas; ++i) {
            Replica memory r = _replicas[id][i];
            if (r.status == R_SCHEDULED || r.status == R_RUNNING) paid += _stop(id, d, i, r);
        }
        uint96 refund = d.escrow;
        d.escrow = 0;
        _setStatus(id, d, D_TERMINATED);
        _putDeployment(id, d);
        if (refund != 0) _balances[intent.deployer] += refund;
        emit Terminated(id, msg.sender, paid, refund);
    }

    /// @dev Stop a placed replica: pay its run time, release its capacity, update the counters.
    function _stop(bytes32 id, Deployment memory d, uint256 i, Replica memory r) private returns (uint96 pay) {
        pay = _releaseAndPay(id, d, r, false);
        unchecked {
            if (r.status == R_RUNNING) d.running -= 1;
            d.placed -= 1;
        }
        _putReplica(id, i, r.nodeId, R_STOPPED, r.attempt, r.pricePerSecond);
        _replicaStatusChanged(id, i, r.nodeId, r.status, R_STOPPED);
    }

    /// @dev True when the run time owed to Running replicas has reached the escrow.
    function _budgetSpent(bytes32 id, Deployment memory d) private view returns (bool) {
        uint256 owed;
        for (uint256 i; i < d.replicas; ++i) {
            Replica memory r = _replicas[id][i];
            if (r.status == R_RUNNING) owed += uint256(r.pricePerSecond) * (block.timestamp - r.since);
        }
        return owed >= d.escrow;
    }

    /// @inheritdoc IDeploymentRegistry
    /// @dev Services only (a job's quorum counts completed replicas by index). Scaling down stops
    /// the highest indexes and pays their run time; scaling up adds Pending replicas.
    function scale(DeploymentIntent calldata intent, uint16 replicas) external {
        bytes32 id = _intentId(intent);
        Deployment memory d = _activeDeployment(id);
        if (msg.sender != intent.deployer) revert NotDeployer(id, msg.sender, intent.deployer);
        if (d.kind != KIND_SERVICE) _invalid("kind", "jobs cannot be scaled");
        _checkReplicas(replicas);
        uint16 from = d.replicas;
        if (replicas > from) {
            for (uint256 i = from; i < replicas; ++i) {
                Replica memory r = _replicas[id][i];
                if (r.status != R_PENDING) {
                    // a replica stopped by an earlier scale-down comes back Pending (next attempt)
                    _putReplica(id, i, 0, R_PENDING, r.attempt, 0);
                    _replicaStatusChanged(id, i, 0, r.status, R_PENDING);
                }
            }
        } else {
            for (uint256 i = replicas; i < from; ++i) {
                Replica memory r = _replicas[id][i];
                if (r.status == R_SCHEDULED || r.status == R_RUNNING) _stop(id, d, i, r);
            }
        }
        d.replicas = uint8(replicas);
        emit Scaled(id, from, replicas);
        _advance(id, d);
        _putDeployment(id, d);
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
        return _jobResults[id];
    }

    /// @inheritdoc IDeploymentRegistry
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account];
    }

    // ------------------------------------------------------------------ internals

    /// @dev A minimal EIP-712 domain (OpenZeppelin's EIP712 with constant name and version; its
    /// string-storage fallback is not needed here and the contract is at the code-size limit).
    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, HASHED_NAME, HASHED_VERSION, block.chainid, address(this)));
    }

    function _hashTypedDataV4(bytes32 structHash) private view returns (bytes32) {
        bytes32 domain = block.chainid == _cachedChainId ? _cachedDomainSeparator : _buildDomainSeparator();
        return MessageHashUtils.toTypedDataHash(domain, structHash);
    }

    function _activeDeployment(bytes32 id) private view returns (Deployment memory d) {
        d = _deployments[id];
        if (d.status == D_NONE) revert UnknownDeployment(id);
        if (d.status > D_RUNNING) revert DeploymentNotActive(id, d.status);
    }

    /// @dev Moves Requested -> Scheduled -> Running as far as the counters allow (never back).
    function _advance(bytes32 id, Deployment memory d) private {
        if (d.status == D_REQUESTED && d.placed == d.replicas) _setStatus(id, d, D_SCHEDULED);
        if (d.kind == KIND_SERVICE) {
            if (d.status == D_SCHEDULED && d.running == d.replicas) _setStatus(id, d, D_RUNNING);
        } else if (d.status < D_RUNNING && d.running != 0) {
            _setStatus(id, d, D_RUNNING);
        }
    }

    function _setStatus(bytes32 id, Deployment memory d, uint8 to) private {
        emit DeploymentStatusChanged(id, d.status, to);
        d.status = to;
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
            if eq(len, 65) { v := byte(0, calldataload(add(signature.offset, 0x40))) }
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
                if staticcall(gas(), 1, m, 0x80, 0x00, 0x20) { signer := mload(0x00) }
            }
        }
    }

    /// @dev EIP-712 digest of a calldata intent: the struct is 14 static words, hashed in place,
    /// then keccak256("\x19\x01" || domainSeparator || structHash) in the same scratch memory.
    function _intentId(DeploymentIntent calldata intent) private view returns (bytes32 id) {
        bytes32 typeHash = INTENT_TYPEHASH;
        bytes32 domain = block.chainid == _cachedChainId ? _cachedDomainSeparator : _buildDomainSeparator();
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, typeHash)
            calldatacopy(add(p, 0x20), intent, 0x1c0)
            let structHash := keccak256(p, 0x1e0)
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
