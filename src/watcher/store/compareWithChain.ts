/**
 * Compares the stored state with the chain's own views at the cursor's block: every node's free
 * capacity and free slots, and the replicas of a sample of active deployments. The state is derived
 * from events up to the cursor, so at that block the two must agree; a difference means the state
 * is not what the cursor says (e.g. the cursor was moved back and its blocks would be applied
 * twice). A node that cannot serve state that old is not a difference: the check is skipped.
 */
import type { Address, PublicClient } from "viem";
import { deploymentRegistryAbi, nodeRegistryAbi } from "../../chain/abi";
import type { StateProblem } from "./checkState";
import { deploymentKey, nodeKey, replicaKey } from "./observedState";
import type { StateStore } from "./stateStore";

/**
 * @example const problem = await compareWithChain(client, addresses, store, 50)
 */
export async function compareWithChain(
  client: PublicClient,
  addresses: { nodeRegistry: Address; deploymentRegistry: Address },
  store: StateStore,
  sampleDeployments = 50,
): Promise<StateProblem | { skipped: string } | undefined> {
  const cursor = store.cursor();
  if (!cursor) return undefined;
  const blockNumber = cursor.number;
  try {
    const block = await client.getBlock({ blockNumber });
    if (block.hash !== cursor.hash) return undefined; // a reorg since: ingest's own reorg handling rolls the state back
    for (const n of store.nodes()) {
      const v = await client.readContract({ address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "getNode", args: [n.nodeId], blockNumber });
      const ours = { freeCpuMillis: n.cpuMillis - n.reservedCpuMillis, freeMemoryMiB: n.memoryMiB - n.reservedMemoryMiB, freeSlots: n.slots - n.usedSlots };
      const theirs = { freeCpuMillis: Number(v.freeCpuMillis), freeMemoryMiB: Number(v.freeMemoryMiB), freeSlots: Number(v.freeSlots) };
      if (ours.freeCpuMillis !== theirs.freeCpuMillis || ours.freeMemoryMiB !== theirs.freeMemoryMiB || ours.freeSlots !== theirs.freeSlots)
        return {
          kind: "inconsistent",
          key: `s:${nodeKey(n.nodeId)}`,
          reason: `node ${n.nodeId} at block ${blockNumber}: the state says free ${JSON.stringify(ours)}, the chain ${JSON.stringify(theirs)}`,
        };
    }
    const active = store.deployments().filter((d) => d.status >= 1 && d.status <= 3 && !d.terminated);
    const sample = active.sort((a, b) => (a.seq < b.seq ? 1 : -1)).slice(0, sampleDeployments); // the newest: where a rewound cursor shows first
    for (const dep of sample) {
      const onChain = await client.readContract({
        address: addresses.deploymentRegistry,
        abi: deploymentRegistryAbi,
        functionName: "getReplicas",
        args: [dep.id],
        blockNumber,
      });
      const ours = store.replicasOf(dep.id);
      for (let i = 0; i < Math.min(dep.replicas, onChain.length); i++) {
        if (ours[i]?.status !== onChain[i]!.status || ours[i]?.attempt !== onChain[i]!.attempt)
          return {
            kind: "inconsistent",
            key: `s:${ours[i] ? replicaKey(dep.id, i) : deploymentKey(dep.id)}`,
            reason: `deployment ${dep.id} replica ${i} at block ${blockNumber}: the state says status ${ours[i]?.status} attempt ${ours[i]?.attempt}, the chain status ${onChain[i]!.status} attempt ${onChain[i]!.attempt}`,
          };
      }
    }
  } catch (err) {
    return { skipped: `cannot read the chain's views at block ${blockNumber}: ${(err as Error).message?.split("\n")[0]}` };
  }
  return undefined;
}
