// The watcher's database as a cache of the chain, against a real `hardhat node` and real LevelDB:
// a cursor moved back behind the state, an unreadable record, a truncated table and a deleted
// CURRENT file each make the next start rebuild the state from the chain, saying so in one error
// line that names the directory and the key. Each time the rebuilt state equals a fresh replay,
// every replica is placed, and none twice (one ReplicaScheduled per replica and attempt).
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, stat, truncate, unlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Level } from "level";
import { parseEventLogs, type Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentRegistryAbi, nodeRegistryAbi } from "../../../src/chain/abi";
import { devPrivateKey } from "../../../src/chain/devAccounts";
import { runWatcher, type WatcherHandle } from "../../../src/watcher/runWatcher";
import { encodeRecord } from "../../../src/watcher/store/codec";
import { startHardhatNode } from "../../helpers/chain";
import { setupHypha, startHealthServer, waitFor, type HyphaFixture } from "../helpers/hyphaFixture";
import { freshReplay } from "../helpers/replay";

interface Line {
  level: string;
  obj: Record<string, unknown>;
  msg?: string;
}
let lines: Line[] = [];
const logger = {
  debug() {},
  info(obj: object, msg?: string) {
    lines.push({ level: "info", obj: obj as Record<string, unknown>, msg });
  },
  warn(obj: object, msg?: string) {
    lines.push({ level: "warn", obj: obj as Record<string, unknown>, msg });
  },
  error(obj: object, msg?: string) {
    lines.push({ level: "error", obj: obj as Record<string, unknown>, msg });
  },
};

let node: Awaited<ReturnType<typeof startHardhatNode>>;
let fx: HyphaFixture;
let tmp: string;
let dataDir: string;
let agents: Awaited<ReturnType<typeof startHealthServer>>[] = [];
let watcher: WatcherHandle | undefined;
const ids: Hex[] = [];

const start = async () => {
  lines = [];
  watcher = await runWatcher(
    {
      rpcUrl: node.rpcUrl,
      addresses: { nodeRegistry: fx.addresses.nodeRegistry, deploymentRegistry: fx.addresses.deploymentRegistry, startBlock: 0n },
      senderPrivateKeys: [devPrivateKey(1)],
      dataDir,
      pollIntervalMs: 50,
      reconcileIntervalMs: 300,
      nodeLostAfterMs: 0,
      chainRereadIntervalMs: 0,
      outboxLostWaitMs: 5000,
    },
    logger,
  );
  return watcher;
};
const stop = async () => {
  await watcher?.close();
  watcher = undefined;
};

const replicas = (id: Hex) =>
  fx.publicClient.readContract({ address: fx.addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "getReplicas", args: [id] });

/** Every deployment's replicas placed, each (replica, attempt) scheduled exactly once on-chain, and the state equal to a fresh replay. */
async function expectNothingLostNothingTwice(w: WatcherHandle): Promise<void> {
  await waitFor("every replica placed", async () => (await Promise.all(ids.map(replicas))).every((rs) => rs.every((r) => r.status === 1)), 20_000);
  const logs = await fx.publicClient.getLogs({ address: fx.addresses.deploymentRegistry, fromBlock: 0n, toBlock: await fx.publicClient.getBlockNumber() });
  const scheduled = parseEventLogs({ abi: deploymentRegistryAbi, logs, eventName: "ReplicaScheduled" }).map(
    (e) => `${e.args.id}:${e.args.replicaIndex}:${e.args.attempt}`,
  );
  expect(new Set(scheduled).size).toBe(scheduled.length);
  expect(scheduled.length).toBe(ids.length);
  const head = await fx.publicClient.getBlockNumber();
  await waitFor("caught up with the head", () => w.status().caughtUp && w.store.cursor()?.number === head, 10_000);
  expect(await w.store.dump()).toEqual(await freshReplay(fx.publicClient, fx.addresses, path.join(tmp, `replay-${Date.now()}`)));
  for (const n of w.store.nodes()) {
    const v = await fx.publicClient.readContract({ address: fx.addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "getNode", args: [n.nodeId] });
    expect(n.cpuMillis - n.reservedCpuMillis).toBe(Number(v.freeCpuMillis));
  }
}

/** The one error line of a rebuild: names the directory and, when given, the key. */
function rebuildLine(key?: string): Line {
  const line = lines.find((l) => l.level === "error" && l.msg?.includes(`watcher database ${dataDir}`));
  expect(line, `no error line naming ${dataDir}: ${JSON.stringify(lines.filter((l) => l.level !== "info"))}`).toBeDefined();
  if (key) expect(line!.msg).toContain(key);
  expect(line!.msg).toMatch(/rebuil|starting an empty one/);
  return line!;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "hypha-watcherdb-"));
  dataDir = path.join(tmp, "watcher");
  node = await startHardhatNode();
  fx = await setupHypha(node.rpcUrl);
  agents = await Promise.all([startHealthServer(), startHealthServer()]);
  for (const a of agents) await fx.registerNode({ endpoint: a.url, cpuMillis: 4000 });
}, 180_000);

