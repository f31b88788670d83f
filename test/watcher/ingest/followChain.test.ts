// Ingest against a real `hardhat node` over JSON-RPC: restart from the cursor, reorgs, and the
// derived state checked against the contracts' own views.
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createPublicClient, http as viemHttp, type PublicClient } from "viem";
import os from "node:os";
import path from "node:path";
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentRegistryAbi, nodeRegistryAbi } from "../../../src/chain/abi";
import { devPrivateKey } from "../../../src/chain/devAccounts";
import { runWatcher } from "../../../src/watcher/runWatcher";
import { decodeHyphaLogs } from "../../../src/watcher/ingest/decodeLogs";
import { parseEventLogs } from "viem";
import { startHardhatNode } from "../../helpers/chain";
import { setupHypha, startHealthServer, waitFor, type HyphaFixture } from "../helpers/hyphaFixture";
import { followToHead, freshReplay, openFollower, stepAndApply } from "../helpers/replay";

const silent = { debug() {}, info() {}, warn() {}, error() {} };
let node: Awaited<ReturnType<typeof startHardhatNode>>;
let fx: HyphaFixture;
let tmp: string;
let health: Awaited<ReturnType<typeof startHealthServer>>;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "hypha-ingest-"));
  node = await startHardhatNode();
  fx = await setupHypha(node.rpcUrl);
  health = await startHealthServer();
  await fx.registerNode({ endpoint: health.url });
  await fx.registerNode({ endpoint: health.url });
  // Let a real watcher place a few deployments so the chain has additive events (capacity reserved).
  const { ids } = await fx.submitIntents(6, { replicas: 2 });
  const w = await runWatcher(
    {
      rpcUrl: node.rpcUrl,
      addresses: { ...fx.addresses, startBlock: 0n },
      senderPrivateKeys: [devPrivateKey(1)],
      dataDir: path.join(tmp, "w0"),
      pollIntervalMs: 50,
      nodeLostAfterMs: 0,
    },
    silent,
  );
  await waitFor("all replicas scheduled", () => ids.every((id) => w.store.replicasOf(id).every((r) => r.status === 1)));
  await w.close();
}, 180_000);

