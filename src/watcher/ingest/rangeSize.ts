/**
 * Adaptive getLogs range: grow after a success, halve after "too many results" or any error, so
 * ingest catches up fast on a quiet chain and still works against providers that cap results.
 * Given how many logs the last reply held, the range is also sized to about `targetLogs` logs per
 * reply: one huge reply (a busy history read in one range) is what a cold start's memory peaked on.
 */

/**
 * The next block range size.
 * @example nextRangeSize(100, "ok", 2000) // 200
 * @example nextRangeSize(100, "error", 2000) // 50
 * @example nextRangeSize(100, "ok", 2000, { logs: 8000, targetLogs: 2000 }) // 25
 */
export function nextRangeSize(current: number, outcome: "ok" | "error", max: number, density?: { logs: number; targetLogs: number }): number {
  if (outcome === "error") return Math.max(1, Math.floor(current / 2));
  if (density && density.logs > density.targetLogs) return Math.max(1, Math.floor((current * density.targetLogs) / density.logs));
  if (density && density.logs * 2 > density.targetLogs) return Math.min(max, current);
  return Math.min(max, Math.max(1, current * 2));
}

/**
 * Delay before retrying after `failures` consecutive RPC failures: exponential, capped.
 * @example retryDelayMs(3) // 800
 */
export function retryDelayMs(failures: number, baseMs = 100, maxMs = 5000): number {
  if (failures <= 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** (failures - 1));
}
