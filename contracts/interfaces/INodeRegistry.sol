// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IHyphaTypes} from "./IHyphaTypes.sol";

/// @title NodeRegistry interface
/// @notice Node operators stake, register capacity, an agent signing key, an endpoint, a price and
/// the agent's measurement. DeploymentRegistry reserves and releases capacity and slashes faults.
/// Reservations emit no event of their own: each follows from a DeploymentRegistry event that
/// already says which node and which deployment's resources (ReplicaScheduled reserves; a replica
/// leaving Scheduled or Running for Failed, Tampered or Stopped releases; a job leaving Running for
/// Completed keeps its reservation until the deployment moves to Completed, Failed or Terminated,
/// which releases every Completed replica's). src/watcher/store/applyEvent.ts derives them so.
interface INodeRegistry is IHyphaTypes {
    /// @notice A node as stored. `free` never exceeds `total`; both count per-resource units.
    struct Node {
        address operator;
        address agent;
        uint32 cpuMillis; // total
        uint32 memoryMiB;
        uint32 diskMiB;
        uint16 slots;
        uint32 freeCpuMillis;
        uint32 freeMemoryMiB;
        uint32 freeDiskMiB;
        uint16 freeSlots;
        uint16 placed; // replicas currently holding a reservation on this node
        uint96 pricePerSecond; // per replica-second, token wei
        uint96 stake;
        uint64 unbondingSince; // 0 when not unbonding
        bool jailed;
        bool understaked; // slashed below minStake: not placed until topped up
        bytes32 measurement;
        string endpoint;
    }

    /// @notice What an operator registers.
    struct Registration {
        address agent;
        uint32 cpuMillis;
        uint32 memoryMiB;
        uint32 diskMiB;
        uint16 slots;
        uint96 pricePerSecond;
        bytes32 measurement;
        string endpoint;
    }

    event NodeRegistered(
        uint32 indexed nodeId,
        address indexed operator,
        address indexed agent,
        Registration registration,
        uint96 stake
    );
    event CapacityUpdated(uint32 indexed nodeId, uint32 cpuMillis, uint32 memoryMiB, uint32 diskMiB, uint16 slots);
    event EndpointUpdated(uint32 indexed nodeId, string endpoint);
    event PriceUpdated(uint32 indexed nodeId, uint96 pricePerSecond);
    event AgentUpdated(uint32 indexed nodeId, address indexed previousAgent, address indexed agent);
    event MeasurementUpdated(uint32 indexed nodeId, bytes32 measurement);
    event StakeAdded(uint32 indexed nodeId, uint96 amount, uint96 stake);
    event UnbondingStarted(uint32 indexed nodeId, uint64 unlockAt);
    event StakeWithdrawn(uint32 indexed nodeId, address indexed operator, uint96 amount);
    event MeasurementApprovalSet(bytes32 indexed measurement, bool approved);
    event Slashed(uint32 indexed nodeId, uint96 amount, address indexed beneficiary, bytes32 indexed reason);
    event Jailed(uint32 indexed nodeId);
    event Unjailed(uint32 indexed nodeId);

    error UnknownNode(uint32 nodeId);
    error NotOperator(uint32 nodeId, address caller, address operator);
    error StakeTooLow(uint96 stake, uint96 minimum);
    error ZeroAddress(string field);
    error ZeroCapacity(string field);
    error EmptyEndpoint();
    error AlreadyUnbonding(uint32 nodeId, uint64 since);
    error NotUnbonding(uint32 nodeId);
    error StillBonded(uint32 nodeId, uint64 unlockAt, uint64 now_);
    error ReplicasStillPlaced(uint32 nodeId, uint16 placed);
    error NodeNotEligible(uint32 nodeId, string reason);
    error InsufficientCapacity(uint32 nodeId, string resource, uint256 free, uint256 needed);
    error CapacityBelowReserved(uint32 nodeId, string resource, uint256 reserved, uint256 requested);
    error NodeExited(uint32 nodeId);
    error InvalidParameter(string field, string reason);
    error AgentKeyInUse(address agent, uint32 nodeId);
    error PriceChanged(uint32 nodeId, uint96 price, uint96 expected);

