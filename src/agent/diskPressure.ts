/**
 * The agent's DiskPressure condition, like the kubelet's: the node's data disk is short of space,
 * so the node reports it (on /healthz and /v1/node), evicts what it can rebuild (image trees no run
 * uses, half-fetched ones, partial chunk files and the older half of its chunk cache), and the
 * watcher places nothing new on it until it recovers. Entered when free space falls under
 * `minFreeBytes` or a write failed with ENOSPC; left when free space is back above the threshold
 * plus a margin (hysteresis, so a node near the line does not flap). The verdict is pure; the
 * monitor around it reads statfs and runs the eviction.
 */
import { promises as fsp } from "node:fs";

/** A condition a node reports; while any is true, no new replica is placed on it. */
export interface NodeCondition {
  type: "DiskPressure" | "ChainUnreachable";
  status: boolean;
  reason: string;
  /** When it last changed (ms since epoch). */
  since: number;
}

export interface DiskPressureInput {
  freeBytes: number;
  minFreeBytes: number;
  /** Whether the condition holds now. */
  current: boolean;
  /** An ENOSPC seen since the last check. */
  enospc: string | undefined;
}

/** Free bytes above the threshold needed to leave DiskPressure (1/4 of the threshold). */
export const RECOVERY_MARGIN = 0.25;

/**
 * @example diskPressureVerdict({ freeBytes: 10, minFreeBytes: 100, current: false, enospc: undefined }) // { pressure: true, reason: "10 bytes free, under 100" }
 */
export function diskPressureVerdict(i: DiskPressureInput): { pressure: boolean; reason: string } {
  const free = `${i.freeBytes} bytes free`;
  if (i.enospc) return { pressure: true, reason: `a write failed for lack of space (${i.enospc}); ${free}` };
  if (i.freeBytes < i.minFreeBytes) return { pressure: true, reason: `${free}, under ${i.minFreeBytes}` };
  if (i.current && i.freeBytes < i.minFreeBytes * (1 + RECOVERY_MARGIN))
    return { pressure: true, reason: `${free}: recovering, needs ${Math.ceil(i.minFreeBytes * (1 + RECOVERY_MARGIN))}` };
  return { pressure: false, reason: `${free}` };
}

/** Whether an error is a full disk (ENOSPC, or EDQUOT for a quota), anywhere in its cause chain. */
export function isDiskFull(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown; message?: string } | undefined, i = 0; e && i < 8; e = e.cause as typeof e, i++) {
    if (e.code === "ENOSPC" || e.code === "EDQUOT" || /\bENOSPC\b|no space left on device/i.test(e.message ?? "")) return true;
  }
  return false;
}

export interface DiskPressureOptions {
  dir: string;
  /** Default: 5% of the disk, at most 1 GiB. */
  minFreeBytes?: number;
  intervalMs?: number;
  /** Frees what can be rebuilt; called on entering pressure and on each check while under it. */
  evict: () => Promise<{ bytes: number; what: string }>;
  onChange?: (c: NodeCondition) => void;
  /** Reads free bytes (default statfs of `dir`; tests give a real small filesystem instead). */
  freeBytes?: () => Promise<number>;
}

/**
 * @example const dp = await DiskPressureMonitor.start({ dir, evict }); dp.condition().status
 */
export class DiskPressureMonitor {
  private state: NodeCondition = { type: "DiskPressure", status: false, reason: "not checked yet", since: Date.now() };
  private enospc: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;

  private constructor(
    private readonly opts: DiskPressureOptions,
    readonly minFreeBytes: number,
  ) {}

  static async start(opts: DiskPressureOptions): Promise<DiskPressureMonitor> {
    let min = opts.minFreeBytes;
    if (min === undefined) {
      const s = await fsp.statfs(opts.dir);
      min = Math.min(2 ** 30, Math.floor(s.blocks * s.bsize * 0.05));
    }
    const m = new DiskPressureMonitor(opts, min);
    await m.check();
    m.timer = setInterval(() => void m.check(), opts.intervalMs ?? 5000);
    m.timer.unref();
    return m;
  }

  condition(): NodeCondition {
    return { ...this.state };
  }

  /** Report a failed write: ENOSPC puts the node under pressure at once (and evicts). */
  report(err: unknown): void {
    if (!isDiskFull(err)) return;
    this.enospc = ((err as Error).message ?? String(err)).split("\n")[0]!.slice(0, 200);
    void this.check();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One check: read free space, decide, evict while under pressure. */
  check(): Promise<void> {
    this.checking ??= this.runCheck().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async runCheck(): Promise<void> {
    const read = this.opts.freeBytes ?? (async () => ((s) => s.bavail * s.bsize)(await fsp.statfs(this.opts.dir)));
    let free = await read();
    const enospc = this.enospc;
    this.enospc = undefined;
    let verdict = diskPressureVerdict({ freeBytes: free, minFreeBytes: this.minFreeBytes, current: this.state.status, enospc });
    if (verdict.pressure) {
      const freed = await this.opts.evict().catch((err: unknown) => ({ bytes: 0, what: `eviction failed: ${(err as Error).message}` }));
      free = await read();
      // After an ENOSPC the eviction may have made room: judge the space left now, but stay under
      // pressure until it is back above the threshold plus the margin.
      verdict = diskPressureVerdict({ freeBytes: free, minFreeBytes: this.minFreeBytes, current: true, enospc: undefined });
      if (enospc && !verdict.pressure)
        verdict = { pressure: true, reason: `a write failed for lack of space (${enospc}); evicted ${freed.what}; checking again` };
      else verdict = { ...verdict, reason: `${verdict.reason}; evicted ${freed.what}` };
    }
    if (verdict.pressure !== this.state.status || verdict.reason !== this.state.reason) {
      const changed = verdict.pressure !== this.state.status;
      this.state = { type: "DiskPressure", status: verdict.pressure, reason: verdict.reason, since: changed ? Date.now() : this.state.since };
      if (changed) this.opts.onChange?.(this.condition());
    }
  }
}
