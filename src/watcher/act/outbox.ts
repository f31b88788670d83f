/**
 * The persistent outbox: every transaction the watcher sends is written here, with the idempotency
 * keys of the actions it carries, its sender, nonce and hash, BEFORE it is broadcast. After a crash
 * the outbox is resumed by asking the chain what became of each transaction (resumeOutbox.ts),
 * never by resending blindly. An action's key stays "in flight" until the ingested state shows its
 * effect (or it failed and its back-off passed), so reconcile never issues it twice.
 */
import type { Address, Hex } from "viem";
import { decodeRecord, encodeRecord } from "../store/codec";
import type { KvOp, KvStore } from "../store/kvStore";
import type { InFlightReservation, WatcherAction } from "../decide/reconcile";

/** Where an action stands. */
export interface OutboxOp {
  key: string;
  action: WatcherAction;
  state: "sent" | "mined" | "failed";
  sender?: Address;
  nonce?: number;
  txHash?: Hex;
  /** Block the transaction was mined in; the op is dropped once ingest has passed it. */
  minedBlock?: bigint;
  /** A failed op blocks its key until then (ms since epoch), as a back-off. */
  retryAfter?: number;
  error?: string;
}

/** A signed transaction, persisted before broadcast. */
export interface OutboxTx {
  sender: Address;
  nonce: number;
  hash: Hex;
  opKeys: string[];
  sentAt: number;
}

const OP = "o:op:";
const TX = "o:tx:";
const NONCE = "o:nonce:";
const txKey = (sender: Address, nonce: number) => `${TX}${sender.toLowerCase()}:${String(nonce).padStart(12, "0")}`;

/**
 * The outbox, kept in memory and in the KvStore (keys starting o:; LevelDB or the shared PostgreSQL).
 * @example const outbox = await Outbox.open(db); outbox.inFlightKeys()
 */
export class Outbox {
  private readonly ops = new Map<string, OutboxOp>();
  private readonly txs = new Map<string, OutboxTx>();
  private readonly nonces = new Map<string, number>();
  /** Transactions ever recorded as sent by this process (for status). */
  sentCount = 0;
  /** Transactions mined reverted since start (for metrics). */
  revertedCount = 0;
  /** When each unmined transaction was recorded here (this process's clock; for the outbox age metric). */
  private readonly recordedAt = new Map<string, number>();

  private constructor(private readonly db: KvStore) {}

  static async open(db: KvStore): Promise<Outbox> {
    const outbox = new Outbox(db);
    for await (const [key, value] of db.entries({ gte: "o:", lt: "o;" })) {
      if (key.startsWith(OP)) outbox.ops.set(key.slice(OP.length), decodeRecord<OutboxOp>(value));
      else if (key.startsWith(TX)) outbox.txs.set(key, decodeRecord<OutboxTx>(value));
      else if (key.startsWith(NONCE)) outbox.nonces.set(key.slice(NONCE.length), Number(value));
    }
    return outbox;
  }

  has(key: string): boolean {
    return this.ops.has(key);
  }

  get(key: string): OutboxOp | undefined {
    return this.ops.get(key);
  }

  /** Keys reconcile must not issue again yet. */
  inFlightKeys(): Set<string> {
    return new Set(this.ops.keys());
  }

  /** Capacity taken by placements sent but not yet ingested. */
  reservations(): InFlightReservation[] {
    const out: InFlightReservation[] = [];
    for (const op of this.ops.values()) {
      if (op.action.type !== "schedule" || op.state === "failed") continue;
      const { intent, nodeId } = op.action;
      out.push({ nodeId, cpuMillis: intent.cpuMillis, memoryMiB: intent.memoryMiB, diskMiB: intent.diskMiB });
    }
    return out;
  }

  /** Transactions sent and not yet resolved (mined or dropped). */
  pendingTxs(): OutboxTx[] {
    return [...this.txs.values()].sort((a, b) => a.nonce - b.nonce);
  }

  opsOf(tx: OutboxTx): OutboxOp[] {
    return tx.opKeys.map((k) => this.ops.get(k)).filter((o): o is OutboxOp => o !== undefined);
  }

  /** The next nonce this sender will use, as persisted (undefined if never used). */
  storedNonce(sender: Address): number | undefined {
    return this.nonces.get(sender.toLowerCase());
  }

  async setNonce(sender: Address, next: number): Promise<void> {
    await this.db.put(NONCE + sender.toLowerCase(), String(next));
    this.nonces.set(sender.toLowerCase(), next);
  }

  /** Record a signed transaction and its actions, and advance the sender's nonce, atomically. */
  async recordSent(tx: OutboxTx, actions: WatcherAction[]): Promise<void> {
    const batch: KvOp[] = [];
    const records = actions.map((action): OutboxOp => ({ key: action.key, action, state: "sent", sender: tx.sender, nonce: tx.nonce, txHash: tx.hash }));
    for (const op of records) batch.push({ type: "put", key: OP + op.key, value: encodeRecord(op) });
    batch.push({ type: "put", key: txKey(tx.sender, tx.nonce), value: encodeRecord(tx) });
    batch.push({ type: "put", key: NONCE + tx.sender.toLowerCase(), value: String(tx.nonce + 1) });
    await this.db.batch(batch);
    for (const op of records) this.ops.set(op.key, op);
    this.txs.set(txKey(tx.sender, tx.nonce), tx);
    this.nonces.set(tx.sender.toLowerCase(), tx.nonce + 1);
    this.recordedAt.set(txKey(tx.sender, tx.nonce), Date.now());
    this.sentCount++;
  }