    /// @notice Register a node, pulling `stake` tokens from the caller (approve first).
    function register(Registration calldata registration, uint96 stake) external returns (uint32 nodeId);

    /// @notice Register using an EIP-2612 permit instead of a prior approve.
    function registerWithPermit(
        Registration calldata registration,
        uint96 stake,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint32 nodeId);

    /// @notice Operator: set total capacity; reverts CapacityBelowReserved if below what placed replicas hold.
    function updateCapacity(uint32 nodeId, uint32 cpuMillis, uint32 memoryMiB, uint32 diskMiB, uint16 slots) external;
    /// @notice Operator: set the agent's endpoint URL.
    function updateEndpoint(uint32 nodeId, string calldata endpoint) external;
    /// @notice Operator: set the price per replica-second for future placements.
    function updatePrice(uint32 nodeId, uint96 pricePerSecond) external;
    /// @notice Operator: rotate the agent signing key.
    function updateAgent(uint32 nodeId, address agent) external;
    /// @notice Operator: report a new agent measurement (placement needs it approved).
    function updateMeasurement(uint32 nodeId, bytes32 measurement) external;
    /// @notice Add `amount` to a node's stake, pulled from the caller.
    function addStake(uint32 nodeId, uint96 amount) external;
    /// @notice Operator: stop new placements and start the unbonding delay.
    function beginUnbonding(uint32 nodeId) external;
    /// @notice Operator: after the delay and with nothing placed, pay out the stake and retire the node.
    function withdraw(uint32 nodeId) external;

    /// @notice Admin: approve or revoke an agent measurement for placement.
    function setMeasurementApproved(bytes32 measurement, bool approved) external;
    /// @notice Admin: release a jailed node.
    function unjail(uint32 nodeId) external;

    /// @notice DeploymentRegistry only: check the node is eligible and still asks `expectedPrice`
    /// (the price the orchestrator decided on), reserve one replica's resources and one slot.
    /// Returns the price per replica-second (recorded in the replica).
    function reserve(uint32 nodeId, Resources calldata resources, uint96 expectedPrice) external returns (uint96 pricePerSecond);
    /// @notice DeploymentRegistry only: release what `reserve` took. Returns the node's operator
    /// (who is credited for the replica's run time).
    function release(uint32 nodeId, Resources calldata resources) external returns (address operator);
    /// @notice DeploymentRegistry only: slash for a proven fault, `slashBps` of the stake per
    /// incident; jails the node. Tokens go to `beneficiary`, or to the treasury when it is zero.
    function slash(uint32 nodeId, address beneficiary, bytes32 reason) external returns (uint96 amount);

    /// @notice The node as stored (reverts UnknownNode).
    function getNode(uint32 nodeId) external view returns (Node memory);
    /// @notice Number of registered nodes; ids are 1..nodeCount.
    function nodeCount() external view returns (uint32);
    /// @notice The node's agent signing address (reverts UnknownNode).
    function agentOf(uint32 nodeId) external view returns (address);
    /// @notice The node's agent signing address, when its registered agent measurement is still
    /// approved (reverts UnknownNode, or NodeNotEligible when the build was revoked).
    function attesterOf(uint32 nodeId) external view returns (address);
    /// @notice The node an agent key is bound to (0 when none); a key belongs to one node, for ever.
    function nodeOfAgent(address agent) external view returns (uint32);
    /// @notice Registered, not unbonding, jailed or exited, and its measurement approved.
    function isEligible(uint32 nodeId) external view returns (bool);
    /// @notice Whether the node is jailed (slashed, and not yet unjailed by the admin).
    function isJailed(uint32 nodeId) external view returns (bool);
    /// @notice The node's operator (reverts UnknownNode).
    function operatorOf(uint32 nodeId) external view returns (address);
    /// @notice Least stake to register.
    function minStake() external view returns (uint96);
    /// @notice Share of the stake slashed per incident, in basis points.
    function slashBps() external view returns (uint16);
    /// @notice Receives slashed stake that has no harmed party.
    function treasury() external view returns (address);
    /// @notice Seconds between beginUnbonding and withdraw.
    function unbondingDelay() external view returns (uint64);
    /// @notice Whether an agent measurement is approved for placement.
    function measurementApproved(bytes32 measurement) external view returns (bool);
}