afterAll(async () => {
  await stop();
  for (const a of agents) await a.close().catch(() => {});
  await node?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("the watcher's database is a cache of the chain", () => {
  it("a cursor moved back behind live reservations is found against the chain's views; capacity is not counted twice", async () => {
    const w = await start();
    await waitFor("caught up", () => w.status().caughtUp, 10_000);
    const before = await fx.publicClient.getBlock();
    const two = await fx.submitIntents(2, { cpuMillis: 2500, nonceBase: 1n }); // one per 4000m node
    ids.push(...two.ids);
    await waitFor("both placed", async () => (await Promise.all(two.ids.map(replicas))).every((rs) => rs[0]!.status === 1), 20_000);
    await waitFor("ingested", () => two.ids.every((id) => w.store.replicasOf(id)[0]?.status === 1), 10_000);
    await stop();

    // Move the cursor back to before the placements, and remove the block hashes and undo logs after
    // it too, so only the chain can tell: replaying would reserve 2 x 2500m again on each node.
    const db = new Level<string, string>(dataDir, { valueEncoding: "utf8" });
    const later: string[] = [];
    for await (const key of db.keys()) if (/^[hu]:\d{16}$/.test(key) && BigInt(key.slice(2)) > before.number) later.push(key);
    expect(later.length).toBeGreaterThan(0);
    await db.batch([
      ...later.map((key) => ({ type: "del" as const, key })),
      { type: "put", key: "m:cursor", value: encodeRecord({ number: before.number, hash: before.hash }) },
    ]);
    await db.close();

    const w2 = await start();
    expect(w2.status().stateCheck).toMatchObject({ ok: false, rebuilt: true, problem: { kind: "inconsistent", key: "s:node:0000000001" } });
    expect(rebuildLine("s:node:0000000001").msg).toMatch(/state says free .*"freeCpuMillis":1500.*the chain .*"freeCpuMillis":4000/);
    // a 1500m job fits next to each 2500m one, and is placed
    const third = await fx.submitIntents(1, { cpuMillis: 1500, nonceBase: 3n });
    ids.push(...third.ids);
    await expectNothingLostNothingTwice(w2);
    await stop();
  }, 90_000);

  it("an unreadable record (and an unreadable outbox record) is named, and the state rebuilt; the rest of the outbox is kept", async () => {
    const db = new Level<string, string>(dataDir, { valueEncoding: "utf8" });
    await db.put("s:node:0000000001", "garbage{not json");
    await db.put("o:op:schedule:0xdead:0:1", "garbage{not json");
    await db.close();
    const w = await start();
    expect(w.status().stateCheck).toMatchObject({ ok: false, rebuilt: true, outboxRecordsLost: 1, problem: { kind: "unreadable", key: "s:node:0000000001" } });
    expect(rebuildLine("s:node:0000000001").msg).toMatch(/not valid JSON/);
    expect(lines.some((l) => l.level === "error" && l.msg?.includes("o:op:schedule:0xdead:0:1") && l.msg.includes(dataDir))).toBe(true);
    const more = await fx.submitIntents(1, { cpuMillis: 100, nonceBase: 4n });
    ids.push(...more.ids);
    await expectNothingLostNothingTwice(w);
    await stop();
  }, 90_000);

  it("a truncated table: the directory is moved aside (kept), an empty one started, and the state rebuilt", async () => {
    const tables = (await readdir(dataDir)).filter((f) => f.endsWith(".ldb"));
    expect(tables.length).toBeGreaterThan(0); // each open turns the log into a table
    // Every table cut in half (one alone may be one LevelDB no longer reads), as a disk that filled up mid-write leaves it.
    for (const t of tables) await truncate(path.join(dataDir, t), Math.floor((await stat(path.join(dataDir, t))).size / 2));
    const w = await start();
    const check = w.status().stateCheck;
    expect(check).toMatchObject({ ok: false, rebuilt: true, outboxRecordsLost: -1 });
    expect(check.movedAside).toMatch(/watcher\.broken-/);
    expect(existsSync(path.join(check.movedAside!, "CURRENT"))).toBe(true); // kept for a post-mortem
    expect(rebuildLine().msg).toContain(check.movedAside!);
    const more = await fx.submitIntents(1, { cpuMillis: 100, nonceBase: 5n });
    ids.push(...more.ids);
    await expectNothingLostNothingTwice(w);
    await stop();
  }, 90_000);

  it("a deleted CURRENT file: not an empty database in silence, but a loud rebuild", async () => {
    await unlink(path.join(dataDir, "CURRENT"));
    const w = await start();
    expect(w.status().stateCheck).toMatchObject({ ok: false, rebuilt: true, problem: { key: "CURRENT" } });
    expect(rebuildLine().msg).toMatch(/CURRENT file is missing/);
    await expectNothingLostNothingTwice(w);
    await stop();
  }, 90_000);

  it("a clean restart checks and trusts the state", async () => {
    const w = await start();
    expect(w.status().stateCheck).toEqual({ ok: true });
    expect(lines.filter((l) => l.level === "error")).toEqual([]);
    await expectNothingLostNothingTwice(w);
    await stop();
  }, 60_000);
});
