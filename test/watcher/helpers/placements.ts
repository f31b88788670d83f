/**
 * What a watcher put on-chain, read back for its tests: whether every replica of some deployments
 * is placed (Scheduled), every ReplicaScheduled since a block with the count per replica and
 * attempt (a count above 1 is a placement sent twice), and the orchestrators' transactions since a
 * block with their receipts' status.
 */
import { parseEventLogs, type Hex } from "viem";
import { deploymentRegistryAbi } from "../../../src/chain/abi";
import { DEV_ROLES, devAccount } from "../../../src/chain/devAccounts";
import type { HyphaFixture } from "./hyphaFixture";

/** Whether each deployment has `replicas` replicas (any count when undefined), all Scheduled. */
export async function allPlaced(fx: HyphaFixture, ids: Hex[], replicas?: number): Promise<boolean> {
  for (const id of ids) {
    const reps = await fx.publicClient.readContract({
      address: fx.addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      functionName: "getReplicas",
      args: [id],
    });
    if ((replicas !== undefined && reps.length !== replicas) || reps.some((r) => r.status !== 1)) return false;
  }
  return true;
}

/** Every ReplicaScheduled after `startBlock` up to `head`, and how often each `id:index:attempt` was scheduled. */
export async function scheduledSince(fx: HyphaFixture, startBlock: bigint, head: bigint) {
  const logs = await fx.publicClient.getLogs({ address: fx.addresses.deploymentRegistry, fromBlock: startBlock + 1n, toBlock: head });
  const scheduled = parseEventLogs({ abi: deploymentRegistryAbi, logs, eventName: "ReplicaScheduled" });
  const perReplica = new Map<string, number>();
  for (const e of scheduled) {
    const k = `${e.args.id}:${e.args.replicaIndex}:${e.args.attempt}`;
    perReplica.set(k, (perReplica.get(k) ?? 0) + 1);
  }
  return { scheduled, perReplica };
}

/** The transactions the first two orchestrator accounts sent after `startBlock` up to `head`, with each receipt's status. */
export async function orchestratorTxsSince(fx: HyphaFixture, startBlock: bigint, head: bigint): Promise<{ hash: Hex; status: "success" | "reverted" }[]> {
  const senders = new Set(DEV_ROLES.orchestrators.slice(0, 2).map((i) => devAccount(i).address.toLowerCase()));
  const out: { hash: Hex; status: "success" | "reverted" }[] = [];
  for (let b = startBlock + 1n; b <= head; b++) {
    const block = await fx.publicClient.getBlock({ blockNumber: b, includeTransactions: true });
    for (const tx of block.transactions) {
      if (!senders.has(tx.from.toLowerCase())) continue;
      out.push({ hash: tx.hash, status: (await fx.publicClient.getTransactionReceipt({ hash: tx.hash })).status });
    }
  }
  return out;
}
