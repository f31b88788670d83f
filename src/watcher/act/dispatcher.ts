/**
 * Hands the latest reconcile decision to the sender accounts: placements batched into
 * scheduleMany transactions and terminations into terminateMany transactions of up to
 * `maxBatchSize` actions and under the per-transaction gas cap, reportLost one per transaction, each sender
 * busy with at most one transaction at a time (sequential nonces) and all senders in parallel. The
 * queue is replaced by every reconcile (level-triggered: a stale decision is never sent later);
 * actions a sender has taken stay "in progress" until the outbox holds them.
 */
import type { InFlightReservation, WatcherAction } from "../decide/reconcile";
import type { Outbox } from "./outbox";
import { splitUnderGasCap } from "../../chain/gasCosts";
import { actionGasItem, type SenderWorker } from "./senderWorker";
import type { Logger } from "../../logger";

/**
 * Distributes actions over sender workers.
 * @example const d = new ActionDispatcher(workers, outbox, { maxBatchSize: 40, logger }); d.replaceQueue(actions);
 */
export class ActionDispatcher {
  private queue: WatcherAction[] = [];
  private readonly inProgress = new Map<string, WatcherAction>();
  private closed = false;
  private readonly running = new Set<Promise<void>>();
  onIdleSender?: () => void;
  lastError: string | undefined;

  constructor(
    private readonly workers: SenderWorker[],
    private readonly outbox: Outbox,
    private readonly opts: { maxBatchSize: number; logger: Pick<Logger, "info" | "warn" | "error"> },
  ) {}

  /** Keys reconcile must leave out: in the outbox or being sent right now. */
  inFlightKeys(): Set<string> {
    const keys = this.outbox.inFlightKeys();
    for (const k of this.inProgress.keys()) keys.add(k);
    return keys;
  }

  /** Capacity taken by placements being sent or sent and not yet ingested. */
  reservations(): InFlightReservation[] {
    const out = this.outbox.reservations();
    for (const a of this.inProgress.values()) {
      if (a.type === "schedule" && !this.outbox.has(a.key))
        out.push({ nodeId: a.nodeId, cpuMillis: a.intent.cpuMillis, memoryMiB: a.intent.memoryMiB, diskMiB: a.intent.diskMiB });
    }
    return out;
  }

  /** Replace what waits to be sent with reconcile's latest decision, and start idle senders. */
  replaceQueue(actions: WatcherAction[]): void {
    this.queue = actions.filter((a) => !this.inProgress.has(a.key) && !this.outbox.has(a.key));
    this.pump();
  }

  queued(): number {
    return this.queue.length;
  }

  inProgressCount(): number {
    return this.inProgress.size;
  }

  /** Give every idle sender its next batch. */
  pump(): void {
    if (this.closed) return;
    for (const worker of this.workers) {
      if (worker.busy || this.queue.length === 0) continue;
      const batch = this.takeBatch();
      for (const a of batch) this.inProgress.set(a.key, a);
      worker.busy = true;
      const p = worker
        .send(batch)
        .catch((err: unknown) => {
          this.lastError = err instanceof Error ? err.message.split("\n")[0] : String(err);
          this.opts.logger.error({ err: this.lastError, sender: worker.address }, "sending failed; reconcile will decide again");
        })
        .finally(() => {
          for (const a of batch) this.inProgress.delete(a.key);
          this.running.delete(p);
          this.onIdleSender?.();
          this.pump();
        });
      this.running.add(p);
    }
  }

  /** Stop handing out work and wait for transactions in progress to settle. */
  async close(): Promise<void> {
    this.closed = true;
    this.queue = [];
    await Promise.allSettled([...this.running]);
  }

  private takeBatch(): WatcherAction[] {
    const first = this.queue[0]!;
    if (first.type === "reportLost") {
      this.queue.shift();
      return [first];
    }
    const batch: WatcherAction[] = [];
    const rest: WatcherAction[] = [];
    for (const a of this.queue) {
      if (a.type === first.type && batch.length < this.opts.maxBatchSize) batch.push(a);
      else rest.push(a);
    }
    // No transaction may ask for more gas than the node's per-transaction cap: what does not fit
    // waits for the next batch (at the front, in order).
    const [fits, ...over] = splitUnderGasCap(batch, actionGasItem);
    this.queue = [...over.flat(), ...rest];
    return fits!;
  }
}
