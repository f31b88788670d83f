/**
 * The observed-state store: every record derived from events, the ingest cursor and the recent
 * block hashes, written to the KvStore (LevelDB or PostgreSQL) in one atomic batch per ingested
 * block range. Live records are also kept in memory; a terminated deployment and its replicas leave
 * memory once written (they are read back from the store only when a late event touches them).
 * Each block that changed state leaves an undo log (the previous value of every key it touched), so
 * a reorg rolls the state back to the common ancestor exactly. It knows records, not RPC.
 */
import type { Hex } from "viem";
import type { HyphaEvent } from "../ingest/decodeLogs";
import { applyHyphaEvent } from "./applyEvent";
import { decodeRecord, encodeRecord } from "./codec";
import { prefixRange, type KvOp, type KvStore } from "./kvStore";
import {
  deploymentKey,
  measurementKey,
  replicaKey,
  type ObservedDeployment,
  type ObservedNode,
  type ObservedReplica,
  type StateAccess,
  type StateSnapshot,
} from "./observedState";

/** The last block whose events are fully applied. */
export interface Cursor {
  number: bigint;
  hash: Hex;
}

const STATE = "s:";
const UNDO = "u:";
const HASH = "h:";
const CURSOR = "m:cursor";
const blockKey = (n: bigint) => n.toString().padStart(16, "0");
/** The deployment id a dep: or rep: record belongs to. */
const deploymentIdOf = (key: string): string | undefined => (key.startsWith("dep:") ? key.slice(4) : key.startsWith("rep:") ? key.slice(4, 4 + 66) : undefined);

/**
 * Observed state backed by a KvStore. Open with `StateStore.open(kv)`; `kv` may be shared with the
 * outbox (keys here start with s:, u:, h:, m:).
 * @example const store = await StateStore.open(kv, 256); store.deployments().length
 */
export class StateStore implements StateSnapshot {
  private readonly records = new Map<string, unknown>();
  private readonly nodeIds = new Set<string>();
  private readonly deploymentIds = new Set<string>();
  private readonly hashes = new Map<bigint, Hex>();
  private readonly undoBlocks = new Set<bigint>();
  /** Terminated deployments whose records are only in the store (lower-case ids). */
  private readonly evicted = new Set<string>();
  private currentCursor: Cursor | undefined;

  private constructor(
    private readonly db: KvStore,
    private readonly reorgDepth: number,
  ) {}

  /** Load the live state, cursor and recent hashes (terminated deployments stay in the store). */
  static async open(db: KvStore, reorgDepth = 256): Promise<StateStore> {
    const store = new StateStore(db, reorgDepth);
    // Keys sort dep: before rep:, so a terminated deployment is known before its replicas arrive.
    for await (const [key, value] of db.entries(prefixRange(STATE))) {
      const record = decodeRecord(value);
      if (key.startsWith(STATE + "dep:") && (record as ObservedDeployment).terminated) store.evicted.add(key.slice(STATE.length + 4));
      else store.setRecord(key.slice(STATE.length), record);
    }
    for await (const [key, value] of db.entries(prefixRange(HASH))) store.hashes.set(BigInt(key.slice(HASH.length)), value as Hex);
    for await (const [key] of db.entries(prefixRange(UNDO))) store.undoBlocks.add(BigInt(key.slice(UNDO.length)));
    const cursor = await db.get(CURSOR);
    if (cursor !== undefined) store.currentCursor = decodeRecord<Cursor>(cursor);
    return store;
  }

  /**
   * Deletes every state record, undo log, block hash and the cursor (not the outbox), so the next
   * open replays from the start block. For a state that failed its checks (checkState.ts).
   */
  static async clear(db: KvStore): Promise<void> {
    // The cursor first: a crash half-way leaves records without a cursor, which checkState rejects.
    await db.batch([{ type: "del", key: CURSOR }]);
    for (const p of [STATE, UNDO, HASH]) await db.clear(prefixRange(p));
  }

