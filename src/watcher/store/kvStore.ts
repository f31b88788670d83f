/**
 * The storage seam under the watcher's state, outbox and the API's deployment index: an ordered
 * string key-value store with atomic batches (Ponder's indexing-store plays this part there).
 * Two backends: LevelDB, embedded and the default (`hypha up` needs nothing else), and PostgreSQL,
 * selected by a connection URL, which several processes can share (watcher high availability,
 * several API replicas). Callers know keys and values, never which backend holds them.
 */

/** One write of an atomic batch. */
export type KvOp = { type: "put"; key: string; value: string } | { type: "del"; key: string };

/** A key range: `gte` inclusive, `lt` exclusive (bytewise order, as LevelDB sorts). */
export interface KvRange {
  gte?: string;
  lt?: string;
}

/**
 * What the watcher and the API index store through.
 * @example await kv.batch([{ type: "put", key: "s:a", value: "1" }]); for await (const [k, v] of kv.entries({ gte: "s:", lt: "s;" })) ...
 */
export interface KvStore {
  /** "leveldb", "postgres" or "memory" (for status and logs). */
  readonly kind: "leveldb" | "postgres" | "memory";
  /** Where it lives: a directory, or the URL without its password. */
  readonly location: string;
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
  /** All ops or none; a later op on the same key wins over an earlier one. */
  batch(ops: KvOp[]): Promise<void>;
  /** Entries in key order, read page by page (a large range is never held at once). */
  entries(range?: KvRange): AsyncIterable<[string, string]>;
  /** Delete every key (in the range, when given). */
  clear(range?: KvRange): Promise<void>;
  close(): Promise<void>;
}

/**
 * The range of every key starting with `prefix`.
 * @example prefixRange("s:") // { gte: "s:", lt: "s;" }
 */
export function prefixRange(prefix: string): KvRange {
  const last = prefix.charCodeAt(prefix.length - 1);
  return { gte: prefix, lt: prefix.slice(0, -1) + String.fromCharCode(last + 1) };
}

/**
 * A batch reduced to its final effect per key, in first-seen key order (a put then a del of the
 * same key is a del), so backends that cannot apply ops in sequence stay exact.
 * @example finalOps([{ type: "put", key: "a", value: "1" }, { type: "del", key: "a" }]) // [{ type: "del", key: "a" }]
 */
export function finalOps(ops: KvOp[]): KvOp[] {
  const last = new Map<string, KvOp>();
  for (const op of ops) last.set(op.key, op);
  return [...last.values()];
}
