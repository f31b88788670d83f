/**
 * Whether the watcher is healthy, as a pure verdict: it is only as good as its view of the chain,
 * so it is unhealthy when its last successful read of the chain is older than `staleAfterMs` (the
 * chain is down, stopped or not answering in time), with the reason and the last error. The
 * status server answers 503 with this reason.
 */

export interface WatcherHealthInput {
  now: number;
  /** When ingest last read the chain successfully (ms since epoch), or when the watcher started. */
  lastChainOkAt: number;
  staleAfterMs: number;
  rpcUrl: string;
  lastChainError: string | null;
}

export type Health = { ok: true } | { ok: false; reason: string };

/**
 * @example watcherHealth({ now: 20_000, lastChainOkAt: 0, staleAfterMs: 10_000, rpcUrl: "http://x", lastChainError: "timeout" }).ok // false
 */
export function watcherHealth(i: WatcherHealthInput): Health {
  const age = i.now - i.lastChainOkAt;
  if (age <= i.staleAfterMs) return { ok: true };
  return {
    ok: false,
    reason: `chain ${i.rpcUrl}: no answer for ${Math.round(age / 1000)} s (limit ${Math.round(i.staleAfterMs / 1000)} s): the observed state is stale${i.lastChainError ? `; last error: ${i.lastChainError}` : ""}`,
  };
}
