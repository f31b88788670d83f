// The observed-state store against both backends, real LevelDB and a real PostgreSQL started by the
// test: a reader never sees records ahead of the cursor, and terminated deployments leave memory.
// The watcher compares its state with the chain's views at the cursor's block; a state that moved
// while the cursor had not (records set before the batch was written, the cursor after) made that
// comparison see a false difference and replay the whole chain (a CI flake in runWatcher.test.ts).
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Hex } from "viem";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { HyphaEvent } from "../../../src/watcher/ingest/decodeLogs";
import type { KvStore } from "../../../src/watcher/store/kvStore";
import { LevelKv } from "../../../src/watcher/store/levelKv";
import { PostgresKv } from "../../../src/watcher/store/postgresKv";
import { StateStore } from "../../../src/watcher/store/stateStore";
import { postgresUnavailable, startPostgres, type TestPostgres } from "../../helpers/postgres";

const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
const registered = (block: number, nodeId: number, endpoint: string) =>
  ({
    eventName: "NodeRegistered",
    blockNumber: BigInt(block),
    blockHash: hash(block),
    logIndex: 0,
    args: {
      nodeId,
      operator: `0x${"11".repeat(20)}`,
      agent: `0x${"22".repeat(20)}`,
      stake: 10n,
      registration: { cpuMillis: 1000, memoryMiB: 512, diskMiB: 1024, slots: 4, pricePerSecond: 1n, measurement: hash(99), endpoint },
    },
  }) as unknown as HyphaEvent;
const endpointUpdated = (block: number, nodeId: number, endpoint: string) =>
  ({ eventName: "EndpointUpdated", blockNumber: BigInt(block), blockHash: hash(block), logIndex: 1, args: { nodeId, endpoint } }) as unknown as HyphaEvent;

const ID = `0x${"ab".repeat(32)}` as Hex;
const intent = {
  deployer: `0x${"33".repeat(20)}`,
  specHash: hash(7),
  imageRoot: hash(8),
  replicas: 2,
  cpuMillis: 100,
  memoryMiB: 64,
  diskMiB: 64,
  maxPricePerSecond: 5n,
  budget: 100n,
  nonce: 1n,
  deadline: 9n,
  kind: 1,
  quorum: 1,
  maxRetries: 1,
  maxRunSeconds: 60,
};
const submitted = (block: number, id: Hex) =>
  ({ eventName: "IntentSubmitted", blockNumber: BigInt(block), blockHash: hash(block), logIndex: 2, args: { id, intent } }) as unknown as HyphaEvent;
const terminated = (block: number, id: Hex) =>
  ({ eventName: "Terminated", blockNumber: BigInt(block), blockHash: hash(block), logIndex: 3, args: { id } }) as unknown as HyphaEvent;
const replicaStopped = (block: number, id: Hex) =>
  ({
    eventName: "ReplicaStatusChanged",
    blockNumber: BigInt(block),
    blockHash: hash(block),
    logIndex: 4,
    args: { id, replicaIndex: 1, nodeId: 3, from: 0, to: 6 },
  }) as unknown as HyphaEvent;

let postgres: TestPostgres | undefined;
beforeAll(async () => {
  if (!postgresUnavailable) postgres = await startPostgres();
}, 60_000);
afterAll(async () => {
  await postgres?.stop();
});

const backends = [
  { name: "leveldb", skip: undefined, open: async (dir: string) => LevelKv.open(dir) },
  // Skipped only where PostgreSQL is not installed (a fresh machine); CI installs it (.ci/run).
  { name: "postgres", skip: postgresUnavailable, open: async () => PostgresKv.open(await postgres!.newDatabase(), { table: "hypha_watcher" }) },
];

