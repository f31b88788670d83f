/**
 * Probes each node's registered endpoint (GET <endpoint>/healthz) on an interval and remembers when
 * each last answered with a 2xx. The verdict itself is lostNodeIds (pure).
 */
import { lostNodeIds } from "./lostNodes";

export interface ProbeTarget {
  nodeId: number;
  endpoint: string;
}

/**
 * Health prober. `targets()` is read on every round, so new nodes and endpoint changes are picked up.
 * @example const p = new NodeProber(() => store.nodes(), { intervalMs: 1000, lostAfterMs: 5000 }); p.start(); p.lost()
 */
export class NodeProber {
  private readonly lastSeen = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly targets: () => ProbeTarget[],
    private readonly opts: { intervalMs: number; lostAfterMs: number; timeoutMs?: number; now?: () => number },
  ) {}

  start(): void {
    if (this.opts.lostAfterMs <= 0 || this.timer) return;
    const tick = async () => {
      if (this.running) return;
      this.running = true;
      try {
        await this.probeAll();
      } finally {
        this.running = false;
      }
    };
    void tick();
    this.timer = setInterval(() => void tick(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Node ids lost right now. */
  lost(): Set<number> {
    const now = this.now();
    for (const t of this.targets()) if (!this.lastSeen.has(t.nodeId)) this.lastSeen.set(t.nodeId, now);
    return lostNodeIds(this.lastSeen, now, this.opts.lostAfterMs);
  }

  /** Probe every target once. */
  async probeAll(): Promise<void> {
    const now = this.now();
    await Promise.all(
      this.targets().map(async (t) => {
        if (!this.lastSeen.has(t.nodeId)) this.lastSeen.set(t.nodeId, now);
        if (await this.probe(t.endpoint)) this.lastSeen.set(t.nodeId, this.now());
      }),
    );
  }

  private async probe(endpoint: string): Promise<boolean> {
    let url: URL;
    try {
      url = new URL("healthz", endpoint.endsWith("/") ? endpoint : `${endpoint}/`);
    } catch {
      return false;
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.opts.timeoutMs ?? Math.min(1000, this.opts.lostAfterMs)) });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }
}