afterAll(async () => {
  await health?.close();
  await node?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function checkAgainstChain(dump: Record<string, unknown>) {
  const nodes = Object.values(dump).filter(
    (v): v is { nodeId: number; cpuMillis: number; reservedCpuMillis: number; usedSlots: number; slots: number } =>
      typeof v === "object" && v !== null && "operator" in v,
  );
  expect(nodes.length).toBe(2);
  for (const n of nodes) {
    const onChain = await fx.publicClient.readContract({ address: fx.addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "getNode", args: [n.nodeId] });
    expect(n.cpuMillis - n.reservedCpuMillis).toBe(onChain.freeCpuMillis);
    expect(n.slots - n.usedSlots).toBe(onChain.freeSlots);
  }
  const reps = Object.values(dump).filter(
    (v): v is { deploymentId: Hex; index: number; status: number; attempt: number } =>
      typeof v === "object" && v !== null && "attempt" in v && "deploymentId" in v,
  );
  for (const r of reps) {
    const onChain = await fx.publicClient.readContract({
      address: fx.addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      functionName: "getReplica",
      args: [r.deploymentId, r.index],
    });
    expect([r.status, r.attempt]).toEqual([onChain.status, onChain.attempt]);
  }
}

describe("ingest (ChainFollower + StateStore)", () => {
  it("a restart resumes from the stored cursor: nothing skipped, nothing applied twice", async () => {
    const reference = await freshReplay(fx.publicClient, fx.addresses, path.join(tmp, "ref"));
    await checkAgainstChain(reference);
    const dir = path.join(tmp, "restart");
    let f = await openFollower(fx.publicClient, fx.addresses, dir, { initial: 1, max: 2 });
    for (let i = 0; i < 7; i++) await stepAndApply(f.follower, f.store);
    const cursor = f.store.cursor()!;
    expect(cursor.number).toBeGreaterThan(0n);
    await f.db.close();
    f = await openFollower(fx.publicClient, fx.addresses, dir, { initial: 1, max: 2 });
    expect(f.store.cursor()).toEqual(cursor);
    const steps = await followToHead(f);
    expect(steps).toBeGreaterThan(1);
    expect(await f.store.dump()).toEqual(reference);
    await f.db.close();
  });

  it("a reorg (snapshot, mine, revert, mine a different chain) leaves the state equal to a fresh replay", async () => {
    const dir = path.join(tmp, "reorg");
    const f = await openFollower(fx.publicClient, fx.addresses, dir, { initial: 1000, max: 1000 });
    await followToHead(f);
    const snapshot = (await fx.rpc("evm_snapshot")) as string;
    const a = await fx.submitIntents(3, { nonceBase: 1000n });
    await fx.rpc("hardhat_mine", ["0x3"]);
    await followToHead(f);
    expect(a.ids.every((id) => f.store.deployment(id))).toBe(true);
    const oldHead = f.store.cursor()!;
    expect(await fx.rpc("evm_revert", [snapshot])).toBe(true);
    const b = await fx.submitIntents(2, { nonceBase: 2000n, deployer: 12 });
    await fx.rpc("hardhat_mine", ["0x6"]);
    await followToHead(f);
    expect(f.follower.reorgs).toBe(1);
    expect(f.store.cursor()!.number).toBeGreaterThan(oldHead.number);
    expect(a.ids.some((id) => f.store.deployment(id))).toBe(false);
    expect(b.ids.every((id) => f.store.deployment(id))).toBe(true);
    const reference = await freshReplay(fx.publicClient, fx.addresses, path.join(tmp, "ref-after-reorg"));
    expect(await f.store.dump()).toEqual(reference);
    await checkAgainstChain(reference);
    await f.db.close();
  });

  it("adapts the getLogs range to a provider that caps it, and retries through RPC errors", async () => {
    // A real HTTP JSON-RPC proxy in front of the node that behaves like a capped public provider:
    // eth_getLogs over more than 4 blocks fails ("query returned more than 10000 results"), and
    // every 11th request fails with HTTP 503.
    let requests = 0;
    let capped = 0;
    const proxy = http.createServer(async (req, res) => {
      const body = await new Promise<string>((resolve) => {
        let b = "";
        req.on("data", (d: Buffer) => (b += d.toString()));
        req.on("end", () => resolve(b));
      });
      if (++requests % 11 === 0) {
        res.writeHead(503).end("busy");
        return;
      }
      const calls = JSON.parse(body) as
        | { id: number; method: string; params: { fromBlock: string; toBlock: string }[] }
        | { id: number; method: string; params: { fromBlock: string; toBlock: string }[] }[];
      for (const c of Array.isArray(calls) ? calls : [calls]) {
        if (c.method === "eth_getLogs" && BigInt(c.params[0]!.toBlock) - BigInt(c.params[0]!.fromBlock) >= 4n) {
          capped++;
          res
            .writeHead(200, { "content-type": "application/json" })
            .end(JSON.stringify({ jsonrpc: "2.0", id: c.id, error: { code: -32005, message: "query returned more than 10000 results" } }));
          return;
        }
      }
      try {
        const upstream = await fetch(node.rpcUrl, { method: "POST", headers: { "content-type": "application/json" }, body });
        res.writeHead(upstream.status, { "content-type": "application/json" }).end(await upstream.text());
      } catch {
        res.writeHead(502).end("upstream failed");
      }
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const proxied = createPublicClient({ transport: viemHttp(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, { retryCount: 0 }) }) as PublicClient;
    const f = await openFollower(proxied, fx.addresses, path.join(tmp, "capped"), { initial: 64, max: 64 });
    let failures = 0;
    let steps = 0;
    let caughtUp = false;
    for (let i = 0; i < 5000 && !caughtUp; i++) {
      try {
        caughtUp = (await stepAndApply(f.follower, f.store)).caughtUp;
        steps++;
      } catch {
        failures++;
      }
    }
    expect(caughtUp).toBe(true); // a fixed 64-block range would never get past the cap
    expect(capped).toBeGreaterThan(0);
    expect(failures).toBeGreaterThan(0);
    // The first 64-block range is split until served (64 -> 32 -> 16 -> 8 -> 4: 15 refused parts at
    // most); the follower then never asks for a span that was refused, so a later refusal can only
    // come from a range cut short by a 503 (at most the same 15 once more per failure).
    expect(capped).toBeLessThanOrEqual(15 * (1 + failures));
    expect(f.follower.rangeSize()).toBeLessThanOrEqual(4);
    const reference = await freshReplay(fx.publicClient, fx.addresses, path.join(tmp, "ref-capped"));
    expect(await f.store.dump()).toEqual(reference);
    await f.db.close();
    await new Promise((resolve) => proxy.close(resolve));
  });
  it("deep in the history (below the finality depth) fetches each range once, the next one while the last is applied, to the same state", async () => {
    let getLogsCalls = 0;
    const counting = {
      ...fx.publicClient,
      request: (args: { method: string }) => {
        if (args.method === "eth_getLogs") getLogsCalls++;
        return fx.publicClient.request(args as never);
      },
    } as PublicClient;
    const f = await openFollower(counting, fx.addresses, path.join(tmp, "deep"), { initial: 1, max: 1, finalityDepth: 3 });
    const kinds: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const step = await stepAndApply(f.follower, f.store);
      kinds.push(step.kind);
      if (step.caughtUp) break;
    }
    const head = await fx.publicClient.getBlockNumber({ cacheTime: 0 });
    expect(f.store.cursor()!.number).toBe(head);
    // One block per range: one getLogs per block, plus at most the one prefetch left unused where deep steps end.
    expect(kinds.filter((k) => k === "range").length).toBe(Number(head) + 1);
    expect(getLogsCalls).toBeLessThanOrEqual(Number(head) + 2);
    expect(await f.store.dump()).toEqual(await freshReplay(fx.publicClient, fx.addresses, path.join(tmp, "ref-deep")));
    await f.db.close();
  });

  it("decodes every log of the history exactly as viem's parseEventLogs does, in chain order", async () => {
    const logs = await fx.publicClient.getLogs({ address: [fx.addresses.nodeRegistry, fx.addresses.deploymentRegistry], fromBlock: 0n });
    const ours = decodeHyphaLogs(logs, fx.addresses);
    const nr = fx.addresses.nodeRegistry.toLowerCase();
    const viems = [
      ...parseEventLogs({ abi: nodeRegistryAbi, logs: logs.filter((l) => l.address.toLowerCase() === nr), strict: true }),
      ...parseEventLogs({ abi: deploymentRegistryAbi, logs: logs.filter((l) => l.address.toLowerCase() !== nr), strict: true }),
    ].sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
    expect(new Set(ours.map((e) => e.eventName)).size).toBeGreaterThanOrEqual(4);
    expect(ours.length).toBeGreaterThan(10);
    expect(ours).toEqual(viems);
  });
});