describe.each(backends)("StateStore on $name", ({ skip, open }) => {
  let dir: string;
  let db: KvStore;
  beforeEach(async (ctx) => {
    if (skip) ctx.skip(skip);
    dir = await mkdtemp(path.join(os.tmpdir(), "hypha-state-"));
    db = await open(dir);
  });
  afterEach(async () => {
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("moves records and cursor together: while a range is being written, readers see the old state at the old cursor", async () => {
    const store = await StateStore.open(db, 256);
    await store.applyRange([registered(1, 1, "http://a")], { number: 1n, hash: hash(1) });
    const writing = store.applyRange([endpointUpdated(2, 1, "http://b"), registered(2, 2, "http://c")], { number: 2n, hash: hash(2) });
    // The batch is in flight: nothing of block 2 is visible yet.
    expect(store.cursor()?.number).toBe(1n);
    expect(store.nodes().map((n) => [n.nodeId, n.endpoint])).toEqual([[1, "http://a"]]);
    await writing;
    expect(store.cursor()?.number).toBe(2n);
    expect(store.nodes().map((n) => [n.nodeId, n.endpoint])).toEqual([
      [1, "http://b"],
      [2, "http://c"],
    ]);
    // The same holds on the way back.
    const rolling = store.rollbackTo({ number: 1n, hash: hash(1) });
    expect(store.cursor()?.number).toBe(2n);
    expect(store.nodes()).toHaveLength(2);
    await rolling;
    expect(store.cursor()?.number).toBe(1n);
    expect(store.nodes().map((n) => [n.nodeId, n.endpoint])).toEqual([[1, "http://a"]]);
    // And what is on disk is what is in memory.
    const reopened = await StateStore.open(db, 256);
    expect(await reopened.dump()).toEqual(await store.dump());
    expect(reopened.cursor()).toEqual(store.cursor());
  });

  it("an event that reads a record written earlier in the same range sees that write (and undo keeps the oldest value)", async () => {
    const store = await StateStore.open(db, 256);
    await store.applyRange([registered(1, 1, "http://a"), endpointUpdated(2, 1, "http://b"), endpointUpdated(3, 1, "http://c")], { number: 3n, hash: hash(3) });
    expect(store.node(1)).toMatchObject({ endpoint: "http://c", cpuMillis: 1000 });
    await store.rollbackTo({ number: 2n, hash: hash(2) });
    expect(store.node(1)).toMatchObject({ endpoint: "http://b", cpuMillis: 1000 });
    await store.rollbackTo({ number: 0n, hash: hash(0) });
    expect(store.nodes()).toEqual([]);
  });

  it("a terminated deployment leaves memory but not the store; a late event on it and a reorg back are exact", async () => {
    const store = await StateStore.open(db, 256);
    await store.applyRange([registered(1, 3, "http://a"), submitted(1, ID)], { number: 1n, hash: hash(1) });
    expect(store.deployments().map((d) => d.id)).toEqual([ID]);
    expect(store.replicasOf(ID)).toHaveLength(2);
    await store.applyRange([terminated(2, ID)], { number: 2n, hash: hash(2) });
    // Out of memory: reconcile no longer iterates it; the count and the store still have it.
    expect(store.deployments()).toEqual([]);
    expect(store.replicasOf(ID)).toEqual([]);
    expect(store.deploymentCount()).toBe(1);
    const paged = await store.pageDeployments({ limit: 10 });
    expect(paged.map((d) => [d.id, d.terminated])).toEqual([[ID, true]]);
    // A late event reads the stored replica back (it must not start from a blank one).
    await store.applyRange([replicaStopped(3, ID)], { number: 3n, hash: hash(3) });
    const dump = await store.dump();
    expect(dump[`rep:${ID}:00001`]).toMatchObject({ status: 6, nodeId: 3, attempt: 0, deploymentId: ID });
    expect(store.deployments()).toEqual([]);
    // Reopened: still out of memory, still counted.
    const reopened = await StateStore.open(db, 256);
    expect(reopened.deployments()).toEqual([]);
    expect(reopened.deploymentCount()).toBe(1);
    // A reorg that undoes the termination brings it back into memory, replicas included.
    await reopened.rollbackTo({ number: 1n, hash: hash(1) });
    expect(reopened.deployments().map((d) => [d.id, d.terminated])).toEqual([[ID, false]]);
    expect(reopened.replicasOf(ID).map((r) => r.status)).toEqual([0, 0]);
    expect(reopened.deploymentCount()).toBe(1);
  });

  it("a catch-up through blocks deeper than the reorg window below the head writes no undo log for them; recent blocks keep theirs", async () => {
    const store = await StateStore.open(db, 4);
    // Head 20, window 4: block 2 is final, block 18 may still be replaced.
    await store.applyRange([registered(2, 1, "http://a"), endpointUpdated(18, 1, "http://b")], { number: 18n, hash: hash(18) }, new Map(), 20n);
    const undoKeys: string[] = [];
    for await (const [key] of db.entries({ gte: "u:", lt: "u;" })) undoKeys.push(key);
    expect(undoKeys).toEqual([`u:${"18".padStart(16, "0")}`]);
    expect(store.node(1)?.endpoint).toBe("http://b");
    await store.rollbackTo({ number: 17n, hash: hash(17) });
    expect(store.node(1)?.endpoint).toBe("http://a");
  });
});
