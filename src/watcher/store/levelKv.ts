/**
 * The embedded KvStore backend: a LevelDB directory (the default; one process at a time).
 */
import { Level } from "level";
import type { KvOp, KvRange, KvStore } from "./kvStore";

/**
 * @example const kv = await LevelKv.open(".hypha/watcher")
 */
export class LevelKv implements KvStore {
  readonly kind = "leveldb" as const;

  private constructor(
    readonly db: Level<string, string>,
    readonly location: string,
  ) {}

  /** Opens (creating) the directory; throws LevelDB's own error (e.g. LEVEL_LOCKED). */
  static async open(dir: string): Promise<LevelKv> {
    const db = new Level<string, string>(dir, { valueEncoding: "utf8" });
    await db.open();
    return new LevelKv(db, dir);
  }

  /** Wraps an already open database. */
  static wrap(db: Level<string, string>, dir = db.location): LevelKv {
    return new LevelKv(db, dir);
  }

  get(key: string): Promise<string | undefined> {
    return this.db.get(key);
  }

  put(key: string, value: string): Promise<void> {
    return this.db.put(key, value);
  }

  batch(ops: KvOp[]): Promise<void> {
    return ops.length ? this.db.batch(ops) : Promise.resolve();
  }

  entries(range: KvRange = {}): AsyncIterable<[string, string]> {
    return this.db.iterator(range);
  }

  clear(range: KvRange = {}): Promise<void> {
    return this.db.clear(range);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
