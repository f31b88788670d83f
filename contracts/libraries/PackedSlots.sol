// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IDeploymentRegistry} from "../interfaces/IDeploymentRegistry.sol";

/// @title DeploymentSlot
/// @notice The packed storage word of one Deployment, read and written whole (one SLOAD, one
/// SSTORE), with the field offsets named once. Solidity lays the struct out the same way, so its
/// getter and these agree; a struct copy would read and write each field separately.
library DeploymentSlot {
    uint256 private constant KIND = 8;
    uint256 private constant REPLICAS = 16;
    uint256 private constant PLACED = 24;
    uint256 private constant RUNNING = 32;
    uint256 private constant QUORUM = 40;
    uint256 private constant RETRIES_LEFT = 48;
    uint256 private constant ESCROW = 56;
    uint256 private constant CPU = 152;
    uint256 private constant MEMORY = 184;
    uint256 private constant DISK = 216;
    uint256 private constant NODE_FAULTS = 248;

    /// @notice The deployment stored in `s`.
    function load(IDeploymentRegistry.Deployment storage s) internal view returns (IDeploymentRegistry.Deployment memory d) {
        uint256 w;
        assembly ("memory-safe") {
            w := sload(s.slot)
        }
        d.status = uint8(w);
        d.kind = uint8(w >> KIND);
        d.replicas = uint8(w >> REPLICAS);
        d.placed = uint8(w >> PLACED);
        d.running = uint8(w >> RUNNING);
        d.quorum = uint8(w >> QUORUM);
        d.retriesLeft = uint8(w >> RETRIES_LEFT);
        d.escrow = uint96(w >> ESCROW);
        d.cpuMillis = uint32(w >> CPU);
        d.memoryMiB = uint32(w >> MEMORY);
        d.diskMiB = uint32(w >> DISK);
        d.nodeFaults = uint8(w >> NODE_FAULTS);
    }

    /// @notice Writes `d` to `s` in one SSTORE.
    function store(IDeploymentRegistry.Deployment storage s, IDeploymentRegistry.Deployment memory d) internal {
        uint256 w =
            uint256(d.status) |
                (uint256(d.kind) << KIND) |
                (uint256(d.replicas) << REPLICAS) |
                (uint256(d.placed) << PLACED) |
                (uint256(d.running) << RUNNING) |
                (uint256(d.quorum) << QUORUM) |
                (uint256(d.retriesLeft) << RETRIES_LEFT) |
                (uint256(d.escrow) << ESCROW) |
                (uint256(d.cpuMillis) << CPU) |
                (uint256(d.memoryMiB) << MEMORY) |
                (uint256(d.diskMiB) << DISK) |
                (uint256(d.nodeFaults) << NODE_FAULTS);
        assembly ("memory-safe") {
            sstore(s.slot, w)
        }
    }
}

/// @title ReplicaSlot
/// @notice The packed storage word of one Replica (nodeId, status, attempt, price, since,
/// maxRunSeconds), read and written whole.
library ReplicaSlot {
    uint256 private constant STATUS = 32;
    uint256 private constant ATTEMPT = 40;
    uint256 private constant PRICE = 56;
    uint256 private constant SINCE = 152;
    uint256 private constant MAX_RUN = 216;

    /// @notice The replica stored in `s`.
    function load(IDeploymentRegistry.Replica storage s) internal view returns (IDeploymentRegistry.Replica memory r) {
        uint256 w;
        assembly ("memory-safe") {
            w := sload(s.slot)
        }
        r.nodeId = uint32(w);
        r.status = uint8(w >> STATUS);
        r.attempt = uint16(w >> ATTEMPT);
        r.pricePerSecond = uint96(w >> PRICE);
        r.since = uint64(w >> SINCE);
        r.maxRunSeconds = uint32(w >> MAX_RUN);
    }

    /// @notice Writes `r` to `s` in one SSTORE.
    function store(IDeploymentRegistry.Replica storage s, IDeploymentRegistry.Replica memory r) internal {
        uint256 w =
            uint256(r.nodeId) |
                (uint256(r.status) << STATUS) |
                (uint256(r.attempt) << ATTEMPT) |
                (uint256(r.pricePerSecond) << PRICE) |
                (uint256(r.since) << SINCE) |
                (uint256(r.maxRunSeconds) << MAX_RUN);
        assembly ("memory-safe") {
            sstore(s.slot, w)
        }
    }
}
