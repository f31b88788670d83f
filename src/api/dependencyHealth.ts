/**
 * What the API needs, watched in the background so that /healthz and the requests that need a
 * dependency answer at once instead of hanging on it: the chain (eth_blockNumber) and the store
 * (GET /health), each probed every `intervalMs` with a `timeoutMs` limit. A dependency is down when
 * its last probe failed or took too long, or when the chain's last answer is older than
 * `staleAfterMs`. The verdict (apiHealth) is pure; the probing is the thin shell around it.
 */
import type { PublicClient } from "viem";

/** One dependency's last known state. */
export interface DependencyState {
  ok: boolean;
  /** When it last answered in time (ms since epoch); 0: never. */
  lastOkAt: number;
  /** Why the last probe failed. */
  error?: string;
}

export interface ApiDependencies {
  chain: DependencyState & { block?: bigint };
  store: DependencyState;
}

export type ApiHealth = { ok: true } | { ok: false; reason: string; down: ("chain" | "store")[] };

/**
 * @example apiHealth({ chain: { ok: true, lastOkAt: 1 }, store: { ok: false, lastOkAt: 0, error: "timeout" } }, 2, 10_000, urls)
 */
export function apiHealth(deps: ApiDependencies, now: number, staleAfterMs: number, urls: { rpcUrl: string; storeUrl: string }): ApiHealth {
  const reasons: string[] = [];
  const down: ("chain" | "store")[] = [];
  const age = (s: DependencyState) => (s.lastOkAt === 0 ? "never answered" : `last answered ${Math.round((now - s.lastOkAt) / 1000)} s ago`);
  if (!deps.chain.ok || now - deps.chain.lastOkAt > staleAfterMs) {
    down.push("chain");
    reasons.push(`chain ${urls.rpcUrl} is not answering (${deps.chain.error ?? "no answer"}; ${age(deps.chain)})`);
  }
  if (!deps.store.ok || now - deps.store.lastOkAt > staleAfterMs) {
    down.push("store");
    reasons.push(`store ${urls.storeUrl} is not answering (${deps.store.error ?? "no answer"}; ${age(deps.store)})`);
  }
  return down.length === 0 ? { ok: true } : { ok: false, reason: reasons.join("; "), down };
}

/**
 * Probes the chain and the store in the background.
 * @example const deps = await DependencyMonitor.start(publicClient, rpcUrl, storeUrl); deps.health(); deps.stop()
 */
export class DependencyMonitor {
  readonly state: ApiDependencies = { chain: { ok: false, lastOkAt: 0 }, store: { ok: false, lastOkAt: 0 } };
  private timer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;

  private constructor(
    private readonly publicClient: PublicClient,
    private readonly urls: { rpcUrl: string; storeUrl: string },
    private readonly opts: { intervalMs: number; timeoutMs: number; staleAfterMs: number },
  ) {}

  /** Probes once (so the first /healthz already knows), then every intervalMs. */
  static async start(
    publicClient: PublicClient,
    urls: { rpcUrl: string; storeUrl: string },
    opts: Partial<{ intervalMs: number; timeoutMs: number; staleAfterMs: number }> = {},
  ): Promise<DependencyMonitor> {
    const intervalMs = opts.intervalMs ?? 2000;
    const timeoutMs = opts.timeoutMs ?? 2000;
    const m = new DependencyMonitor(publicClient, urls, { intervalMs, timeoutMs, staleAfterMs: opts.staleAfterMs ?? intervalMs + 2 * timeoutMs });
    await m.probe();
    m.timer = setInterval(() => void m.probe(), intervalMs);
    m.timer.unref();
    return m;
  }

  health(now = Date.now()): ApiHealth {
    return apiHealth(this.state, now, this.opts.staleAfterMs, this.urls);
  }

  /** Whether one dependency is up right now (for requests that need it). */
  isUp(which: "chain" | "store", now = Date.now()): boolean {
    const h = this.health(now);
    return h.ok || !h.down.includes(which);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private probe(): Promise<void> {
    this.probing ??= Promise.all([this.probeChain(), this.probeStore()]).then(
      () => {
        this.probing = undefined;
      },
      () => {
        this.probing = undefined;
      },
    );
    return this.probing;
  }

  private async probeChain(): Promise<void> {
    try {
      const block = await withTimeout(this.publicClient.request({ method: "eth_blockNumber" }), this.opts.timeoutMs);
      this.state.chain = { ok: true, lastOkAt: Date.now(), block: BigInt(block) };
    } catch (err) {
      this.state.chain = { ...this.state.chain, ok: false, error: firstLine(err) };
    }
  }

  private async probeStore(): Promise<void> {
    try {
      const res = await fetch(`${this.urls.storeUrl.replace(/\/+$/, "")}/health`, { signal: AbortSignal.timeout(this.opts.timeoutMs) });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      this.state.store = { ok: true, lastOkAt: Date.now() };
    } catch (err) {
      this.state.store = { ...this.state.store, ok: false, error: firstLine(err) };
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}

function firstLine(err: unknown): string {
  const e = err as { name?: string; shortMessage?: string; message?: string };
  if (e?.name === "TimeoutError") return "no answer in time";
  return (e?.shortMessage ?? e?.message ?? String(err)).split("\n")[0]!;
}
