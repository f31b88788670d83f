/**
 * Turns a batch of watcher actions into one DeploymentRegistry call (pure): placements of any
 * number of deployments go into one scheduleMany, terminations into one terminateMany; reportLost
 * goes one per call.
 */
import { encodeFunctionData, type Hex } from "viem";
import { deploymentRegistryAbi } from "../../chain/abi";
import type { DeploymentIntent } from "../../chain/eip712";
import type { ScheduleAction, TerminateAction, WatcherAction } from "../decide/reconcile";

/**
 * Calldata for a batch: only schedule actions, only terminate actions, or one reportLost.
 * @example encodeActions([scheduleAction1, scheduleAction2]) // scheduleMany calldata
 */
export function encodeActions(actions: readonly WatcherAction[]): Hex {
  if (actions.length === 0) throw new RangeError("encodeActions: empty batch");
  if (actions.every((a) => a.type === "schedule")) {
    const byDeployment = new Map<string, { intent: DeploymentIntent; placements: { replicaIndex: number; nodeId: number; pricePerSecond: bigint }[] }>();
    for (const a of actions as ScheduleAction[]) {
      const id = a.deploymentId.toLowerCase();
      if (!byDeployment.has(id)) byDeployment.set(id, { intent: a.intent, placements: [] });
      byDeployment.get(id)!.placements.push({ replicaIndex: a.replicaIndex, nodeId: a.nodeId, pricePerSecond: a.pricePerSecond });
    }
    const groups = [...byDeployment.values()];
    return encodeFunctionData({
      abi: deploymentRegistryAbi,
      functionName: "scheduleMany",
      args: [groups.map((g) => g.intent), groups.map((g) => g.placements)],
    });
  }
  if (actions.length > 1 && actions.every((a) => a.type === "terminate")) {
    return encodeFunctionData({ abi: deploymentRegistryAbi, functionName: "terminateMany", args: [actions.map((a) => (a as TerminateAction).intent)] });
  }
  if (actions.length !== 1) throw new RangeError("encodeActions: only schedule or only terminate actions can share a transaction");
  const [a] = actions;
  if (a.type === "reportLost") return encodeFunctionData({ abi: deploymentRegistryAbi, functionName: "reportLost", args: [a.intent, a.replicaIndex] });
  if (a.type === "terminate") return encodeFunctionData({ abi: deploymentRegistryAbi, functionName: "terminate", args: [a.intent] });
  throw new RangeError(`encodeActions: unknown action`);
}
