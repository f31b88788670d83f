/**
 * Reads registered nodes from the NodeRegistry: one node, all nodes, and a node's agent key as of
 * a given block (what the auditor checks attestations against).
 */
import type { Address, ContractFunctionReturnType, PublicClient } from "viem";
import { nodeRegistryAbi } from "./abi";
import type { HyphaAddresses } from "./addresses";
import { toChainError } from "./chainError";

/** A registered node: INodeRegistry.Node as the generated ABI declares it, and its id. */
export type NodeView = { id: number } & ContractFunctionReturnType<typeof nodeRegistryAbi, "view", "getNode">;

/**
 * One node (UnknownNode decodes to a readable error).
 * @example const n = await readNode(pc, addresses, 1); n.freeCpuMillis
 */
export async function readNode(publicClient: PublicClient, addresses: HyphaAddresses, nodeId: number): Promise<NodeView> {
  try {
    const n = await publicClient.readContract({ address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "getNode", args: [nodeId] });
    return { id: nodeId, ...n };
  } catch (err) {
    throw toChainError(err, `reading node ${nodeId}`);
  }
}

/**
 * Every registered node, by id.
 * @example (await listNodes(pc, addresses)).filter(n => !n.jailed)
 */
export async function listNodes(publicClient: PublicClient, addresses: HyphaAddresses): Promise<NodeView[]> {
  let count: number;
  try {
    count = Number(await publicClient.readContract({ address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "nodeCount" }));
  } catch (err) {
    throw toChainError(err, "counting nodes");
  }
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  return Promise.all(ids.map((id) => readNode(publicClient, addresses, id)));
}

/**
 * The agent key registered for `nodeId` in the state at the end of `blockNumber` (eth_call at that block).
 * @example await agentAt(pc, addresses, 1, 120n)
 */
export async function agentAt(publicClient: PublicClient, addresses: HyphaAddresses, nodeId: number, blockNumber: bigint): Promise<Address> {
  try {
    return (await publicClient.readContract({
      address: addresses.nodeRegistry,
      abi: nodeRegistryAbi,
      functionName: "agentOf",
      args: [nodeId],
      blockNumber,
    })) as Address;
  } catch (err) {
    throw toChainError(err, `reading node ${nodeId}'s agent at block ${blockNumber}`);
  }
}
