// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IHyphaTypes} from "../interfaces/IHyphaTypes.sol";
import {IDeploymentRegistry} from "../interfaces/IDeploymentRegistry.sol";

/// @title IntentRules
/// @notice What makes a DeploymentIntent acceptable, said field by field: the hot path in
/// DeploymentRegistry checks every rule at once in assembly, and on failure calls
/// `explainInvalid` (linked, cold) for the first rule broken, as InvalidIntent(field, reason).
library IntentRules {
    uint16 internal constant MAX_REPLICAS = 255;

    /// @dev Whether any field of the intent exceeds its declared type (an ABI decoder would reject it).
    function dirty(IHyphaTypes.DeploymentIntent calldata intent) internal pure returns (bool isDirty) {
        assembly ("memory-safe") {
            isDirty := iszero(
                iszero(
                    or(
                        or(
                            or(shr(160, calldataload(intent)), shr(16, calldataload(add(intent, 0x60)))),
                            or(shr(32, calldataload(add(intent, 0x80))), shr(32, calldataload(add(intent, 0xa0))))
                        ),
                        or(
                            or(
                                or(shr(32, calldataload(add(intent, 0xc0))), shr(96, calldataload(add(intent, 0xe0)))),
                                or(shr(96, calldataload(add(intent, 0x100))), shr(64, calldataload(add(intent, 0x120))))
                            ),
                            or(
                                or(shr(64, calldataload(add(intent, 0x140))), shr(8, calldataload(add(intent, 0x160)))),
                                or(
                                    or(shr(8, calldataload(add(intent, 0x180))), shr(8, calldataload(add(intent, 0x1a0)))),
                                    shr(32, calldataload(add(intent, 0x1c0)))
                                )
                            )
                        )
                    )
                )
            )
        }
    }

    /// @dev Reverts InvalidIntent for the first failed check (cold path: keeps strings off the hot one).
    function explainInvalid(IHyphaTypes.DeploymentIntent calldata intent) external pure {
        if (dirty(intent)) _invalid("intent", "a field exceeds its type");
        if (intent.deployer == address(0)) _invalid("deployer", "zero address");
        if (intent.specHash == bytes32(0)) _invalid("specHash", "zero");
        checkReplicas(intent.replicas);
        if (intent.cpuMillis == 0) _invalidZero("cpuMillis");
        if (intent.memoryMiB == 0) _invalidZero("memoryMiB");
        if (intent.budget == 0) _invalidZero("budget");
        if (intent.kind > 1) _invalid("kind", "unknown (0 service, 1 job)");
        if (intent.kind == 0 && intent.quorum != 0) _invalid("quorum", "must be 0 for a service");
        if (intent.kind == 1) {
            if (intent.quorum > intent.replicas) _invalid("quorum", "more than replicas");
            if (2 * uint256(intent.quorum) <= intent.replicas) _invalid("quorum", "must be a strict majority of replicas");
            if (intent.maxRunSeconds == 0) _invalidZero("maxRunSeconds");
        }
        _invalid("budget", "must pay every replica 60 s at maxPricePerSecond");
    }

    /// @notice Reverts InvalidIntent unless 1 <= replicas <= 255.
    function checkReplicas(uint16 replicas) internal pure {
        if (replicas == 0) _invalidZero("replicas");
        if (replicas > MAX_REPLICAS) _invalid("replicas", "more than 255");
    }

    /// @dev One revert site for InvalidIntent keeps the encoder out of every check (code size).
    function _invalid(string memory field, string memory reason) private pure {
        revert IDeploymentRegistry.InvalidIntent(field, reason);
    }

    function _invalidZero(string memory field) private pure {
        _invalid(field, "must be at least 1");
    }
}
