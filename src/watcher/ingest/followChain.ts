/**
 * The chain follower: polls eth_getLogs over block ranges for the NodeRegistry and
 * DeploymentRegistry (never event filters, which can silently miss events), applies the decoded
 * events to the store with the cursor in one atomic write, and detects reorgs by comparing the
 * stored block hashes with the chain's, rolling the store back to the common ancestor. It knows
 * blocks, logs and reorgs, and nothing about deployments.
 */
import type { Address, Hex, PublicClient } from "viem";
import type { Cursor, StateStore } from "../store/stateStore";
import { decodeHyphaLogs, type HyphaEvent } from "./decodeLogs";
import { nextRangeSize } from "./rangeSize";

export interface FollowerOptions {
  nodeRegistry: Address;
  deploymentRegistry: Address;
  startBlock: bigint;
  initialBlockRange: number;
  maxBlockRange: number;
  /** About this many logs per eth_getLogs reply (the range shrinks and grows to it; default 2000). */
  targetLogsPerRange?: number;
}

/** What one step did. */
export interface StepResult {
  /** Events applied in this step. */
  events: HyphaEvent[];
  /** True when the cursor is at the chain head. */
  caughtUp: boolean;
  /** Set when a reorg was found and the store rolled back. */
  reorg?: { removedFrom: bigint; ancestor: bigint | undefined };
  head: bigint;
}

/**
 * Follows the Hypha contracts' events into a StateStore. Call `step()` in a loop; it throws on RPC
 * errors (after halving the range), and the caller backs off and calls again.
 * @example const f = new ChainFollower(client, store, opts); while (!(await f.step()).caughtUp);
 */
export class ChainFollower {
  private range: number;
  reorgs = 0;

  constructor(
    private readonly client: PublicClient,
    private readonly store: StateStore,
    private readonly opts: FollowerOptions,
  ) {
    this.range = opts.initialBlockRange;
  }

  /** Current getLogs range size. */
  rangeSize(): number {
    return this.range;
  }

  /** Fetch and apply the next range, or detect and undo a reorg. */
  async step(): Promise<StepResult> {
    const head = await this.client.getBlock({ blockTag: "latest" });
    const cursor = this.store.cursor();
    if (cursor) {
      const atCursor = head.number === cursor.number ? head : head.number < cursor.number ? null : await this.client.getBlock({ blockNumber: cursor.number });
      if (!atCursor || atCursor.hash !== cursor.hash) return { events: [], caughtUp: false, reorg: await this.rollBack(head.number), head: head.number };
    }
    const from = cursor ? cursor.number + 1n : this.opts.startBlock;
    if (from > head.number) return { events: [], caughtUp: true, head: head.number };
    const to = bigMin(head.number, from + BigInt(this.range) - 1n);
    const before = to === head.number ? head : await this.client.getBlock({ blockNumber: to });
    let logs;
    try {
      logs = await this.client.getLogs({ address: [this.opts.nodeRegistry, this.opts.deploymentRegistry], fromBlock: from, toBlock: to });
    } catch (err) {
      this.range = nextRangeSize(this.range, "error", this.opts.maxBlockRange);
      throw err;
    }
    const [after, cursorNow] = await Promise.all([
      this.client.getBlock({ blockNumber: to }),
      cursor ? this.client.getBlock({ blockNumber: cursor.number }) : Promise.resolve(undefined),
    ]);
    // The chain moved under us while we read: try again next step (which finds the reorg, if any).
    if (after.hash !== before.hash || (cursor && cursorNow?.hash !== cursor.hash)) return { events: [], caughtUp: false, head: head.number };
    if (logs.some((l) => l.blockNumber === to && l.blockHash !== after.hash)) return { events: [], caughtUp: false, head: head.number };
    const events = decodeHyphaLogs(logs, this.opts);
    await this.store.applyRange(events, { number: to, hash: after.hash as Hex });
    this.range = nextRangeSize(this.range, "ok", this.opts.maxBlockRange, { logs: logs.length, targetLogs: this.opts.targetLogsPerRange ?? 2000 });
    return { events, caughtUp: to === head.number, head: head.number };
  }

  /** Find the newest stored block still on the chain and roll the store back to it. */
  private async rollBack(head: bigint): Promise<{ removedFrom: bigint; ancestor: bigint | undefined }> {
    this.reorgs++;
    let ancestor: Cursor | undefined;
    for (const known of this.store.recentHashes()) {
      if (known.number > head) continue;
      const block = await this.client.getBlock({ blockNumber: known.number });
      if (block.hash === known.hash) {
        ancestor = known;
        break;
      }
    }
    await this.store.rollbackTo(ancestor);
    return { removedFrom: ancestor ? ancestor.number + 1n : this.opts.startBlock, ancestor: ancestor?.number };
  }
}

function bigMin(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
