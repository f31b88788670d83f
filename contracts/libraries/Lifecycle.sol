// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Lifecycle
/// @notice The deployment and replica statuses (numbers as in IHyphaTypes' enums) and the one
/// table of legal moves for each. DeploymentRegistry changes a status only through a function
/// that checks the move here; src/chain/lifecycle.ts is tested against these tables.
/// @dev A table is a bit set: bit (from * 8 + to) is set when `from -> to` is legal.
library Lifecycle {
    uint8 internal constant D_NONE = 0;
    uint8 internal constant D_REQUESTED = 1;
    uint8 internal constant D_SCHEDULED = 2;
    uint8 internal constant D_RUNNING = 3;
    uint8 internal constant D_COMPLETED = 4;
    uint8 internal constant D_TERMINATED = 5;
    uint8 internal constant D_FAILED = 6;
    uint8 internal constant D_CANCELLED = 7;

    uint8 internal constant R_PENDING = 0;
    uint8 internal constant R_SCHEDULED = 1;
    uint8 internal constant R_RUNNING = 2;
    uint8 internal constant R_COMPLETED = 3;
    uint8 internal constant R_FAILED = 4;
    uint8 internal constant R_TAMPERED = 5;
    uint8 internal constant R_STOPPED = 6;

    /// @notice Replica moves. Pending -> Scheduled (placed); Scheduled -> Running (attested) or
    /// Failed/Tampered/Stopped; Running -> Completed or Failed/Tampered/Stopped; Scheduled ->
    /// Completed (a job finished before its Running attestation was sent: paid from its placement);
    /// Completed is for jobs only; Failed/Tampered -> Pending (re-placed); Stopped -> Pending (scale up).
    uint256 internal constant REPLICA_MOVES =
        (1 << (0 * 8 + 1)) |
            (1 << (1 * 8 + 2)) |
            (1 << (1 * 8 + 3)) |
            (1 << (1 * 8 + 4)) |
            (1 << (1 * 8 + 5)) |
            (1 << (1 * 8 + 6)) |
            (1 << (2 * 8 + 3)) |
            (1 << (2 * 8 + 4)) |
            (1 << (2 * 8 + 5)) |
            (1 << (2 * 8 + 6)) |
            (1 << (4 * 8 + 0)) |
            (1 << (5 * 8 + 0)) |
            (1 << (6 * 8 + 0));

    /// @notice Deployment moves. None -> Requested (submitted) or Cancelled; forward only through
    /// Requested -> Scheduled -> Running (a job is Running from its first Running replica); any
    /// active status -> Completed (a job's result is final: its replicas may complete before any
    /// attested Running), Failed or Terminated; Completed and Failed -> Terminated (settled and refunded).
    uint256 internal constant DEPLOYMENT_MOVES =
        (1 << (0 * 8 + 1)) |
            (1 << (0 * 8 + 7)) |
            (1 << (1 * 8 + 2)) |
            (1 << (1 * 8 + 3)) |
            (1 << (1 * 8 + 4)) |
            (1 << (2 * 8 + 4)) |
            (1 << (1 * 8 + 5)) |
            (1 << (1 * 8 + 6)) |
            (1 << (2 * 8 + 3)) |
            (1 << (2 * 8 + 5)) |
            (1 << (2 * 8 + 6)) |
            (1 << (3 * 8 + 4)) |
            (1 << (3 * 8 + 5)) |
            (1 << (3 * 8 + 6)) |
            (1 << (4 * 8 + 5)) |
            (1 << (6 * 8 + 5));

    /// @dev The two tables above as literals: the optimizer does not fold the expressions, and
    /// evaluating them costs every move ~200 gas. test/chain/lifecycle.test.ts checks they agree.
    uint256 private constant REPLICA_MOVES_BITS = 0x1010100787c02;
    uint256 private constant DEPLOYMENT_MOVES_BITS = 0x20002070787c82;

    /// @notice Whether a replica may move `from -> to`.
    function replicaMoveLegal(uint8 from, uint8 to) internal pure returns (bool) {
        return (REPLICA_MOVES_BITS >> ((uint256(from) << 3) | to)) & 1 == 1;
    }

    /// @notice Whether a deployment may move `from -> to`.
    function deploymentMoveLegal(uint8 from, uint8 to) internal pure returns (bool) {
        return (DEPLOYMENT_MOVES_BITS >> ((uint256(from) << 3) | to)) & 1 == 1;
    }
}
