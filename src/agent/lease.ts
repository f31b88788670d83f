/**
 * The agent's lease on its work (fencing, like a Kubernetes node lease or Nomad's
 * `stop_after_client_disconnect`): the node may run its replicas only while it has confirmed from
 * the chain, within the last `leaseMs`, that they are still placed on it at their attempt. Each
 * reconcile tick that reads the chain renews it from the moment the tick began; when it lapses
 * (the chain unreachable, the agent frozen), the agent stops its replicas itself, and the node
 * monitor (nodeMonitor.ts), a separate process that keeps running when the agent is frozen or
 * killed, stops them from outside. The lease lives in `<dataDir>/lease` as one line,
 * `<expiry> <agentPid> <held|released>`, the expiry in milliseconds of the kernel's uptime clock
 * (/proc/uptime, which both processes read and no clock setting moves).
 *
 * The rule that makes it a fence: leaseMs plus the monitor's check interval must be shorter than
 * the watcher's node-lost window minus its probe interval (see `maxLeaseMs`): by the time the
 * watcher may re-place a frozen node's replicas, the node can no longer run them.
 */
import { readFileSync, promises as fs } from "node:fs";
import path from "node:path";
import { AgentError } from "./errors";

/** What the lease file says. */
export interface LeaseRecord {
  /** Until when (uptime ms) the holder may run its replicas. */
  expiresAtMs: number;
  /** The agent process holding it. */
  agentPid: number;
  /** `released`: the agent stopped its replicas and shut down cleanly (the monitor exits). */
  state: "held" | "released";
}

/** Lease file name inside the agent's data directory. */
export const LEASE_FILE = "lease";

/**
 * Milliseconds since boot on the kernel's uptime clock (what the node monitor's shell reads).
 * @example uptimeMs() // 8281730
 */
export function uptimeMs(): number {
  const [up] = readFileSync("/proc/uptime", "utf8").split(" ");
  return Math.round(Number(up) * 1000);
}

/**
 * The longest lease that still fences before the watcher re-places a frozen node's replicas (pure):
 * the node-lost window, less one probe interval (the last good probe may be that old when the agent
 * froze), the monitor's check interval and a safety margin of a second.
 * @example maxLeaseMs(5000, 1000) // 2800
 */
export function maxLeaseMs(nodeLostAfterMs: number, probeIntervalMs: number, monitorIntervalMs = 200): number {
  return Math.max(0, nodeLostAfterMs - probeIntervalMs - monitorIntervalMs - 1000);
}

/**
 * The lease file's line for `r` (pure).
 * @example formatLease({ expiresAtMs: 1000, agentPid: 42, state: "held" }) // "1000 42 held\n"
 */
export function formatLease(r: LeaseRecord): string {
  return `${Math.floor(r.expiresAtMs)} ${r.agentPid} ${r.state}\n`;
}

/**
 * Parse a lease file's text (pure); null when it is not a lease line.
 * @example parseLease("1000 42 held\n") // { expiresAtMs: 1000, agentPid: 42, state: "held" }
 */
export function parseLease(text: string): LeaseRecord | null {
  const m = /^(\d+) (\d+) (held|released)\n?$/.exec(text);
  return m ? { expiresAtMs: Number(m[1]), agentPid: Number(m[2]), state: m[3] as LeaseRecord["state"] } : null;
}

/** The lease an agent holds on its node's work. */
export class Lease {
  private expiresAtMs = 0;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly file: string,
    /** 0: fencing off (the lease never lapses). */
    readonly leaseMs: number,
    private readonly now: () => number,
  ) {}

  /**
   * Open the lease of the agent whose data directory is `dataDir`. An earlier agent process's
   * unexpired lease is kept in the file (its replicas may run until then, so a restarted agent can
   * adopt them), now in this process's name (so the monitor sees a live agent), but this process
   * holds nothing until it has confirmed from the chain itself.
   * @example const lease = await Lease.open(".hypha/nodes/1", 3000);
   */
  static async open(dataDir: string, leaseMs: number, now: () => number = uptimeMs): Promise<Lease> {
    if (!Number.isInteger(leaseMs) || leaseMs < 0) throw new AgentError("leaseMs", `${leaseMs} is not a whole number of milliseconds >= 0`);
    const lease = new Lease(path.join(dataDir, LEASE_FILE), leaseMs, now);
    const earlier = parseLease(await fs.readFile(lease.file, "utf8").catch(() => ""));
    const expiresAtMs = earlier?.state === "held" ? earlier.expiresAtMs : 0;
    await lease.write({ expiresAtMs, agentPid: process.pid, state: "held" });
    return lease;
  }

  /** Whether the replicas may run now (always, when fencing is off). */
  valid(): boolean {
    return this.leaseMs === 0 || this.now() < this.expiresAtMs;
  }

  /** Milliseconds since the lease lapsed (0 while valid). */
  lapsedForMs(): number {
    return this.valid() ? 0 : this.now() - this.expiresAtMs;
  }

  /** The uptime-clock reading to pass to `renew` once the chain read that starts now has succeeded. */
  mark(): number {
    return this.now();
  }

  /** The chain confirmed this node's placements as of `confirmedAtMs` (a `mark()` taken before the read): hold until then + leaseMs. */
  async renew(confirmedAtMs: number): Promise<void> {
    if (this.leaseMs === 0) return;
    const expiresAtMs = confirmedAtMs + this.leaseMs;
    if (expiresAtMs <= this.expiresAtMs) return;
    this.expiresAtMs = expiresAtMs;
    await this.write({ expiresAtMs, agentPid: process.pid, state: "held" });
  }

  /** The agent stopped its replicas and shuts down: the monitor may exit. */
  async release(): Promise<void> {
    this.expiresAtMs = 0;
    await this.write({ expiresAtMs: 0, agentPid: process.pid, state: "released" });
  }

  private write(r: LeaseRecord): Promise<void> {
    // Serialized and atomic (rename), so the monitor never reads half a line or an older expiry last.
    this.writing = this.writing
      .catch(() => undefined)
      .then(async () => {
        await fs.mkdir(path.dirname(this.file), { recursive: true });
        await fs.writeFile(`${this.file}.tmp`, formatLease(r));
        await fs.rename(`${this.file}.tmp`, this.file);
      });
    return this.writing;
  }
}
