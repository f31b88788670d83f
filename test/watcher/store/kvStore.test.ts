// The storage seam's contract, the same on both backends (real LevelDB, a real PostgreSQL the test
// starts): ordered ranges read page by page, atomic batches where the last op on a key wins, and,
// (The watcher's leader lease on PostgreSQL is tested in leaderLease.test.ts.)
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { finalOps, prefixRange, type KvStore } from "../../../src/watcher/store/kvStore";
import { LevelKv } from "../../../src/watcher/store/levelKv";
import { PostgresKv } from "../../../src/watcher/store/postgresKv";
import { postgresUnavailable, startPostgres, type TestPostgres } from "../../helpers/postgres";

let postgres: TestPostgres | undefined;
beforeAll(async () => {
  if (!postgresUnavailable) postgres = await startPostgres();
}, 60_000);
afterAll(async () => {
  await postgres?.stop();
});

describe("finalOps and prefixRange (pure)", () => {
  it("keeps the last op per key, and a prefix's range ends just past it", () => {
    expect(
      finalOps([
        { type: "put", key: "a", value: "1" },
        { type: "put", key: "b", value: "2" },
        { type: "del", key: "a" },
      ]),
    ).toEqual([
      { type: "del", key: "a" },
      { type: "put", key: "b", value: "2" },
    ]);
    expect(prefixRange("s:")).toEqual({ gte: "s:", lt: "s;" });
  });
});

const backends = [
  { name: "leveldb", skip: undefined, open: async (dir: string) => LevelKv.open(dir) },
  // Skipped only where PostgreSQL is not installed (a fresh machine); CI installs it (.ci/run).
  { name: "postgres", skip: postgresUnavailable, open: async () => PostgresKv.open(await postgres!.newDatabase(), { table: "hypha_watcher" }) },
];

describe.each(backends)("KvStore on $name", ({ skip, open }) => {
  let dir: string;
  let kv: KvStore;
  beforeEach(async (ctx) => {
    if (skip) ctx.skip(skip);
    dir = await mkdtemp(path.join(os.tmpdir(), "hypha-kv-"));
    kv = await open(dir);
  });
  afterEach(async () => {
    await kv?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("reads a range in byte order across pages (2,500 keys), and clears only the range", async () => {
    const keys = Array.from({ length: 2500 }, (_, i) => `s:${String(i).padStart(5, "0")}`);
    await kv.batch([
      ...keys.map((key) => ({ type: "put" as const, key, value: key.toUpperCase() })),
      { type: "put", key: "o:x", value: "1" },
      { type: "put", key: "s", value: "no" },
    ]);
    const read: string[] = [];
    for await (const [k, v] of kv.entries(prefixRange("s:"))) {
      expect(v).toBe(k.toUpperCase());
      read.push(k);
    }
    expect(read).toEqual(keys);
    await kv.clear(prefixRange("s:"));
    const left: string[] = [];
    for await (const [k] of kv.entries()) left.push(k);
    expect(left).toEqual(["o:x", "s"]);
  });

  it("a batch is all or nothing, and a later op on the same key wins", async () => {
    await kv.batch([
      { type: "put", key: "a", value: "1" },
      { type: "del", key: "a" },
      { type: "put", key: "b", value: "2" },
      { type: "put", key: "b", value: "3" },
    ]);
    expect(await kv.get("a")).toBeUndefined();
    expect(await kv.get("b")).toBe("3");
    // A value the store refuses (a NUL byte in text) fails the whole batch: "c" is not written either.
    await expect(
      kv.batch([
        { type: "put", key: "c", value: "4" },
        { type: "put", key: "d", value: kv.kind === "postgres" ? "bad\u0000" : (undefined as unknown as string) },
      ]),
    ).rejects.toThrow();
    expect(await kv.get("c")).toBeUndefined();
  });
});
