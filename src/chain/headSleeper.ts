/**
 * A sleep that a new block ends early: for a follower that reads the chain after each block (the
 * CLI's `--wait`) instead of at a fixed poll. Built on NewHeads (a WebSocket newHeads
 * subscription where the RPC offers one); without one, every sleep runs its full length, so the
 * follower polls as before.
 */
import type { Logger } from "../logger";
import { NewHeads } from "./newHeads";

/** Sleeps until the next block or a timeout, whichever is first. */
export class HeadSleeper {
  private wake: (() => void) | null = null;
  private readonly heads: NewHeads;

  private constructor(rpcUrl: string, logger?: Pick<Logger, "info">) {
    this.heads = NewHeads.start(rpcUrl, {
      logger,
      onHead: () => {
        const wake = this.wake;
        this.wake = null;
        wake?.();
        return wake !== null;
      },
    });
  }

  /**
   * Subscribe to `rpcUrl`'s new blocks (start it before sending what is to be followed, so no block is missed).
   * @example const sleeper = HeadSleeper.start(rpcUrl); try { await follow({ sleep: (ms) => sleeper.sleep(ms) }) } finally { await sleeper.close() }
   */
  static start(rpcUrl: string, logger?: Pick<Logger, "info">): HeadSleeper {
    return new HeadSleeper(rpcUrl, logger);
  }

  /** Resolves at the next block, at once if one arrived since the last sleep ended, or after `ms`. */
  sleep(ms: number): Promise<void> {
    if (this.heads.takeHead()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Resolves once the subscription is live (true) or its first attempt failed (false). */
  get ready(): Promise<boolean> {
    return this.heads.ready;
  }

  async close(): Promise<void> {
    this.wake?.();
    this.wake = null;
    await this.heads.close();
  }
}
