/**
 * The shared KvStore backend: one table in PostgreSQL, reached by a connection URL. Everything
 * goes through ONE connection, the same one that holds the leadership lease (leaderLease.ts): a
 * row with an expiry that the holder renews. Every write batch checks, inside its transaction and
 * under a share lock on that row, that this connection still holds an unexpired lease, so a
 * watcher that lost its leadership (its process died, its connection dropped, or a partition kept
 * it from renewing) cannot write a stale outbox record or send from it (fencing). When it cannot
 * renew in time it says so itself, before the lease can expire on the server, and closes.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { finalOps, type KvOp, type KvRange, type KvStore } from "./kvStore";
import { LEASE_TABLE_SQL, leaseTiming, RENEW_SQL, TAKE_SQL, VALID_SQL } from "./leaderLease";

const PAGE = 1000;

/** Options for PostgresKv.acquireLease. */
export interface LeaseOptions {
  /** How long a lease lasts unless renewed (default 5000 ms); renewed every third of it. */
  leaseMs?: number;
  /** How often a standby tries to take the lease (default 500 ms). */
  pollMs?: number;
  signal?: AbortSignal;
  /** Called once, when the lease is held by another live holder. */
  onWait?: () => void;
}

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
  /** The lease this connection holds, once acquireLease resolved true. */
  private lease: { name: string; holder: string; renewTimer?: NodeJS.Timeout; lapseTimer?: NodeJS.Timeout } | undefined;

  private constructor(
    private readonly client: pg.Client,
    private readonly table: string,
    readonly location: string,
  ) {
    client.on("error", (err) => this.markLost(err));
    client.on("end", () => this.markLost(new Error("the PostgreSQL connection ended")));
  }

  private markLost(err: Error): void {
    if (this.lost) return;
    this.lost = err;
    clearTimeout(this.lease?.renewTimer);
    clearTimeout(this.lease?.lapseTimer);
    for (const l of this.lostListeners) l(err);
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
   * Wait until this connection holds the lease named `name` (the active watcher holds it; a
   * standby waits here), then keep renewing it. A standby takes the lease once it has expired or
   * its holder's session is gone from pg_stat_activity (a killed process: at once). Resolves true
   * when held, false when `signal` aborted first. Once held and not renewed within `leaseMs`
   * (counted on this side from before each renewal was sent, so this side gives up no later than
   * the server lets a standby in) the store is lost: onLost listeners hear why, the connection is
   * closed, and every later call fails.
   */
  async acquireLease(name: string, opts: LeaseOptions = {}): Promise<boolean> {
    const { leaseMs, renewEveryMs } = leaseTiming(opts.leaseMs);
    const holder = randomUUID();
    await this.client.query(LEASE_TABLE_SQL).catch((err: { code?: string }) => {
      if (err.code !== "23505") throw err; // created by another process at the same moment
    });
    let waited = false;
    while (!opts.signal?.aborted) {
      const sentAt = performance.now();
      if (await this.tryTake(name, holder, leaseMs)) {
        this.lease = { name, holder };
        this.armLapse(sentAt, leaseMs);
        this.scheduleRenewal(renewEveryMs, leaseMs);
        return true;
      }
      if (!waited) opts.onWait?.();
      waited = true;
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
    }
    return false;
  }

  private async tryTake(name: string, holder: string, leaseMs: number): Promise<boolean> {
    await this.client.query("BEGIN");
    try {
      // A holder stuck in a transaction keeps a share lock on the row: don't queue behind it.
      await this.client.query("SET LOCAL lock_timeout = 500");
      const { rowCount } = await this.client.query(TAKE_SQL, [name, holder, leaseMs]);
      await this.client.query("COMMIT");
      if (rowCount === 1) {
        // A transaction left open by a partitioned holder would pin the lease row: the server
        // ends such a session after the lease's length.
        await this.client.query(`SET idle_in_transaction_session_timeout = ${leaseMs}`);
        return true;
      }
      return false;
    } catch (err) {
      await this.client.query("ROLLBACK").catch(() => undefined);
      if ((err as { code?: string }).code === "55P03") return false; // lock_timeout: held and busy
      throw err;
    }
  }

  private armLapse(sentAt: number, leaseMs: number): void {
    const lease = this.lease!;
    clearTimeout(lease.lapseTimer);
    const remaining = sentAt + leaseMs - performance.now();
    lease.lapseTimer = setTimeout(() => this.lapse(`the leader lease "${lease.name}" was not renewed within ${leaseMs} ms`), Math.max(0, remaining));
    lease.lapseTimer.unref();
  }

  private scheduleRenewal(everyMs: number, leaseMs: number): void {
    const lease = this.lease!;
    lease.renewTimer = setTimeout(async () => {
      const sentAt = performance.now();
      try {
        const { rowCount } = await this.client.query(RENEW_SQL, [lease.name, lease.holder, leaseMs]);
        if (rowCount !== 1) return this.lapse(`the leader lease "${lease.name}" is held by another watcher now`);
        this.armLapse(sentAt, leaseMs);
        this.scheduleRenewal(everyMs, leaseMs);
      } catch (err) {
        this.lapse(`renewing the leader lease "${lease.name}" failed: ${(err as Error).message}`);
      }
    }, everyMs);
    lease.renewTimer.unref();
  }

  /** The lease is gone: tell the listeners, then drop the connection (pending queries fail). */
  private lapse(reason: string): void {
    if (this.lost) return;
    this.markLost(new Error(reason));
    void this.client.end().catch(() => undefined);
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
    if (this.lost) throw this.lost;
    const final = finalOps(ops);
    const dels = final.filter((o) => o.type === "del").map((o) => o.key);
    const puts = final.filter((o): o is Extract<KvOp, { type: "put" }> => o.type === "put");
    await this.client.query("BEGIN");
    try {
      if (this.lease) {
        // Fencing: written only while this connection holds an unexpired lease; the share lock
        // makes a standby's take-over wait until this transaction has ended.
        const { rowCount } = await this.client.query(VALID_SQL, [this.lease.name, this.lease.holder]);
        if (rowCount !== 1) {
          const err = new Error(`the leader lease "${this.lease.name}" is no longer held by this watcher: nothing written`);
          await this.client.query("ROLLBACK").catch(() => undefined);
          this.lapse(err.message);
          throw err;
        }
      }
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
    clearTimeout(this.lease?.renewTimer);
    clearTimeout(this.lease?.lapseTimer);
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
