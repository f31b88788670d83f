/**
 * A KvStore kept in this process's memory only (nothing survives a restart): the default for an
 * index that is cheap to rebuild from the chain, e.g. the API's deployment index when no database
 * URL is given.
 */
import type { KvOp, KvRange, KvStore } from "./kvStore";

/**
 * @example const kv = new MemoryKv(); await kv.put("a", "1")
 */
export class MemoryKv implements KvStore {
  readonly kind = "memory" as const;
  readonly location = "memory";
  private readonly map = new Map<string, string>();

  async get(key: string): Promise<string | undefined> {
    return this.map.get(key);
  }

  async put(key: string, value: string): Promise<void> {
    this.map.set(key, value);
  }

  async batch(ops: KvOp[]): Promise<void> {
    for (const op of ops) if (op.type === "put" && typeof op.value !== "string") throw new TypeError(`value of ${op.key}: must be a string`);
    for (const op of ops) {
      if (op.type === "put") this.map.set(op.key, op.value);
      else this.map.delete(op.key);
    }
  }

  async *entries(range: KvRange = {}): AsyncIterable<[string, string]> {
    const keys = [...this.map.keys()].filter((k) => (range.gte === undefined || k >= range.gte) && (range.lt === undefined || k < range.lt)).sort();
    for (const k of keys) {
      const v = this.map.get(k);
      if (v !== undefined) yield [k, v];
    }
  }

  async clear(range: KvRange = {}): Promise<void> {
    for await (const [k] of this.entries(range)) this.map.delete(k);
  }

  async close(): Promise<void> {}
}
