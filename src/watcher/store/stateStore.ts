/**
 * The observed-state store: every record derived from events, the ingest cursor and the recent
 * block hashes, kept in memory and written to LevelDB in one atomic batch per ingested block range.
 * Each block that changed state leaves an undo log (the previous value of every key it touched), so
 * a reorg rolls the state back to the common ancestor exactly. It knows records, not RPC.
 */
import type { Level } from "level";
import type { Hex } from "viem";
import type { HyphaEvent } from "../ingest/decodeLogs";
import { applyHyphaEvent } from "./applyEvent";
import { decodeRecord, encodeRecord } from "./codec";
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

type BatchOp = { type: "put"; key: string; value: string } | { type: "del"; key: string };

const STATE = "s:";
const UNDO = "u:";
const HASH = "h:";
const CURSOR = "m:cursor";
const blockKey = (n: bigint) => n.toString().padStart(16, "0");

/**
 * Observed state backed by LevelDB. Open with `StateStore.open(db)`; `db` may be shared with the
 * outbox (keys here start with s:, u:, h:, m:).
 * @example const store = await StateStore.open(db, 256); store.deployments().length
 */
export class StateStore implements StateSnapshot {
  private readonly records = new Map<string, unknown>();
  private readonly nodeIds = new Set<string>();
  private readonly deploymentIds = new Set<string>();
  private readonly hashes = new Map<bigint, Hex>();
  private readonly undoBlocks = new Set<bigint>();
  private currentCursor: Cursor | undefined;

  private constructor(
    private readonly db: Level<string, string>,
    private readonly reorgDepth: number,
  ) {}

  /** Load the stored state, cursor and recent hashes. */
  static async open(db: Level<string, string>, reorgDepth = 256): Promise<StateStore> {
    const store = new StateStore(db, reorgDepth);
    for await (const [key, value] of db.iterator()) {
      if (key.startsWith(STATE)) store.setRecord(key.slice(STATE.length), decodeRecord(value));
      else if (key.startsWith(HASH)) store.hashes.set(BigInt(key.slice(HASH.length)), value as Hex);
      else if (key.startsWith(UNDO)) store.undoBlocks.add(BigInt(key.slice(UNDO.length)));
      else if (key === CURSOR) store.currentCursor = decodeRecord<Cursor>(value);
    }
    return store;
  }

  /**
   * Deletes every state record, undo log, block hash and the cursor (not the outbox), so the next
   * open replays from the start block. For a state that failed its checks (checkState.ts).
   */
  static async clear(db: Level<string, string>): Promise<number> {
    const ops: BatchOp[] = [];
    for await (const key of db.keys()) if ([STATE, UNDO, HASH].some((p) => key.startsWith(p)) || key === CURSOR) ops.push({ type: "del", key });
    await db.batch(ops);
    return ops.length;
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
   * every block the events came from (and any other block worth remembering).
   */
  async applyRange(events: HyphaEvent[], to: Cursor, blockHashes: Map<bigint, Hex> = new Map()): Promise<void> {
    const ops: BatchOp[] = [];
    const touched = new Map<string, unknown>();
    const undo = new Map<bigint, Array<[string, string | null]>>();
    let block: bigint | undefined;
    let seenInBlock = new Set<string>();
    const current = (key: string) => (touched.has(key) ? touched.get(key) : this.records.get(key));
    const access: StateAccess = {
      get: <T>(key: string) => current(key) as T | undefined,
      put: (key: string, value: unknown) => {
        if (!seenInBlock.has(key)) {
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
        if (!undo.has(block)) undo.set(block, []);
        blockHashes.set(block, event.blockHash);
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
    const ops: BatchOp[] = [];
    const blocks = [...this.undoBlocks].filter((n) => ancestor === undefined || n > ancestor.number).sort((a, b) => (a > b ? -1 : 1));
    if (ancestor === undefined) {
      for await (const key of this.db.keys()) if ([STATE, UNDO, HASH].some((p) => key.startsWith(p)) || key === CURSOR) ops.push({ type: "del", key });
      await this.db.batch(ops);
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
    for (const [key, prev] of restored) {
      if (prev === null) this.deleteRecord(key);
      else this.setRecord(key, decodeRecord(prev));
    }
    for (const n of blocks) this.undoBlocks.delete(n);
    for (const n of droppedHashes) this.hashes.delete(n);
    this.hashes.set(ancestor.number, ancestor.hash);
    this.currentCursor = ancestor;
    return { blocksUndone: blocks.length };
  }

  /** Every state record, keys sorted (tests compare a followed state with a fresh replay). */
  dump(): Record<string, unknown> {
    return Object.fromEntries([...this.records.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
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

  private setRecord(key: string, value: unknown): void {
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
  private prunable(head: bigint, freshUndo: bigint[], freshHashes: bigint[]): { ops: BatchOp[]; apply: () => void } {
    const floor = head - BigInt(this.reorgDepth);
    const undo = [...new Set([...this.undoBlocks, ...freshUndo])].filter((n) => n < floor);
    const hashes = [...new Set([...this.hashes.keys(), ...freshHashes])].filter((n) => n < floor);
    return {
      ops: [...undo.map((n): BatchOp => ({ type: "del", key: UNDO + blockKey(n) })), ...hashes.map((n): BatchOp => ({ type: "del", key: HASH + blockKey(n) }))],
      apply: () => {
        for (const n of undo) this.undoBlocks.delete(n);
        for (const n of hashes) this.hashes.delete(n);
      },
    };
  }
}
