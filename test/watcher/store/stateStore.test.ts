// The observed-state store against real LevelDB: a reader never sees records ahead of the cursor.
// The watcher compares its state with the chain's views at the cursor's block; a state that moved
// while the cursor had not (records set before the batch was written, the cursor after) made that
// comparison see a false difference and replay the whole chain (a CI flake in runWatcher.test.ts).
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Level } from "level";
import type { Hex } from "viem";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { HyphaEvent } from "../../../src/watcher/ingest/decodeLogs";
import { StateStore } from "../../../src/watcher/store/stateStore";

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

describe("StateStore", () => {
  let dir: string;
  let db: Level<string, string>;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "hypha-state-"));
    db = new Level<string, string>(dir, { valueEncoding: "utf8" });
    await db.open();
  });
  afterEach(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
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
    expect(reopened.dump()).toEqual(store.dump());
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
});
