// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IDeploymentRegistry} from "../interfaces/IDeploymentRegistry.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";

/// @title JobQuorum
/// @notice A job's result vote: one vote per replica index, final when `quorum` (a strict
/// majority, checked at submission) agree on one non-zero output hash, set once and never changed;
/// undecided when every replica voted and no hash reached the quorum. Also the rule that a job's
/// replicas run on nodes of distinct operators (agent keys are unique per node in NodeRegistry).
/// @dev A single-replica job (quorum 1) needs neither the per-index outputs nor the counters: its
/// one vote is final at once, and its result is not stored (it is in JobFinalized): one node's word,
/// agreed by nobody, is not worth a new slot (22,100 gas, an eighth of the job; docs/gas.md). Deployed once and linked into DeploymentRegistry (its external
/// functions run by DELEGATECALL on the registry's storage), which keeps the registry under the
/// 24 KB code-size limit; only jobs pay the call.
library JobQuorum {
    /// @notice `reason` passed to NodeRegistry.slash for a replica that voted against the final result.
    bytes32 internal constant REASON_JOB_DISSENT = "job-dissent";

    struct Votes {
        mapping(bytes32 id => bytes32) result;
        mapping(bytes32 id => mapping(uint256 index => bytes32)) outputs;
        // count[id][h]: replicas that attested h; count[id][0]: replicas that voted at all (0 is never a vote)
        mapping(bytes32 id => mapping(bytes32 outputHash => uint256)) count;
        mapping(bytes32 id => mapping(address operator => bool)) operatorInJob;
    }

    /// @notice Counts replica `index`'s vote for `outputHash` (non-zero, checked by the caller).
    /// @return final_ the result is final now (stored in `result` when the quorum is 2 or more)
    /// @return undecided every replica voted and none reached the quorum
    /// @return agreeing votes for `outputHash`
    function vote(
        Votes storage v,
        bytes32 id,
        uint256 index,
        bytes32 outputHash,
        uint8 quorum,
        uint8 replicas
    ) external returns (bool final_, bool undecided, uint8 agreeing) {
        if (quorum == 1) return (true, false, 1);
        v.outputs[id][index] = outputHash;
        uint256 votes = ++v.count[id][outputHash];
        uint256 voted = ++v.count[id][bytes32(0)];
        if (votes >= quorum) {
            v.result[id] = outputHash;
            return (true, false, uint8(votes));
        }
        return (false, voted == replicas, uint8(votes));
    }

    /// @notice What replica `index` voted (a single-replica job's one vote is its result).
    function outputOf(Votes storage v, bytes32 id, uint256 index, uint8 quorum, bytes32 result) internal view returns (bytes32) {
        return quorum == 1 ? result : v.outputs[id][index];
    }

    /// @notice Marks the operator of `nodeId` as running a replica of job `id`; returns the encoded
    /// OperatorAlreadyInJob (or the node registry's) error instead when it may not.
    function claimOperator(Votes storage v, INodeRegistry nodes, bytes32 id, uint32 nodeId) external returns (bytes memory) {
        address operator;
        try nodes.operatorOf(nodeId) returns (address who) {
            operator = who;
        } catch (bytes memory err) {
            return err;
        }
        if (v.operatorInJob[id][operator]) {
            return abi.encodeWithSelector(IDeploymentRegistry.OperatorAlreadyInJob.selector, id, nodeId, operator);
        }
        v.operatorInJob[id][operator] = true;
        return "";
    }

    /// @notice Undoes claimOperator (a placement that did not go through).
    function releaseOperator(Votes storage v, INodeRegistry nodes, bytes32 id, uint32 nodeId) external {
        v.operatorInJob[id][nodes.operatorOf(nodeId)] = false;
    }

    /// @notice The operator's replica of job `id` left its node before voting: it may run another.
    function releaseOperatorOf(Votes storage v, bytes32 id, address operator) internal {
        v.operatorInJob[id][operator] = false;
    }
}
