/**
 * Restart decisions for a replica's process, with Kubernetes semantics (pure).
 *
 * Services (Deployment, Pod): restartPolicy Always restarts after any exit, OnFailure after a
 * non-zero exit or a signal, Never not at all. Restarts wait an exponential backoff: base,
 * 2*base, 4*base, ... capped (Kubernetes: 10 s doubling to 5 min; the agent's restartBackoffMs
 * config scales it down for tests and the demo). The backoff resets after the process has run
 * for `resetAfterMs` without exiting (Kubernetes: 10 minutes).
 *
 * On-chain: a service replica is attested Running once, right after its first verified start.
 * Restarts are local, as in Kubernetes where a crash-looping pod keeps phase Running with a
 * growing restartCount: the agent shows status "CrashLoopBackOff" and the count in its HTTP
 * API and does not attest again. A service that exits under Never (or OnFailure with code 0)
 * is "Completed" locally; a non-zero exit that will not be restarted is attested Failed, so the
 * watcher can re-place it. Jobs run once: exit 0 -> Completed (with outputHash), else Failed.
 */

export type RestartPolicy = "Always" | "OnFailure" | "Never";

/** Backoff settings. */
export interface BackoffConfig {
  baseMs: number;
  capMs: number;
  resetAfterMs: number;
}

export const KUBERNETES_BACKOFF: BackoffConfig = { baseMs: 10_000, capMs: 300_000, resetAfterMs: 600_000 };

/**
 * Whether a service process that exited should be restarted.
 * @example shouldRestart("OnFailure", { code: 0, signal: null }) // false
 */
export function shouldRestart(policy: RestartPolicy, exit: { code: number | null; signal: string | null }): boolean {
  if (policy === "Always") return true;
  if (policy === "OnFailure") return exit.code !== 0;
  return false;
}

/**
 * Delay before restart number `restarts + 1` (restarts = restarts already done).
 * @example backoffDelayMs(0, KUBERNETES_BACKOFF) // 10000; backoffDelayMs(3, KUBERNETES_BACKOFF) // 80000
 */
export function backoffDelayMs(restarts: number, cfg: BackoffConfig): number {
  const exp = Math.min(restarts, 30);
  return Math.min(cfg.capMs, cfg.baseMs * 2 ** exp);
}

/** What to do when a replica's process exits. */
export type ExitVerdict =
  | { action: "restart"; delayMs: number; localStatus: "CrashLoopBackOff" }
  | { action: "attest"; status: "Completed" | "Failed"; localStatus: "Completed" | "Failed" }
  | { action: "none"; localStatus: "Completed" };

/**
 * Decide what happens after a replica's process exits (pure).
 * @example decideOnExit({ kind: "service", policy: "Always", exit: { code: 0, signal: null }, restarts: 2, ranForMs: 5, backoff })
 * // { action: "restart", delayMs: 40000, localStatus: "CrashLoopBackOff" }
 */
export function decideOnExit(input: {
  kind: "service" | "job";
  policy: RestartPolicy;
  exit: { code: number | null; signal: string | null };
  restarts: number;
  ranForMs: number;
  backoff: BackoffConfig;
}): ExitVerdict {
  const ok = input.exit.code === 0;
  if (input.kind === "job")
    return ok ? { action: "attest", status: "Completed", localStatus: "Completed" } : { action: "attest", status: "Failed", localStatus: "Failed" };
  if (shouldRestart(input.policy, input.exit)) {
    const restarts = input.ranForMs >= input.backoff.resetAfterMs ? 0 : input.restarts;
    return { action: "restart", delayMs: backoffDelayMs(restarts, input.backoff), localStatus: "CrashLoopBackOff" };
  }
  if (ok) return { action: "none", localStatus: "Completed" };
  return { action: "attest", status: "Failed", localStatus: "Failed" };
}
