/**
 * Turns raw eth_getLogs results into typed Hypha events, each decoded with the ABI of the contract
 * that emitted it, in chain order (block number, then log index). Logs the ABIs don't know are
 * dropped (they cannot change Hypha's state). The event selectors are computed once per contract,
 * not once per log as viem's parseEventLogs does: a cold start decodes every log of the history.
 */
import { decodeAbiParameters, type parseEventLogs, toEventSelector, type Abi, type AbiEvent, type Address, type Hex, type Log } from "viem";
import { deploymentRegistryAbi, nodeRegistryAbi } from "../../chain/abi";

export type NodeRegistryEvent = ReturnType<typeof parseEventLogs<typeof nodeRegistryAbi, true>>[number];
export type DeploymentRegistryEvent = ReturnType<typeof parseEventLogs<typeof deploymentRegistryAbi, true>>[number];
/** A decoded event of either Hypha contract, with its block number, block hash and log index. */
export type HyphaEvent = NodeRegistryEvent | DeploymentRegistryEvent;

interface EventDecoder {
  name: string;
  indexed: AbiEvent["inputs"];
  data: AbiEvent["inputs"];
  names: string[];
  isIndexed: boolean[];
}

function decodersOf(abi: Abi): Map<string, EventDecoder> {
  const out = new Map<string, EventDecoder>();
  for (const item of abi) {
    if (item.type !== "event" || item.anonymous) continue;
    // Every indexed parameter of these contracts is a static type, so its topic holds its value.
    out.set(toEventSelector(item), {
      name: item.name,
      indexed: item.inputs.filter((i) => i.indexed),
      data: item.inputs.filter((i) => !i.indexed),
      names: item.inputs.map((i) => i.name ?? ""),
      isIndexed: item.inputs.map((i) => Boolean(i.indexed)),
    });
  }
  return out;
}

const NODE_REGISTRY = decodersOf(nodeRegistryAbi as Abi);
const DEPLOYMENT_REGISTRY = decodersOf(deploymentRegistryAbi as Abi);

function decodeOne(log: Log, decoders: Map<string, EventDecoder>): HyphaEvent | undefined {
  const d = decoders.get(log.topics[0] ?? "");
  if (!d || log.topics.length !== d.indexed.length + 1) return undefined;
  const fromTopics = d.indexed.length
    ? decodeAbiParameters(
        d.indexed,
        `0x${log.topics
          .slice(1)
          .map((t) => t!.slice(2))
          .join("")}` as Hex,
      )
    : [];
  const fromData = d.data.length ? decodeAbiParameters(d.data, log.data) : [];
  const args: Record<string, unknown> = {};
  let t = 0;
  let v = 0;
  for (let i = 0; i < d.names.length; i++) args[d.names[i]!] = d.isIndexed[i] ? fromTopics[t++] : fromData[v++];
  return { ...log, args, eventName: d.name } as unknown as HyphaEvent;
}

/**
 * Decode logs of the NodeRegistry and DeploymentRegistry and sort them into chain order.
 * @example decodeHyphaLogs(await client.getLogs({ address: [nr, dr], fromBlock, toBlock }), { nodeRegistry: nr, deploymentRegistry: dr })
 */
export function decodeHyphaLogs(logs: Log[], addresses: { nodeRegistry: Address; deploymentRegistry: Address }): HyphaEvent[] {
  const nr = addresses.nodeRegistry.toLowerCase();
  const dr = addresses.deploymentRegistry.toLowerCase();
  const events: HyphaEvent[] = [];
  for (const l of logs) {
    if (l.removed) continue;
    const address = l.address.toLowerCase();
    const e = address === nr ? decodeOne(l, NODE_REGISTRY) : address === dr ? decodeOne(l, DEPLOYMENT_REGISTRY) : undefined;
    if (e) events.push(e);
  }
  return events.sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber! < b.blockNumber! ? -1 : 1));
}
