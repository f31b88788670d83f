// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {INodeRegistry} from "./interfaces/INodeRegistry.sol";

/// @title NodeRegistry
/// @notice Node operators stake, register capacity, an agent key, an endpoint, a price and an agent
/// measurement. The DeploymentRegistry (DEPLOYMENTS_ROLE) reserves and releases capacity and
/// slashes proven faults. The admin approves agent measurements and unjails nodes.
/// @dev Storage per node: slot 0 holds everything a placement reads and writes (free capacity,
/// placed count, price, flags), so `reserve` touches one hot slot plus the measurement check.
contract NodeRegistry is INodeRegistry, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Role of the DeploymentRegistry: reserve, release, slash.
    bytes32 public constant DEPLOYMENTS_ROLE = keccak256("DEPLOYMENTS_ROLE");

    uint8 private constant REGISTERED = 1;
    uint8 private constant UNBONDING = 2;
    uint8 private constant JAILED = 4;
    uint8 private constant EXITED = 8;
    /// @dev Slashed below `minStake`: not placed until topped up (addStake clears it).
    uint8 private constant UNDERSTAKED = 16;

    struct NodeData {
        // slot 0: placement-hot
        uint32 freeCpuMillis;
        uint32 freeMemoryMiB;
        uint32 freeDiskMiB;
        uint16 freeSlots;
        uint16 placed;
        uint96 pricePerSecond;
        uint8 flags;
        // slot 1
        address operator;
        uint64 unbondingSince;
        // slot 2
        address agent;
        uint32 cpuMillis;
        uint32 memoryMiB;
        // slot 3
        uint32 diskMiB;
        uint16 slots;
        uint96 stake;
        // slot 4, 5
        bytes32 measurement;
        string endpoint;
    }

    /// @notice The stake token.
    IERC20 public immutable token;
    /// @inheritdoc INodeRegistry
    uint96 public immutable minStake;
    /// @inheritdoc INodeRegistry
    uint64 public immutable unbondingDelay;
    /// @inheritdoc INodeRegistry
    uint16 public immutable slashBps;
    /// @inheritdoc INodeRegistry
    address public immutable treasury;

    mapping(uint32 nodeId => NodeData) private _nodes;
    /// @inheritdoc INodeRegistry
    uint32 public nodeCount;
    /// @inheritdoc INodeRegistry
    mapping(bytes32 measurement => bool) public measurementApproved;
    /// @inheritdoc INodeRegistry
    mapping(address agent => uint32 nodeId) public nodeOfAgent;

    /// @param token_ stake token
    /// @param admin DEFAULT_ADMIN_ROLE holder (measurements, unjail, granting DEPLOYMENTS_ROLE)
    /// @param minStake_ least stake to register
    /// @param unbondingDelay_ seconds between beginUnbonding and withdraw
    /// @param slashBps_ share of the stake slashed per incident, in basis points (<= 10000)
    /// @param treasury_ receives slashed tokens that have no harmed party
    constructor(IERC20 token_, address admin, uint96 minStake_, uint64 unbondingDelay_, uint16 slashBps_, address treasury_) {
        if (address(token_) == address(0)) revert ZeroAddress("token");
        if (admin == address(0)) revert ZeroAddress("admin");
        if (treasury_ == address(0)) revert ZeroAddress("treasury");
        if (slashBps_ > 10_000) revert InvalidParameter("slashBps", "above 10000");
        token = token_;
        minStake = minStake_;
        unbondingDelay = unbondingDelay_;
        slashBps = slashBps_;
        treasury = treasury_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ------------------------------------------------------------------ operators

    /// @inheritdoc INodeRegistry
    function register(Registration calldata registration, uint96 stake) external nonReentrant returns (uint32 nodeId) {
        return _register(registration, stake);
    }

    /// @inheritdoc INodeRegistry
    function registerWithPermit(
        Registration calldata registration,
        uint96 stake,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint32 nodeId) {
        // A front-run permit (same signature used first by someone else) still leaves the allowance set.
        try IERC20Permit(address(token)).permit(msg.sender, address(this), stake, permitDeadline, v, r, s) {} catch {}
        return _register(registration, stake);
    }

    function _register(Registration calldata reg, uint96 stake) private returns (uint32 nodeId) {
        if (reg.agent == address(0)) revert ZeroAddress("agent");
        _checkCapacity(reg.cpuMillis, reg.memoryMiB, reg.diskMiB, reg.slots);
        if (bytes(reg.endpoint).length == 0) revert EmptyEndpoint();
        if (stake < minStake || stake == 0) revert StakeTooLow(stake, minStake);
        nodeId = ++nodeCount;
        _bindAgent(reg.agent, nodeId);
        NodeData storage n = _nodes[nodeId];
        n.freeCpuMillis = reg.cpuMillis;
        n.freeMemoryMiB = reg.memoryMiB;
        n.freeDiskMiB = reg.diskMiB;
        n.freeSlots = reg.slots;
        n.pricePerSecond = reg.pricePerSecond;
        n.flags = REGISTERED;
        n.operator = msg.sender;
        n.agent = reg.agent;
        n.cpuMillis = reg.cpuMillis;
        n.memoryMiB = reg.memoryMiB;
        n.diskMiB = reg.diskMiB;
        n.slots = reg.slots;
        n.stake = stake;
        n.measurement = reg.measurement;
        n.endpoint = reg.endpoint;
        emit NodeRegistered(nodeId, msg.sender, reg.agent, reg, stake);
        token.safeTransferFrom(msg.sender, address(this), stake);
    }

    function _checkCapacity(uint32 cpuMillis, uint32 memoryMiB, uint32 diskMiB, uint16 slots) private pure {
        if (cpuMillis == 0) revert ZeroCapacity("cpuMillis");
        if (memoryMiB == 0) revert ZeroCapacity("memoryMiB");
        if (diskMiB == 0) revert ZeroCapacity("diskMiB");
        if (slots == 0) revert ZeroCapacity("slots");
    }

    /// @inheritdoc INodeRegistry
    function updateCapacity(uint32 nodeId, uint32 cpuMillis, uint32 memoryMiB, uint32 diskMiB, uint16 slots) external {
        NodeData storage n = _operatorNode(nodeId);
        _checkCapacity(cpuMillis, memoryMiB, diskMiB, slots);
        uint32 usedCpu = n.cpuMillis - n.freeCpuMillis;
        uint32 usedMem = n.memoryMiB - n.freeMemoryMiB;
        uint32 usedDisk = n.diskMiB - n.freeDiskMiB;
        uint16 usedSlots = n.slots - n.freeSlots;
        if (cpuMillis < usedCpu) revert CapacityBelowReserved(nodeId, "cpuMillis", usedCpu, cpuMillis);
        if (memoryMiB < usedMem) revert CapacityBelowReserved(nodeId, "memoryMiB", usedMem, memoryMiB);
        if (diskMiB < usedDisk) revert CapacityBelowReserved(nodeId, "diskMiB", usedDisk, diskMiB);
        if (slots < usedSlots) revert CapacityBelowReserved(nodeId, "slots", usedSlots, slots);
        n.cpuMillis = cpuMillis;
        n.memoryMiB = memoryMiB;
        n.diskMiB = diskMiB;
        n.slots = slots;
        n.freeCpuMillis = cpuMillis - usedCpu;
        n.freeMemoryMiB = memoryMiB - usedMem;
        n.freeDiskMiB = diskMiB - usedDisk;
        n.freeSlots = slots - usedSlots;
        emit CapacityUpdated(nodeId, cpuMillis, memoryMiB, diskMiB, slots);
    }

    /// @inheritdoc INodeRegistry
    function updateEndpoint(uint32 nodeId, string calldata endpoint) external {
        NodeData storage n = _operatorNode(nodeId);
        if (bytes(endpoint).length == 0) revert EmptyEndpoint();
        n.endpoint = endpoint;
        emit EndpointUpdated(nodeId, endpoint);
    }

    /// @inheritdoc INodeRegistry
    /// @dev Replicas already placed keep the price recorded at placement.
    function updatePrice(uint32 nodeId, uint96 pricePerSecond) external {
        NodeData storage n = _operatorNode(nodeId);
        n.pricePerSecond = pricePerSecond;
        emit PriceUpdated(nodeId, pricePerSecond);
    }

    /// @inheritdoc INodeRegistry
    function updateAgent(uint32 nodeId, address agent) external {
        NodeData storage n = _operatorNode(nodeId);
        if (agent == address(0)) revert ZeroAddress("agent");
        address previous = n.agent;
        if (agent == previous) return;
        _bindAgent(agent, nodeId);
        n.agent = agent;
        emit AgentUpdated(nodeId, previous, agent);
    }

    /// @inheritdoc INodeRegistry
    function updateMeasurement(uint32 nodeId, bytes32 measurement) external {
        NodeData storage n = _operatorNode(nodeId);
        n.measurement = measurement;
        emit MeasurementUpdated(nodeId, measurement);
    }

    /// @inheritdoc INodeRegistry
    /// @dev Anyone may add stake to a live node; the tokens come from the caller.
    function addStake(uint32 nodeId, uint96 amount) external nonReentrant {
        NodeData storage n = _liveNode(nodeId);
        if (amount == 0) revert StakeTooLow(0, 1);
        uint96 stake = n.stake + amount;
        n.stake = stake;
        emit StakeAdded(nodeId, amount, stake);
        if (n.flags & UNDERSTAKED != 0 && stake >= minStake) n.flags &= ~UNDERSTAKED;
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc INodeRegistry
    function beginUnbonding(uint32 nodeId) external {
        NodeData storage n = _operatorNode(nodeId);
        if (n.flags & UNBONDING != 0) revert AlreadyUnbonding(nodeId, n.unbondingSince);
        n.flags |= UNBONDING;
        n.unbondingSince = uint64(block.timestamp);
        emit UnbondingStarted(nodeId, uint64(block.timestamp) + unbondingDelay);
    }

    /// @inheritdoc INodeRegistry
    /// @dev Pays out the whole stake and retires the node (it can never be placed on again).
    function withdraw(uint32 nodeId) external nonReentrant {
        NodeData storage n = _operatorNode(nodeId);
        if (n.flags & UNBONDING == 0) revert NotUnbonding(nodeId);
        uint64 unlockAt = n.unbondingSince + unbondingDelay;
        if (block.timestamp < unlockAt) revert StillBonded(nodeId, unlockAt, uint64(block.timestamp));
        // A jailed node's stake answers for its fault until the admin has looked at it.
        if (n.flags & JAILED != 0) revert NodeNotEligible(nodeId, "jailed");
        // A placed replica includes a completed job replica whose vote is not resolved yet.
        if (n.placed != 0) revert ReplicasStillPlaced(nodeId, n.placed);
        uint96 amount = n.stake;
        n.stake = 0;
        n.flags = EXITED | (n.flags & JAILED);
        address operator = n.operator;
        emit StakeWithdrawn(nodeId, operator, amount);
        if (amount != 0) token.safeTransfer(operator, amount);
    }

    // ------------------------------------------------------------------ admin

    /// @inheritdoc INodeRegistry
    function setMeasurementApproved(bytes32 measurement, bool approved) external onlyRole(DEFAULT_ADMIN_ROLE) {
        measurementApproved[measurement] = approved;
        emit MeasurementApprovalSet(measurement, approved);
    }

    /// @inheritdoc INodeRegistry
    function unjail(uint32 nodeId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        NodeData storage n = _existing(nodeId);
        if (n.flags & JAILED == 0) revert NodeNotEligible(nodeId, "not jailed");
        n.flags &= ~JAILED;
        emit Unjailed(nodeId);
    }

    // ------------------------------------------------------------------ DeploymentRegistry

    /// @inheritdoc INodeRegistry
    function reserve(
        uint32 nodeId,
        Resources calldata r,
        uint96 expectedPrice
    ) external onlyRole(DEPLOYMENTS_ROLE) returns (uint96) {
        NodeData storage n = _existing(nodeId);
        uint8 flags = n.flags;
        if (flags != REGISTERED) revert NodeNotEligible(nodeId, _ineligibleReason(flags));
        uint96 price = n.pricePerSecond;
        if (price != expectedPrice) revert PriceChanged(nodeId, price, expectedPrice);
        if (!measurementApproved[n.measurement]) revert NodeNotEligible(nodeId, "measurement not approved");
        uint32 cpu = n.freeCpuMillis;
        uint32 mem = n.freeMemoryMiB;
        uint32 disk = n.freeDiskMiB;
        uint16 slots = n.freeSlots;
        if (cpu < r.cpuMillis) revert InsufficientCapacity(nodeId, "cpuMillis", cpu, r.cpuMillis);
        if (mem < r.memoryMiB) revert InsufficientCapacity(nodeId, "memoryMiB", mem, r.memoryMiB);
        if (disk < r.diskMiB) revert InsufficientCapacity(nodeId, "diskMiB", disk, r.diskMiB);
        if (slots == 0) revert InsufficientCapacity(nodeId, "slots", 0, 1);
        unchecked {
            // placed <= slots <= type(uint16).max
            _putFree(n, cpu - r.cpuMillis, mem - r.memoryMiB, disk - r.diskMiB, slots - 1, n.placed + 1);
        }
        return price;
    }

    /// @inheritdoc INodeRegistry
    function release(uint32 nodeId, Resources calldata r) external onlyRole(DEPLOYMENTS_ROLE) returns (address) {
        NodeData storage n = _existing(nodeId);
        uint16 placed = n.placed;
        if (placed == 0) revert ReplicasStillPlaced(nodeId, 0); // a release without a reserve: registry bug
        uint32 cpu = n.freeCpuMillis + r.cpuMillis;
        uint32 mem = n.freeMemoryMiB + r.memoryMiB;
        uint32 disk = n.freeDiskMiB + r.diskMiB;
        unchecked {
            // freeSlots < slots <= type(uint16).max while a replica is placed, and placed > 0
            _putFree(n, cpu, mem, disk, n.freeSlots + 1, placed - 1);
        }
        return n.operator;
    }

    /// @inheritdoc INodeRegistry
    function slash(
        uint32 nodeId,
        address beneficiary,
        bytes32 reason
    ) external onlyRole(DEPLOYMENTS_ROLE) nonReentrant returns (uint96 amount) {
        NodeData storage n = _existing(nodeId);
        uint96 stake = n.stake;
        amount = uint96((uint256(stake) * slashBps) / 10_000);
        n.stake = stake - amount;
        if (stake - amount < minStake) n.flags |= UNDERSTAKED;
        address to = beneficiary == address(0) ? treasury : beneficiary;
        emit Slashed(nodeId, amount, to, reason);
        if (n.flags & JAILED == 0) {
            n.flags |= JAILED;
            emit Jailed(nodeId);
        }
        if (amount != 0) token.safeTransfer(to, amount);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc INodeRegistry
    function getNode(uint32 nodeId) external view returns (Node memory node) {
        NodeData storage n = _existing(nodeId);
        node.operator = n.operator;
        node.agent = n.agent;
        node.cpuMillis = n.cpuMillis;
        node.memoryMiB = n.memoryMiB;
        node.diskMiB = n.diskMiB;
        node.slots = n.slots;
        node.freeCpuMillis = n.freeCpuMillis;
        node.freeMemoryMiB = n.freeMemoryMiB;
        node.freeDiskMiB = n.freeDiskMiB;
        node.freeSlots = n.freeSlots;
        node.placed = n.placed;
        node.pricePerSecond = n.pricePerSecond;
        node.stake = n.stake;
        node.unbondingSince = n.unbondingSince;
        node.jailed = n.flags & JAILED != 0;
        node.understaked = n.flags & UNDERSTAKED != 0;
        node.measurement = n.measurement;
        node.endpoint = n.endpoint;
    }

    /// @inheritdoc INodeRegistry
    function agentOf(uint32 nodeId) external view returns (address agent) {
        agent = _nodes[nodeId].agent; // never zero once registered
        if (agent == address(0)) revert UnknownNode(nodeId);
    }

    /// @inheritdoc INodeRegistry
    function attesterOf(uint32 nodeId) external view returns (address agent) {
        NodeData storage n = _nodes[nodeId];
        agent = n.agent; // never zero once registered
        if (agent == address(0)) revert UnknownNode(nodeId);
        if (!measurementApproved[n.measurement]) revert NodeNotEligible(nodeId, "measurement not approved");
    }

    /// @inheritdoc INodeRegistry
    function operatorOf(uint32 nodeId) external view returns (address) {
        return _existing(nodeId).operator;
    }

    /// @inheritdoc INodeRegistry
    /// @dev Eligible = registered, not unbonding, not jailed, not exited, measurement approved.
    /// Free capacity is checked separately by `reserve`.
    function isEligible(uint32 nodeId) external view returns (bool) {
        NodeData storage n = _nodes[nodeId];
        return n.flags == REGISTERED && measurementApproved[n.measurement];
    }

    /// @inheritdoc INodeRegistry
    function isJailed(uint32 nodeId) external view returns (bool) {
        return _nodes[nodeId].flags & JAILED != 0;
    }

    // ------------------------------------------------------------------ internals

    /// @dev A registered node always has non-zero flags (REGISTERED, later EXITED), so existence is
    /// read from the placement-hot slot every caller loads anyway (no extra nodeCount read).
    function _existing(uint32 nodeId) private view returns (NodeData storage n) {
        n = _nodes[nodeId];
        if (n.flags == 0) revert UnknownNode(nodeId);
    }

    function _operatorNode(uint32 nodeId) private view returns (NodeData storage n) {
        n = _existing(nodeId);
        if (n.operator != msg.sender) revert NotOperator(nodeId, msg.sender, n.operator);
        if (n.flags & EXITED != 0) revert NodeExited(nodeId);
    }

    function _liveNode(uint32 nodeId) private view returns (NodeData storage n) {
        n = _existing(nodeId);
        if (n.flags & EXITED != 0) revert NodeExited(nodeId);
    }

    /// @dev Writes the free capacity and placed count of the placement-hot slot in one SSTORE,
    /// keeping its price and flags (Solidity would read and write each field separately).
    function _putFree(NodeData storage n, uint32 cpu, uint32 mem, uint32 disk, uint16 slots, uint16 placed) private {
        uint256 packed =
            uint256(cpu) | (uint256(mem) << 32) | (uint256(disk) << 64) | (uint256(slots) << 96) | (uint256(placed) << 112);
        assembly ("memory-safe") {
            let word := sload(n.slot)
            // keep bits 128..255 (pricePerSecond, flags)
            sstore(n.slot, or(and(word, not(sub(shl(128, 1), 1))), packed))
        }
    }

    /// @dev One agent key, one node: a key shared by several nodes would let one operator's
    /// signer vote for several replicas of a job.
    function _bindAgent(address agent, uint32 nodeId) private {
        uint32 holder = nodeOfAgent[agent];
        if (holder != 0) revert AgentKeyInUse(agent, holder);
        nodeOfAgent[agent] = nodeId;
    }

    function _ineligibleReason(uint8 flags) private pure returns (string memory) {
        if (flags & EXITED != 0) return "exited";
        if (flags & JAILED != 0) return "jailed";
        if (flags & UNDERSTAKED != 0) return "stake below minimum";
        return "unbonding";
    }
}
