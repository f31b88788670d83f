/**
 * Reads registered nodes from the NodeRegistry: one node, all nodes, and a node's agent key as of
 * a given block (what the auditor checks attestations against).
 */
import type { Address, PublicClient } from "viem";
import { nodeRegistryAbi } from "./abi";
import type { HyphaAddresses } from "./addresses";
import { toChainError } from "./chainError";

export interface NodeView {
  id: number;
  operator: Address;
  agent: Address;
  cpuMillis: number;
  memoryMiB: number;
  diskMiB: number;
  slots: number;
  freeCpuMillis: number;
  freeMemoryMiB: number;
  freeDiskMiB: number;
  freeSlots: number;
  /** Replicas currently placed on the node. */
  placed: number;
  pricePerSecond: bigint;
  stake: bigint;
  unbondingSince: bigint;
  jailed: boolean;
  measurement: `0x${string}`;
  endpoint: string;
}

/**
 * One node (UnknownNode decodes to a readable error).
 * @example const n = await readNode(pc, addresses, 1); n.freeCpuMillis
 */
export async function readNode(publicClient: PublicClient, addresses: HyphaAddresses, nodeId: number): Promise<NodeView> {
  try {
    const n = await publicClient.readContract({ address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "getNode", args: [nodeId] });
    return { id: nodeId, ...(n as unknown as Omit<NodeView, "id">) };
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
