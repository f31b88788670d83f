/**
 * A deduplicating work queue with one worker, after Kubernetes' client-go workqueue as the
 * ReplicaSet controller uses it (`pkg/controller/replicaset/replica_set.go`): adding a key that is
 * already waiting does nothing; adding a key while it is being processed marks it dirty, and it is
 * processed once more after (never twice at once). So any number of "something changed" signals
 * between two passes cost one pass, and none is lost.
 */

/**
 * @example
 * const q = new WorkQueue<"reconcile">(async (key) => reconcileOnce(), (key, err) => log(err));
 * q.add("reconcile"); q.add("reconcile"); // one pass
 * await q.shutDown();
 */
export class WorkQueue<K> {
  private readonly queue: K[] = [];
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly handle: (key: K) => Promise<void>,
    private readonly onError: (key: K, err: unknown) => void,
  ) {}

  /** Ask for `key` to be processed (again); a no-op after shutDown. */
  add(key: K): void {
    if (this.stopped || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // re-queued when the running pass ends
    this.queue.push(key);
    this.running ??= this.work();
  }

  /** Keys waiting or being processed (each counted once). */
  depth(): number {
    let n = this.processing.size;
    for (const key of this.dirty) if (!this.processing.has(key)) n++;
    return n;
  }

  /** Settles once the pass in progress, if any, has ended; nothing waiting runs after it. */
  async shutDown(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    this.dirty.clear();
    await this.running;
  }

  private async work(): Promise<void> {
    for (let key = this.queue.shift(); key !== undefined; key = this.queue.shift()) {
      this.dirty.delete(key);
      this.processing.add(key);
      try {
        await this.handle(key);
      } catch (err) {
        this.onError(key, err);
      } finally {
        this.processing.delete(key);
        if (this.dirty.has(key) && !this.stopped) this.queue.push(key);
      }
    }
    this.running = undefined;
  }
}