  /** The last fully applied block, or undefined before the first range. */
  cursor(): Cursor | undefined {
    return this.currentCursor;
  }

  /** Recent block hashes this store derived state from, newest first. */
  recentHashes(): Cursor[] {
    return [...this.hashes.entries()].map(([number, hash]) => ({ number, hash })).sort((a, b) => (a.number > b.number ? -1 : a.number < b.number ? 1 : 0));
  }

  /**
   * Apply the events of blocks (cursor, to] and move the cursor to `to`, atomically: on disk (one
   * batch) and in memory (the records, hashes and cursor change together, after the batch is
   * written, so a reader never sees a state ahead of its cursor). `blockHashes` holds the hash of
   * every block the events came from (and any other block worth remembering). `head`, the chain's
   * head when known: blocks deeper than the reorg window below it can no longer be replaced, so a
   * catch-up through old history writes no undo log and no block hash for them.
   */
  async applyRange(events: HyphaEvent[], to: Cursor, blockHashes: Map<bigint, Hex> = new Map(), head: bigint = to.number): Promise<void> {
    const ops: KvOp[] = [];
    const touched = new Map<string, unknown>();
    const undo = new Map<bigint, Array<[string, string | null]>>();
    const reorgFloor = head - BigInt(this.reorgDepth);
    let block: bigint | undefined;
    let recordUndo = true;
    let seenInBlock = new Set<string>();
    const fetched = await this.fetchEvicted(events);
    const current = (key: string) => (touched.has(key) ? touched.get(key) : this.records.has(key) ? this.records.get(key) : fetched.get(key));
    const access: StateAccess = {
      get: <T>(key: string) => current(key) as T | undefined,
      put: (key: string, value: unknown) => {
        if (recordUndo && !seenInBlock.has(key)) {
          seenInBlock.add(key);
          const prev = current(key);
          undo.get(block!)!.push([key, prev === undefined ? null : encodeRecord(prev)]);
        }
        touched.set(key, value);
      },
    };
    for (const event of events) {
      if (event.blockNumber !== block) {
        block = event.blockNumber;
        seenInBlock = new Set();
        recordUndo = block >= reorgFloor;
        if (recordUndo) {
          if (!undo.has(block)) undo.set(block, []);
          blockHashes.set(block, event.blockHash);
        }
      }
      applyHyphaEvent(access, event);
    }
    for (const [key, value] of touched) ops.push({ type: "put", key: STATE + key, value: encodeRecord(value) });
    const undoneBlocks = [...undo].filter(([, entries]) => entries.length > 0).map(([n]) => n);
    for (const n of undoneBlocks) ops.push({ type: "put", key: UNDO + blockKey(n), value: JSON.stringify(undo.get(n)) });
    blockHashes.set(to.number, to.hash);
    for (const [n, hash] of blockHashes) ops.push({ type: "put", key: HASH + blockKey(n), value: hash });
    const pruned = this.prunable(to.number, undoneBlocks, [...blockHashes.keys()]);
    ops.push(...pruned.ops);
    ops.push({ type: "put", key: CURSOR, value: encodeRecord(to) });
    await this.db.batch(ops);
    // Written: now the in-memory state moves, all at once.
    for (const [key, value] of touched) this.setRecord(key, value);
    this.evictTerminated(touched.keys());
    for (const n of undoneBlocks) this.undoBlocks.add(n);
    for (const [n, hash] of blockHashes) this.hashes.set(n, hash);
    pruned.apply();
    this.currentCursor = to;
  }

