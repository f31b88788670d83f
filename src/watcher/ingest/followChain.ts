/**
 * The chain follower: polls eth_getLogs over block ranges for the NodeRegistry and
 * DeploymentRegistry (never event filters, which can silently miss events) and detects reorgs by
 * comparing the stored block hashes with the chain's. Each step returns what it found, a range of
 * decoded events, a reorg (with the common ancestor) or nothing new, and its owner applies that
 * to the store: the follower reads the cursor and the recent hashes, and never writes (Ponder's
 * sync-realtime). It knows blocks, logs and reorgs, and nothing about deployments.
 *
 * Deep in the history (the range ends more than `finalityDepth` blocks below the head) no reorg
 * can reach the range, the store's own assumption (it keeps no undo there): a step then fetches
 * the logs and the last block's hash in one round trip, without re-checking the cursor, and asks
 * for the next range before it returns, so the node serves it while the owner applies this one.
 */
import type { Address, Hex, Log, PublicClient } from "viem";
import { getLogsSplitting } from "../../chain/logs";
import type { Cursor } from "../store/stateStore";
import { decodeHyphaLogs, type HyphaEvent } from "./decodeLogs";
import { nextRangeSize } from "./rangeSize";

export interface FollowerOptions {
  nodeRegistry: Address;
  deploymentRegistry: Address;
  startBlock: bigint;
  initialBlockRange: number;
  maxBlockRange: number;
  /** About this many logs per eth_getLogs reply (the range shrinks and grows to it; default 1000: a reply is garbage soon, and a smaller one leaves the heap less to grow by). */
  targetLogsPerRange?: number;
  /** Blocks this far below the head are final (the store's reorg depth; default 256). */
  finalityDepth?: number;
}

/** What the follower reads of the state it feeds: where it stands, and the block hashes it derived state from. */
export interface FollowedState {
  cursor(): Cursor | undefined;
  /** Newest first. */
  recentHashes(): Cursor[];
}

/** What one step found; the owner applies it (StateStore.applyRange / rollbackTo). */
export type Step =
  /** The events of blocks (cursor, to], in chain order; apply them and move the cursor to `to`. */
  | { kind: "range"; events: HyphaEvent[]; to: Cursor; head: bigint; caughtUp: boolean }
  /** Blocks after `ancestor` left the chain (undefined: none of the stored ones is left); roll back to it. */
  | { kind: "reorg"; ancestor: Cursor | undefined; removedFrom: bigint; head: bigint; caughtUp: false }
  /** Nothing to apply: at the head, or the chain moved while reading (the next step reads again). */
  | { kind: "idle"; head: bigint; caughtUp: boolean };

interface Fetched {
  logs: Log[];
  hash: Hex;
}

/**
 * Follows the Hypha contracts' events. Call `step()` in a loop and apply what it returns; it throws
 * on RPC errors (after shrinking the range), and the caller backs off and calls again.
 * @example const f = new ChainFollower(client, store, opts); for (;;) { const s = await f.step(); if (s.kind === "range") await store.applyRange(s.events, s.to, undefined, s.head); if (s.caughtUp) break; }
 */
export class ChainFollower {
  private range: number;
  /** The smallest span a node refused as too large, less one: the range never grows past it. */
  private cap: number;
  /** The head the last full step saw (deep steps go by it; the head only moves on). */
  private knownHead: bigint | undefined;
  /** The next deep range, asked for before the last step returned. */
  private prefetched: { from: bigint; to: bigint; result: Promise<Fetched | { error: unknown }> } | undefined;
  reorgs = 0;

  constructor(
    private readonly client: PublicClient,
    private readonly state: FollowedState,
    private readonly opts: FollowerOptions,
  ) {
    this.range = opts.initialBlockRange;
    this.cap = opts.maxBlockRange;
  }

  /** Current getLogs range size. */
  rangeSize(): number {
    return this.range;
  }

