/**
 * One recovery for a batch the contract refuses (the watcher's placements and settlements, the
 * agent's attestations): send it; when it is refused, send each half the same way, down to single
 * items, which are given up with their reason. With k refused items among n this takes about
 * 2·k·log2(n) attempts where one attempt per item would take n, and the good items go through in
 * as few batches as the refused ones allow. Errors that are not refusals (the chain unreachable)
 * are the caller's: they propagate, and nothing more is attempted.
 */

export interface BisectOptions<T> {
  /** Whether `err` is the contract refusing the batch (as opposed to a failure worth retrying later). */
  isRefused(err: unknown): boolean;
  /** A single item the contract refused: give it up (log it, mark it failed). */
  onRefused(item: T, err: unknown): void | Promise<void>;
}

/**
 * @example await bisectRefused(actions, (batch) => send(batch), { isRefused: (e) => e instanceof ChainRefusedError, onRefused: (a, e) => markFailed(a, e) })
 */
export async function bisectRefused<T, R>(items: T[], attempt: (batch: T[]) => Promise<R>, opts: BisectOptions<T>): Promise<R[]> {
  if (items.length === 0) return [];
  try {
    return [await attempt(items)];
  } catch (err) {
    if (!opts.isRefused(err)) throw err;
    if (items.length === 1) {
      await opts.onRefused(items[0]!, err);
      return [];
    }
    const mid = Math.ceil(items.length / 2);
    const left = await bisectRefused(items.slice(0, mid), attempt, opts);
    const right = await bisectRefused(items.slice(mid), attempt, opts);
    return [...left, ...right];
  }
}