  /**
   * Undo every block after `ancestor` (a reorg removed them) and set the cursor there. With no
   * ancestor, forget everything (the next range replays from the start block). Like applyRange,
   * the in-memory state changes only once the batch is written.
   */
  async rollbackTo(ancestor: Cursor | undefined): Promise<{ blocksUndone: number }> {
    const ops: KvOp[] = [];
    const blocks = [...this.undoBlocks].filter((n) => ancestor === undefined || n > ancestor.number).sort((a, b) => (a > b ? -1 : 1));
    if (ancestor === undefined) {
      await StateStore.clear(this.db);
      this.evicted.clear();
      this.records.clear();
      this.nodeIds.clear();
      this.deploymentIds.clear();
      this.hashes.clear();
      this.undoBlocks.clear();
      this.currentCursor = undefined;
      return { blocksUndone: blocks.length };
    }
    // Newest block first, each block's entries last-first: the oldest prior value of a key wins.
    const restored = new Map<string, string | null>();
    for (const n of blocks) {
      const entries = JSON.parse((await this.db.get(UNDO + blockKey(n))) ?? "[]") as Array<[string, string | null]>;
      for (const [key, prev] of entries.reverse()) restored.set(key, prev);
      ops.push({ type: "del", key: UNDO + blockKey(n) });
    }
    for (const [key, prev] of restored) ops.push(prev === null ? { type: "del", key: STATE + key } : { type: "put", key: STATE + key, value: prev });
    const droppedHashes = [...this.hashes.keys()].filter((n) => n > ancestor.number);
    for (const n of droppedHashes) ops.push({ type: "del", key: HASH + blockKey(n) });
    ops.push({ type: "put", key: HASH + blockKey(ancestor.number), value: ancestor.hash });
    ops.push({ type: "put", key: CURSOR, value: encodeRecord(ancestor) });
    await this.db.batch(ops);
    // A reorg may revive an evicted deployment: read its records back (as now written) first.
    const revived = new Map<string, unknown>();
    const revivedIds = [...new Set([...restored.keys()].map(deploymentIdOf))].filter((id): id is string => id !== undefined && this.evicted.has(id));
    for (const id of revivedIds) for (const [k, v] of await this.readDeploymentRecords(id)) revived.set(k, v);
    for (const id of revivedIds) this.evicted.delete(id);
    for (const [key, value] of revived) this.setRecord(key, value);
    for (const [key, prev] of restored) {
      if (prev === null) this.deleteRecord(key);
      else this.setRecord(key, decodeRecord(prev));
    }
    this.evictTerminated(restored.keys());
    for (const n of blocks) this.undoBlocks.delete(n);
    for (const n of droppedHashes) this.hashes.delete(n);
    this.hashes.set(ancestor.number, ancestor.hash);
    this.currentCursor = ancestor;
    return { blocksUndone: blocks.length };
  }

  /** Every state record as stored, keys sorted (tests compare a followed state with a fresh replay). */
  async dump(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for await (const [key, value] of this.db.entries(prefixRange(STATE))) out[key.slice(STATE.length)] = decodeRecord(value);
    return out;
  }

  /** Deployments ever submitted: the live ones in memory plus the terminated ones only in the store. */
  deploymentCount(): number {
    return this.deploymentIds.size + this.evicted.size;
  }

  /** Deployments read page by page from the store (terminated ones too), in id order after `after`. */
  async pageDeployments(opts: { after?: Hex; limit: number }): Promise<ObservedDeployment[]> {
    const range = prefixRange(STATE + "dep:");
    const out: ObservedDeployment[] = [];
    const after = opts.after === undefined ? undefined : STATE + deploymentKey(opts.after);
    for await (const [key, value] of this.db.entries(range)) {
      if (after !== undefined && key <= after) continue;
      out.push(decodeRecord<ObservedDeployment>(value));
      if (out.length >= opts.limit) break;
    }
    return out;
  }

  nodes(): ObservedNode[] {
    return [...this.nodeIds].sort().map((k) => this.records.get(k) as ObservedNode);
  }

  node(nodeId: number): ObservedNode | undefined {
    return this.nodes().find((n) => n.nodeId === nodeId);
  }

  deployments(): ObservedDeployment[] {
    return [...this.deploymentIds].map((k) => this.records.get(k) as ObservedDeployment);
  }

