/**
 * Resuming the outbox after a crash or restart: for every transaction recorded as sent, ask the
 * chain first. Mined: record the outcome. Still pending: wait for it. Unknown to the chain: check
 * whether each of its actions already took effect (replica placed at that attempt, lost already
 * reported, deployment terminated); those stay in flight until ingest sees them, the rest are
 * forgotten so reconcile decides them again. Nothing is resent blindly.
 */
import { deploymentStatusNumber, replicaStatusNumber } from "../../chain/lifecycle";
import type { Address, PublicClient } from "viem";
import { deploymentRegistryAbi } from "../../chain/abi";
import type { WatcherAction } from "../decide/reconcile";
import { awaitReceipt } from "./awaitReceipt";
import type { Outbox } from "./outbox";
import type { Logger } from "../../logger";

/** Whether an action's effect is already on-chain (read from the contract's views). */
export async function actionTookEffect(client: PublicClient, deploymentRegistry: Address, action: WatcherAction): Promise<boolean> {
  if (action.type === "terminate") {
    const dep = await client.readContract({
      address: deploymentRegistry,
      abi: deploymentRegistryAbi,
      functionName: "getDeployment",
      args: [action.deploymentId],
    });
    return dep.status === deploymentStatusNumber("Terminated");
  }
  const r = await client.readContract({
    address: deploymentRegistry,
    abi: deploymentRegistryAbi,
    functionName: "getReplica",
    args: [action.deploymentId, action.replicaIndex],
  });
  if (action.type === "schedule") return r.attempt >= action.attempt;
  return r.attempt > action.attempt || !(r.status === replicaStatusNumber("Scheduled") || r.status === replicaStatusNumber("Running"));
}

/**
 * Resolve every transaction the outbox recorded as sent. Returns counts for the log.
 * @example await resumeOutbox(client, outbox, addresses.deploymentRegistry, logger)
 */
export async function resumeOutbox(
  client: PublicClient,
  outbox: Outbox,
  deploymentRegistry: Address,
  logger: Pick<Logger, "info">,
  opts: { failureBackoffMs?: number; pollIntervalMs?: number; pendingTimeoutMs?: number } = {},
): Promise<{ mined: number; dropped: number; alreadyDone: number }> {
  const counts = { mined: 0, dropped: 0, alreadyDone: 0 };
  for (const tx of outbox.pendingTxs()) {
    const wait = await awaitReceipt(client, tx.hash, { timeoutMs: opts.pendingTimeoutMs ?? 10_000, pollMs: opts.pollIntervalMs ?? 100 });
    if (wait.state === "mined") {
      const { receipt } = wait;
      await outbox.recordMined(
        tx,
        receipt.blockNumber,
        receipt.status === "success",
        Date.now() + (opts.failureBackoffMs ?? 2000),
        receipt.status === "success" ? undefined : "reverted",
      );
      counts.mined++;
      continue;
    }
    const head = await client.getBlockNumber();
    const done = new Map<string, bigint>();
    for (const op of outbox.opsOf(tx)) if (await actionTookEffect(client, deploymentRegistry, op.action)) done.set(op.key, head);
    counts.alreadyDone += done.size;
    counts.dropped++;
    await outbox.dropTx(tx, done);
  }
  if (counts.mined + counts.dropped) logger.info(counts, "outbox resumed from the chain");
  return counts;
}
