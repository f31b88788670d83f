/**
 * How many uploads the store takes at once, and how much it may hold: a bounded number of uploads
 * stream to disk at a time, a bounded number wait for a slot (their bodies stay unread in the
 * socket, so waiting costs no memory), and the rest are told to come back (BUSY, 503). Bytes are
 * reserved while they arrive, so racing uploads cannot pass the size limit together, and the
 * filesystem keeps a reserve of free space whether or not a limit was set.
 */
import { promises as fsp } from "node:fs";
import { ImageError } from "./imageError";

export interface UploadGateOptions {
  /** Uploads streamed at the same time (default 4). */
  maxInFlight?: number;
  /** Uploads waiting for a slot before more are refused with BUSY (default 64). */
  maxWaiting?: number;
  /** Most bytes of objects the store may hold (undefined: no limit but the free-space reserve). */
  maxStoreBytes?: number;
  /** Free bytes the store's filesystem always keeps (default: 5% of it, at most 1 GiB). */
  minFreeBytes?: number;
  /** Bytes of objects already in the store. */
  usedBytes: number;
  /** The directory whose filesystem is checked for free space. */
  dir: string;
}

/** One admitted upload: count its bytes as they arrive, then settle or release it. */
export interface UploadTicket {
  /** Reserve n more bytes; throws STORE_FULL past the limit or the free-space reserve. */
  take(n: number): void;
  /** The upload is done: `added` bytes are now objects of the store (0 if it had them). */
  settle(added: number): void;
  /** Give the slot back (always call, after settle or on failure). */
  release(): void;
}

/**
 * @example
 * const gate = await UploadGate.open({ dir, usedBytes: 0 });
 * const t = await gate.admit(contentLength); try { ...t.take(n)...; t.settle(size) } finally { t.release() }
 */
export class UploadGate {
  readonly maxInFlight: number;
  readonly maxWaiting: number;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private used: number;
  private reserved = 0;
  private freeAtCheck = Number.POSITIVE_INFINITY;
  private readonly minFree: number;

  private constructor(
    private readonly opts: UploadGateOptions,
    minFree: number,
  ) {
    this.maxInFlight = opts.maxInFlight ?? 4;
    this.maxWaiting = opts.maxWaiting ?? 64;
    for (const [k, v] of Object.entries({ maxInFlight: this.maxInFlight, maxWaiting: this.maxWaiting }))
      if (!Number.isInteger(v) || v < (k === "maxInFlight" ? 1 : 0))
        throw new ImageError(`${k}: expected a whole number${k === "maxInFlight" ? " of at least 1" : ""}, got ${v}`, { code: "BAD_INPUT" });
    this.used = opts.usedBytes;
    this.minFree = minFree;
  }

  /** Reads the filesystem's size to choose the default free-space reserve. */
  static async open(opts: UploadGateOptions): Promise<UploadGate> {
    let minFree = opts.minFreeBytes;
    if (minFree === undefined) {
      const fs = await fsp.statfs(opts.dir);
      minFree = Math.min(2 ** 30, Math.floor(fs.blocks * fs.bsize * 0.05));
    }
    return new UploadGate(opts, minFree);
  }

  /** Bytes of objects the store holds (as far as uploads through this gate know). */
  get usedBytes(): number {
    return this.used;
  }

  get minFreeBytes(): number {
    return this.minFree;
  }

  /** Why the store cannot take uploads now (its disk is at the reserve or unreadable), or undefined. */
  async unhealthy(): Promise<string | undefined> {
    let free: number;
    try {
      const s = await fsp.statfs(this.opts.dir);
      free = s.bavail * s.bsize;
    } catch (err) {
      return `store directory ${this.opts.dir}: ${(err as Error).message}`;
    }
    if (free < this.minFree)
      return `disk of ${this.opts.dir}: ${free} bytes free, under the reserve of ${this.minFree} bytes: uploads are refused (reads still served)`;
    const max = this.opts.maxStoreBytes;
    if (max !== undefined && this.used >= max) return `store full: ${this.used} of ${max} bytes used: uploads are refused (reads still served)`;
    return undefined;
  }

  /** Uploads streaming now and waiting for a slot. */
  get load(): { inFlight: number; waiting: number } {
    return { inFlight: this.inFlight, waiting: this.waiting.length };
  }

  /**
   * Waits for a slot (BUSY when too many wait already) and checks that `expectedBytes` (the
   * request's content-length, when it gave one) fits, before one byte of the body is read.
   */
  async admit(expectedBytes?: number): Promise<UploadTicket> {
    if (this.inFlight >= this.maxInFlight) {
      if (this.waiting.length >= this.maxWaiting)
        throw new ImageError(`store busy: ${this.inFlight} uploads in flight and ${this.waiting.length} waiting; try again shortly`, { code: "BUSY" });
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.inFlight++;
    // From here the slot is ours (a released slot is handed over without decrementing).
    let released = false;
    let mine = 0;
    const release = () => {
      if (released) return;
      released = true;
      this.reserved -= mine;
      mine = 0;
      const next = this.waiting.shift();
      if (next) next();
      else this.inFlight--;
    };
    try {
      this.freeAtCheck = (await fsp.statfs(this.opts.dir).then((s) => s.bavail * s.bsize)) + this.reserved;
      if (expectedBytes !== undefined) this.check(expectedBytes);
    } catch (err) {
      release();
      throw err;
    }
    return {
      take: (n) => {
        this.check(n);
        this.reserved += n;
        mine += n;
      },
      settle: (added) => {
        this.used += added;
      },
      release,
    };
  }

  private check(more: number): void {
    const max = this.opts.maxStoreBytes;
    if (max !== undefined && this.used + this.reserved + more > max)
      throw new ImageError(`store full: ${this.used} of ${max} bytes used, ${this.reserved} arriving, an upload needs ${more} more`, { code: "STORE_FULL" });
    const free = this.freeAtCheck - this.reserved - more;
    if (free < this.minFree)
      throw new ImageError(`store full: its disk would have ${Math.max(0, free)} bytes free, under the reserve of ${this.minFree} bytes`, {
        code: "STORE_FULL",
      });
  }
}
