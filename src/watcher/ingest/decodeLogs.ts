/**
 * Turns raw eth_getLogs results into typed Hypha events, each decoded with the ABI of the contract
 * that emitted it, in chain order (block number, then log index). Logs the ABIs don't know are
 * dropped (they cannot change Hypha's state).
 */
import { parseEventLogs, type Address, type Log } from "viem";
import { deploymentRegistryAbi, nodeRegistryAbi } from "../../chain/abi";

export type NodeRegistryEvent = ReturnType<typeof parseEventLogs<typeof nodeRegistryAbi, true>>[number];
export type DeploymentRegistryEvent = ReturnType<typeof parseEventLogs<typeof deploymentRegistryAbi, true>>[number];
/** A decoded event of either Hypha contract, with its block number, block hash and log index. */
export type HyphaEvent = NodeRegistryEvent | DeploymentRegistryEvent;

/**
 * Decode logs of the NodeRegistry and DeploymentRegistry and sort them into chain order.
 * @example decodeHyphaLogs(await client.getLogs({ address: [nr, dr], fromBlock, toBlock }), { nodeRegistry: nr, deploymentRegistry: dr })
 */
export function decodeHyphaLogs(logs: Log[], addresses: { nodeRegistry: Address; deploymentRegistry: Address }): HyphaEvent[] {
  const nr = addresses.nodeRegistry.toLowerCase();
  const dr = addresses.deploymentRegistry.toLowerCase();
  const live = logs.filter((l) => !l.removed);
  const events: HyphaEvent[] = [
    ...parseEventLogs({ abi: nodeRegistryAbi, logs: live.filter((l) => l.address.toLowerCase() === nr), strict: true }),
    ...parseEventLogs({ abi: deploymentRegistryAbi, logs: live.filter((l) => l.address.toLowerCase() === dr), strict: true }),
  ];
  return events.sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
}