  /** Fetch the next range, or detect a reorg. */
  async step(): Promise<Step> {
    const cursor = this.state.cursor();
    const from = cursor ? cursor.number + 1n : this.opts.startBlock;
    if (this.isDeep(from, this.range)) return this.deepStep(from);
    this.prefetched = undefined;
    const head = await this.client.getBlock({ blockTag: "latest" });
    this.knownHead = head.number;
    if (cursor) {
      const atCursor = head.number === cursor.number ? head : head.number < cursor.number ? null : await this.client.getBlock({ blockNumber: cursor.number });
      if (!atCursor || atCursor.hash !== cursor.hash) return this.findAncestor(head.number);
    }
    if (from > head.number) return { kind: "idle", caughtUp: true, head: head.number };
    if (this.isDeep(from, this.range)) return this.deepStep(from);
    const to = bigMin(head.number, from + BigInt(this.range) - 1n);
    const before = to === head.number ? head : await this.client.getBlock({ blockNumber: to });
    const logs = await this.getLogs(from, to);
    const [after, cursorNow] = await Promise.all([
      this.client.getBlock({ blockNumber: to }),
      cursor ? this.client.getBlock({ blockNumber: cursor.number }) : Promise.resolve(undefined),
    ]);
    // The chain moved under us while we read: try again next step (which finds the reorg, if any).
    if (after.hash !== before.hash || (cursor && cursorNow?.hash !== cursor.hash)) return { kind: "idle", caughtUp: false, head: head.number };
    if (logs.some((l) => l.blockNumber === to && l.blockHash !== after.hash)) return { kind: "idle", caughtUp: false, head: head.number };
    this.sizeNext(logs.length);
    return {
      kind: "range",
      events: decodeHyphaLogs(logs, this.opts),
      to: { number: to, hash: after.hash as Hex },
      head: head.number,
      caughtUp: to === head.number,
    };
  }

  /** A range of final blocks: the logs and the last block's hash in one round trip, the next range asked for at once. */
  private async deepStep(from: bigint): Promise<Step> {
    const head = this.knownHead!;
    const to = from + BigInt(this.range) - 1n;
    const ready = this.prefetched;
    this.prefetched = undefined;
    const fetched = await (ready && ready.from === from && ready.to === to ? ready.result : this.fetchFinal(from, to));
    if ("error" in fetched) {
      this.knownHead = undefined; // the next step looks at the chain afresh
      throw fetched.error;
    }
    this.sizeNext(fetched.logs.length);
    if (this.isDeep(to + 1n, this.range)) {
      const next = { from: to + 1n, to: to + BigInt(this.range), result: this.fetchFinal(to + 1n, to + BigInt(this.range)) };
      this.prefetched = next;
    }
    return { kind: "range", events: decodeHyphaLogs(fetched.logs, this.opts), to: { number: to, hash: fetched.hash }, head, caughtUp: false };
  }

  /** Never rejects: a failure is handed to the step that uses it (a prefetch nobody uses fails quietly). */
  private fetchFinal(from: bigint, to: bigint): Promise<Fetched | { error: unknown }> {
    return Promise.all([this.getLogs(from, to), this.client.getBlock({ blockNumber: to })]).then(
      ([logs, block]) => ({ logs, hash: block.hash as Hex }),
      (error: unknown) => ({ error }),
    );
  }

  private isDeep(from: bigint, range: number): boolean {
    return this.knownHead !== undefined && from + BigInt(range) - 1n + BigInt(this.opts.finalityDepth ?? 256) < this.knownHead;
  }

  private async getLogs(from: bigint, to: bigint): Promise<Log[]> {
    try {
      return await getLogsSplitting(
        this.client,
        { address: [this.opts.nodeRegistry, this.opts.deploymentRegistry], fromBlock: from, toBlock: to },
        { onRefused: (span) => (this.cap = Math.max(1, Math.min(this.cap, Number(span) - 1))) },
      );
    } catch (err) {
      this.range = nextRangeSize(this.range, "error", this.cap);
      throw err;
    }
  }

  private sizeNext(logs: number): void {
    this.range = nextRangeSize(Math.min(this.range, this.cap), "ok", this.cap, { logs, targetLogs: this.opts.targetLogsPerRange ?? 1000 });
  }

  /** The newest stored block still on the chain: the state rolls back to it. */
  private async findAncestor(head: bigint): Promise<Step> {
    this.reorgs++;
    let ancestor: Cursor | undefined;
    for (const known of this.state.recentHashes()) {
      if (known.number > head) continue;
      const block = await this.client.getBlock({ blockNumber: known.number });
      if (block.hash === known.hash) {
        ancestor = known;
        break;
      }
    }
    return { kind: "reorg", ancestor, removedFrom: ancestor ? ancestor.number + 1n : this.opts.startBlock, head, caughtUp: false };
  }
}

function bigMin(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