  deployment(id: Hex): ObservedDeployment | undefined {
    return this.records.get(deploymentKey(id)) as ObservedDeployment | undefined;
  }

  replicasOf(id: Hex): ObservedReplica[] {
    const dep = this.deployment(id);
    if (!dep) return [];
    const out: ObservedReplica[] = [];
    for (let i = 0; i < Math.max(dep.replicas, dep.intent.replicas); i++) {
      const r = this.records.get(replicaKey(id, i)) as ObservedReplica | undefined;
      if (r) out.push(r);
    }
    return out;
  }

  isMeasurementApproved(measurement: Hex): boolean {
    return this.records.get(measurementKey(measurement)) === true;
  }

  /** Records of evicted deployments that these events touch, read back from the store. */
  private async fetchEvicted(events: HyphaEvent[]): Promise<Map<string, unknown>> {
    const fetched = new Map<string, unknown>();
    if (this.evicted.size === 0) return fetched;
    const ids = new Set<string>();
    for (const e of events) {
      const id = (e.args as { id?: Hex }).id?.toLowerCase();
      if (id && this.evicted.has(id)) ids.add(id);
    }
    for (const id of ids) for (const [k, v] of await this.readDeploymentRecords(id)) fetched.set(k, v);
    return fetched;
  }

  private async readDeploymentRecords(id: string): Promise<Array<[string, unknown]>> {
    const out: Array<[string, unknown]> = [];
    const dep = await this.db.get(STATE + "dep:" + id);
    if (dep !== undefined) out.push(["dep:" + id, decodeRecord(dep)]);
    for await (const [k, v] of this.db.entries(prefixRange(`${STATE}rep:${id}:`))) out.push([k.slice(STATE.length), decodeRecord(v)]);
    return out;
  }

  /** Terminated deployments among these keys leave memory (their records are written already). */
  private evictTerminated(keys: Iterable<string>): void {
    const ids = new Set<string>();
    for (const key of keys) {
      const id = deploymentIdOf(key);
      if (id) ids.add(id);
    }
    for (const id of ids) if ((this.records.get("dep:" + id) as ObservedDeployment | undefined)?.terminated) this.evict(id);
  }

  /** Drop a deployment and its replicas (indexes 0.. without gaps) from memory. */
  private evict(id: string): void {
    this.deleteRecord("dep:" + id);
    for (let i = 0; this.records.delete(replicaKey(id as Hex, i)); i++);
    this.evicted.add(id);
  }

  private setRecord(key: string, value: unknown): void {
    const id = deploymentIdOf(key);
    if (id && this.evicted.has(id)) return; // a terminated deployment's record: it lives in the store only
    this.records.set(key, value);
    if (key.startsWith("node:")) this.nodeIds.add(key);
    else if (key.startsWith("dep:")) this.deploymentIds.add(key);
  }

  private deleteRecord(key: string): void {
    this.records.delete(key);
    this.nodeIds.delete(key);
    this.deploymentIds.delete(key);
  }

  /**
   * Undo logs and hashes older than the reorg window are no longer needed: the deletes to write
   * (`fresh*` are the ones this same batch adds) and the in-memory change to make once written.
   */
  private prunable(head: bigint, freshUndo: bigint[], freshHashes: bigint[]): { ops: KvOp[]; apply: () => void } {
    const floor = head - BigInt(this.reorgDepth);
    const undo = [...new Set([...this.undoBlocks, ...freshUndo])].filter((n) => n < floor);
    const hashes = [...new Set([...this.hashes.keys(), ...freshHashes])].filter((n) => n < floor);
    return {
      ops: [...undo.map((n): KvOp => ({ type: "del", key: UNDO + blockKey(n) })), ...hashes.map((n): KvOp => ({ type: "del", key: HASH + blockKey(n) }))],
      apply: () => {
        for (const n of undo) this.undoBlocks.delete(n);
        for (const n of hashes) this.hashes.delete(n);
      },
    };
  }
}
