/**
 * The shared KvStore backend: one table in PostgreSQL, reached by a connection URL. Everything
 * goes through ONE connection, the same one that holds the leadership lock (a session advisory
 * lock): if that connection dies, the lock is released and every later write fails with it, so a
 * watcher that lost its leadership cannot write a stale outbox record or send from it (fencing).
 */
import pg from "pg";
import { finalOps, type KvOp, type KvRange, type KvStore } from "./kvStore";

const PAGE = 1000;

/** Options for PostgresKv.open. */
export interface PostgresKvOptions {
  /** Table holding the keys (created when missing); one per purpose, e.g. hypha_watcher. */
  table?: string;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
}

/**
 * @example const kv = await PostgresKv.open("postgres://hypha@127.0.0.1:5432/hypha", { table: "hypha_watcher" })
 */
export class PostgresKv implements KvStore {
  readonly kind = "postgres" as const;
  private lost: Error | undefined;
  private readonly lostListeners = new Set<(err: Error) => void>();

  private constructor(
    private readonly client: pg.Client,
    private readonly table: string,
    readonly location: string,
  ) {
    const onLost = (err: Error) => {
      if (this.lost) return;
      this.lost = err;
      for (const l of this.lostListeners) l(err);
    };
    client.on("error", (err) => onLost(err));
    client.on("end", () => onLost(new Error("the PostgreSQL connection ended")));
  }

  /** Connects and creates the table when missing. */
  static async open(url: string, opts: PostgresKvOptions = {}): Promise<PostgresKv> {
    const table = opts.table ?? "hypha_kv";
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(table)) throw new TypeError(`table: ${JSON.stringify(table)} is not a plain lower-case SQL name`);
    const client = new pg.Client({ connectionString: url, application_name: opts.applicationName ?? "hypha" });
    await client.connect();
    const kv = new PostgresKv(client, table, redact(url));
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (key text COLLATE "C" PRIMARY KEY, value text NOT NULL)`).catch(async (err: { code?: string }) => {
      if (err.code !== "23505") throw err; // two processes creating it at once: the other one won
    });
    return kv;
  }

  /** Called once if the connection (and with it any lock it held) is lost. */
  onLost(listener: (err: Error) => void): void {
    if (this.lost) listener(this.lost);
    else this.lostListeners.add(listener);
  }

  /**
   * Wait until this connection holds the session advisory lock named `name` (the active watcher
   * holds it; a standby waits here). Resolves true when held, false when `signal` aborted first.
   */
  async acquireLock(name: string, opts: { pollMs?: number; signal?: AbortSignal; onWait?: () => void } = {}): Promise<boolean> {
    let waited = false;
    while (!opts.signal?.aborted) {
      const { rows } = await this.client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok", [name]);
      if (rows[0]!.ok) return true;
      if (!waited) opts.onWait?.();
      waited = true;
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
    }
    return false;
  }

  async get(key: string): Promise<string | undefined> {
    const { rows } = await this.client.query<{ value: string }>(`SELECT value FROM ${this.table} WHERE key = $1`, [key]);
    return rows[0]?.value;
  }

  async put(key: string, value: string): Promise<void> {
    await this.batch([{ type: "put", key, value }]);
  }

  async batch(ops: KvOp[]): Promise<void> {
    if (ops.length === 0) return;
    const final = finalOps(ops);
    const dels = final.filter((o) => o.type === "del").map((o) => o.key);
    const puts = final.filter((o): o is Extract<KvOp, { type: "put" }> => o.type === "put");
    await this.client.query("BEGIN");
    try {
      if (dels.length) await this.client.query(`DELETE FROM ${this.table} WHERE key = ANY($1::text[])`, [dels]);
      if (puts.length)
        await this.client.query(
          `INSERT INTO ${this.table} (key, value) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
          [puts.map((p) => p.key), puts.map((p) => p.value)],
        );
      await this.client.query("COMMIT");
    } catch (err) {
      await this.client.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
  }

  async *entries(range: KvRange = {}): AsyncIterable<[string, string]> {
    let after: string | undefined;
    for (;;) {
      const where: string[] = [];
      const args: string[] = [];
      if (after !== undefined) where.push(`key > $${args.push(after)}`);
      else if (range.gte !== undefined) where.push(`key >= $${args.push(range.gte)}`);
      if (range.lt !== undefined) where.push(`key < $${args.push(range.lt)}`);
      const sql = `SELECT key, value FROM ${this.table}${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY key LIMIT ${PAGE}`;
      const { rows } = await this.client.query<{ key: string; value: string }>(sql, args);
      for (const r of rows) yield [r.key, r.value];
      if (rows.length < PAGE) return;
      after = rows[rows.length - 1]!.key;
    }
  }

  async clear(range: KvRange = {}): Promise<void> {
    const where: string[] = [];
    const args: string[] = [];
    if (range.gte !== undefined) where.push(`key >= $${args.push(range.gte)}`);
    if (range.lt !== undefined) where.push(`key < $${args.push(range.lt)}`);
    await this.client.query(`DELETE FROM ${this.table}${where.length ? ` WHERE ${where.join(" AND ")}` : ""}`, args);
  }

  async close(): Promise<void> {
    this.lostListeners.clear();
    await this.client.end().catch(() => undefined);
  }
}

/** The URL without its password, for logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "postgres://(unparsable URL)";
  }
}