  /** The transaction was mined: its actions succeeded (kept until ingest passes the block) or reverted (back off). */
  async recordMined(tx: OutboxTx, blockNumber: bigint, success: boolean, retryAfter: number, error?: string): Promise<void> {
    const batch: KvOp[] = [{ type: "del", key: txKey(tx.sender, tx.nonce) }];
    const updated = this.opsOf(tx).map(
      (op): OutboxOp => (success ? { ...op, state: "mined", minedBlock: blockNumber } : { ...op, state: "failed", minedBlock: blockNumber, retryAfter, error }),
    );
    for (const op of updated) batch.push({ type: "put", key: OP + op.key, value: encodeRecord(op) });
    await this.db.batch(batch);
    for (const op of updated) this.ops.set(op.key, op);
    this.txs.delete(txKey(tx.sender, tx.nonce));
    this.recordedAt.delete(txKey(tx.sender, tx.nonce));
    if (!success) this.revertedCount++;
  }

  /** The transaction never reached the chain: forget it and the actions it carried (reconcile decides again). */
  async dropTx(tx: OutboxTx, keepKeys: Map<string, bigint> = new Map()): Promise<void> {
    const batch: KvOp[] = [{ type: "del", key: txKey(tx.sender, tx.nonce) }];
    const kept: OutboxOp[] = [];
    for (const op of this.opsOf(tx)) {
      const block = keepKeys.get(op.key);
      if (block !== undefined) {
        const done: OutboxOp = { ...op, state: "mined", minedBlock: block };
        kept.push(done);
        batch.push({ type: "put", key: OP + op.key, value: encodeRecord(done) });
      } else batch.push({ type: "del", key: OP + op.key });
    }
    await this.db.batch(batch);
    for (const op of this.opsOf(tx)) this.ops.delete(op.key);
    for (const op of kept) this.ops.set(op.key, op);
    this.txs.delete(txKey(tx.sender, tx.nonce));
    this.recordedAt.delete(txKey(tx.sender, tx.nonce));
  }

  /** An action was rejected before any transaction (simulation reverted): block its key until `retryAfter`. */
  markFailed(action: WatcherAction, retryAfter: number, error: string): void {
    this.ops.set(action.key, { key: action.key, action, state: "failed", retryAfter, error });
  }

  /** Forget actions whose effect the ingested state now shows, and failed ones whose back-off is over. */
  async prune(cursorBlock: bigint | undefined, now: number): Promise<number> {
    const batch: KvOp[] = [];
    const gone: string[] = [];
    for (const op of this.ops.values()) {
      const ingested = op.state === "mined" && cursorBlock !== undefined && op.minedBlock !== undefined && op.minedBlock <= cursorBlock;
      const backedOff =
        op.state === "failed" && (op.retryAfter ?? 0) <= now && (op.minedBlock === undefined || (cursorBlock !== undefined && op.minedBlock <= cursorBlock));
      if (ingested || backedOff) {
        gone.push(op.key);
        if (op.txHash) batch.push({ type: "del", key: OP + op.key });
      }
    }
    if (batch.length) await this.db.batch(batch);
    for (const k of gone) this.ops.delete(k);
    return gone.length;
  }

  /**
   * A reorg removed blocks after `ancestor` (all blocks when undefined): actions recorded as mined
   * there are forgotten (reconcile decides them again against the new chain).
   */
  async forgetMinedAfter(ancestor: bigint | undefined): Promise<number> {
    const gone = [...this.ops.values()].filter((op) => op.minedBlock !== undefined && (ancestor === undefined || op.minedBlock > ancestor));
    if (gone.length) await this.db.batch(gone.map((op) => ({ type: "del" as const, key: OP + op.key })));
    for (const op of gone) this.ops.delete(op.key);
    return gone.length;
  }

  /** Seconds the oldest unmined transaction has waited (0 when none; resumed ones count from start). */
  oldestUnminedAgeSeconds(now = Date.now()): number {
    let oldest = now;
    for (const key of this.txs.keys()) {
      if (!this.recordedAt.has(key)) this.recordedAt.set(key, now); // resumed from disk: counted from when first seen
      oldest = Math.min(oldest, this.recordedAt.get(key)!);
    }
    return (now - oldest) / 1000;
  }

  /** Counts by state, for the status API. */
  depth(): { sent: number; mined: number; failed: number; txs: number } {
    const d = { sent: 0, mined: 0, failed: 0, txs: this.txs.size };
    for (const op of this.ops.values()) d[op.state]++;
    return d;
  }
}
