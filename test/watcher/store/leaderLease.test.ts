// The watcher's leader lease on a real PostgreSQL (started by the test): one holder at a time; a
// holder whose session ends is replaced at once; a holder cut off by a partition (a TCP relay
// between it and the server stops passing bytes, so the server still sees a live session) stops
// itself before its lease expires, the standby takes over only after it expired, and nothing the
// cut-off holder tries to write lands. Also a lease taken over behind a live holder's back fences
// its next write.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leaseTiming } from "../../../src/watcher/store/leaderLease";
import { PostgresKv } from "../../../src/watcher/store/postgresKv";
import { postgresUnavailable, startPostgres, type TestPostgres } from "../../helpers/postgres";
import { startTcpRelay } from "../../helpers/tcpRelay";

let postgres: TestPostgres | undefined;
beforeAll(async () => {
  if (!postgresUnavailable) postgres = await startPostgres();
}, 60_000);
afterAll(async () => {
  await postgres?.stop();
});

async function leaseRow(url: string): Promise<{ holder: string; expires_ms: number } | undefined> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query(
      "SELECT holder, (extract(epoch from expires_at - clock_timestamp()) * 1000)::int AS expires_ms FROM hypha_lease WHERE name = 'w'",
    );
    return rows[0];
  } finally {
    await c.end();
  }
}

describe("leaseTiming (pure)", () => {
  it("renews every third of the lease and refuses a lease too short to renew", () => {
    expect(leaseTiming()).toEqual({ leaseMs: 5000, renewEveryMs: 1666 });
    expect(leaseTiming(900)).toEqual({ leaseMs: 900, renewEveryMs: 300 });
    expect(() => leaseTiming(299)).toThrow(/leaseMs: must be an integer of at least 300 ms, got 299/);
    expect(() => leaseTiming(1000.5)).toThrow(/leaseMs/);
  });
});

describe.skipIf(postgresUnavailable !== undefined)("the watcher's leader lease on PostgreSQL", () => {
  it("one holder at a time; when the holder's session ends a standby takes over at once, and the old holder's writes fail", async () => {
    const url = await postgres!.newDatabase();
    const a = await PostgresKv.open(url, { table: "hypha_watcher", applicationName: "holder-a" });
    const b = await PostgresKv.open(url, { table: "hypha_watcher", applicationName: "holder-b" });
    expect(await a.acquireLease("w", { leaseMs: 60_000 })).toBe(true);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 400);
    let waited = false;
    expect(await b.acquireLease("w", { leaseMs: 60_000, pollMs: 50, signal: stop.signal, onWait: () => (waited = true) })).toBe(false);
    expect(waited).toBe(true);
    await a.put("o:before", "1");
    // The holder's session is ended by the server (as when its process dies): a is told, and b
    // gets the lease long before its 60 s expiry, because the holder's session is gone.
    const lost = new Promise<Error>((resolve) => a.onLost(resolve));
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'holder-a'");
    await admin.end();
    expect((await lost).message).toBeTruthy();
    const t0 = Date.now();
    expect(await b.acquireLease("w", { leaseMs: 60_000, pollMs: 50 })).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5_000);
    await expect(a.put("o:late", "1")).rejects.toThrow();
    expect(await b.get("o:late")).toBeUndefined();
    expect(await b.get("o:before")).toBe("1");
    await a.close();
    await b.close();
  });

  it("a partitioned holder stops itself before its lease expires; the standby takes over only after expiry; the holder's late write never lands", async () => {
    const url = await postgres!.newDatabase();
    const relay = await startTcpRelay(new URL(url));
    const LEASE = 1500;
    const a = await PostgresKv.open(relay.url(url), { table: "hypha_watcher", applicationName: "holder-a" });
    const b = await PostgresKv.open(url, { table: "hypha_watcher", applicationName: "holder-b" });
    expect(await a.acquireLease("w", { leaseMs: LEASE })).toBe(true);
    await a.put("o:1", "before");
    await new Promise((r) => setTimeout(r, LEASE)); // a few renewals go through
    const lostAt = new Promise<number>((resolve) => a.onLost(() => resolve(Date.now())));
    relay.cut();
    const cutAt = Date.now();
    // A write sent into the partition: it must not land, then or later.
    const late = a.put("o:2", "written into the partition").then(
      () => "written",
      (err: Error) => err.message,
    );
    // The server still sees a's session: b waits for the expiry, not for the session to end.
    const tookAt = b.acquireLease("w", { leaseMs: LEASE, pollMs: 50 }).then(() => Date.now());
    const [aLost, bTook] = await Promise.all([lostAt, tookAt]);
    expect(await late).not.toBe("written");
    expect(aLost).toBeLessThan(bTook); // a gave up before b could write anything
    expect(aLost - cutAt).toBeLessThanOrEqual(LEASE + 200);
    expect(bTook - cutAt).toBeGreaterThan(LEASE / 3); // not at once: a's session was alive
    await b.put("o:3", "by b");
    expect(await b.get("o:1")).toBe("before");
    expect(await b.get("o:2")).toBeUndefined();
    const row = await leaseRow(url);
    expect(row!.expires_ms).toBeGreaterThan(0);
    await expect(a.put("o:4", "after")).rejects.toThrow();
    await relay.close();
    await a.close();
    await b.close();
  }, 30_000);

  it("a holder whose lease was taken behind its back writes nothing more", async () => {
    const url = await postgres!.newDatabase();
    const a = await PostgresKv.open(url, { table: "hypha_watcher" });
    expect(await a.acquireLease("w", { leaseMs: 60_000 })).toBe(true);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query("UPDATE hypha_lease SET holder = 'someone-else' WHERE name = 'w'");
    await admin.end();
    const lost = new Promise<Error>((resolve) => a.onLost(resolve));
    await expect(a.batch([{ type: "put", key: "o:x", value: "1" }])).rejects.toThrow(/leader lease "w" is no longer held by this watcher: nothing written/);
    expect((await lost).message).toMatch(/no longer held/);
    const check = await PostgresKv.open(url, { table: "hypha_watcher" });
    expect(await check.get("o:x")).toBeUndefined();
    await check.close();
    await a.close();
  });
});
