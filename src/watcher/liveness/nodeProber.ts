/**
 * Probes each node's registered endpoint (GET <endpoint>/healthz) on an interval and remembers when
 * each last answered, and the conditions it reported. An agent that answers 503 with its conditions
 * (DiskPressure, ChainUnreachable) is alive, its replicas are not lost: it only takes no new ones.
 * A node not heard from since this watcher started is NotReady (the kubelet's Ready=Unknown): it
 * takes no new replica until it answers, so a node that is down when the watcher (re)starts is not
 * given placements for the whole lost window first. The verdict itself is lostNodeIds (pure).
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
  private readonly reported = new Map<number, string[]>();
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

  /** Conditions holding on each node that reports any (by its last answer); NotReady until a node first answers. */
  conditions(): Map<number, string[]> {
    const out = new Map([...this.reported].filter(([, c]) => c.length > 0));
    if (this.opts.lostAfterMs > 0) for (const t of this.targets()) if (!this.reported.has(t.nodeId)) out.set(t.nodeId, ["NotReady"]);
    return out;
  }

  /** Probe every target once. */
  async probeAll(): Promise<void> {
    const now = this.now();
    await Promise.all(
      this.targets().map(async (t) => {
        if (!this.lastSeen.has(t.nodeId)) this.lastSeen.set(t.nodeId, now);
        const answer = await this.probe(t.endpoint);
        if (answer) {
          this.lastSeen.set(t.nodeId, this.now());
          this.reported.set(t.nodeId, answer.conditions);
        }
      }),
    );
  }

  /** Alive: a 2xx, or a 503 whose body lists the node's conditions. Undefined: not alive. */
  private async probe(endpoint: string): Promise<{ conditions: string[] } | undefined> {
    let url: URL;
    try {
      url = new URL("healthz", endpoint.endsWith("/") ? endpoint : `${endpoint}/`);
    } catch {
      return undefined;
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.opts.timeoutMs ?? Math.min(1000, this.opts.lostAfterMs)) });
      const body = (await res.json().catch(() => undefined)) as { conditions?: { type?: unknown; status?: unknown }[] } | undefined;
      const conditions = Array.isArray(body?.conditions)
        ? body.conditions.filter((c) => c?.status === true && typeof c.type === "string").map((c) => String(c.type))
        : undefined;
      if (res.ok) return { conditions: conditions ?? [] };
      if (res.status === 503 && conditions) return { conditions };
      return undefined;
    } catch {
      return undefined;
    }
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }
}
