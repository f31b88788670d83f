// The watcher's /healthz tells the truth: a real `hardhat node` is stopped with SIGSTOP (it keeps
// its port open and answers nothing), and the watcher's /healthz turns 503 with the reason, its
// status stops saying caughtUp; on SIGCONT it is healthy again and places what arrived, once.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseEventLogs } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentRegistryAbi } from "../../../src/chain/abi";
import { devPrivateKey } from "../../../src/chain/devAccounts";
import { runWatcher, type WatcherHandle } from "../../../src/watcher/runWatcher";
import { watcherHealth } from "../../../src/watcher/status/health";
import { startHardhatNode } from "../../helpers/chain";
import { setupHypha, startHealthServer, waitFor, type HyphaFixture } from "../helpers/hyphaFixture";

const silent = { debug() {}, info() {}, warn() {}, error() {} };
let node: Awaited<ReturnType<typeof startHardhatNode>>;
let fx: HyphaFixture;
let tmp: string;
let agent: Awaited<ReturnType<typeof startHealthServer>>;
let watcher: WatcherHandle | undefined;
let stopped = false;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "hypha-watcher-health-"));
  node = await startHardhatNode();
  fx = await setupHypha(node.rpcUrl);
  agent = await startHealthServer();
  await fx.registerNode({ endpoint: agent.url });
}, 180_000);

afterAll(async () => {
  if (stopped) process.kill(node.pid, "SIGCONT");
  await watcher?.close();
  await agent?.close();
  await node?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("watcherHealth", () => {
  it("is healthy while the chain answered within the limit, and names the chain, the age and the last error after", () => {
    expect(watcherHealth({ now: 5000, lastChainOkAt: 0, staleAfterMs: 10_000, rpcUrl: "http://c", lastChainError: null })).toEqual({ ok: true });
    expect(watcherHealth({ now: 12_000, lastChainOkAt: 0, staleAfterMs: 10_000, rpcUrl: "http://c", lastChainError: "timed out" })).toEqual({
      ok: false,
      reason: "chain http://c: no answer for 12 s (limit 10 s): the observed state is stale; last error: timed out",
    });
  });
});

describe("watcher /healthz against a stopped chain", () => {
  it("answers 503 with the reason while the chain is stopped, 200 again after, and loses nothing", async () => {
    watcher = await runWatcher(
      {
        rpcUrl: node.rpcUrl,
        addresses: { nodeRegistry: fx.addresses.nodeRegistry, deploymentRegistry: fx.addresses.deploymentRegistry, startBlock: 0n },
        senderPrivateKeys: [devPrivateKey(1)],
        dataDir: path.join(tmp, "watcher"),
        pollIntervalMs: 50,
        nodeLostAfterMs: 0,
        staleAfterMs: 2000,
        statusPort: 0,
      },
      silent,
    );
    const w = watcher;
    await waitFor("caught up", () => w.status().caughtUp, 10_000);
    const ok = await fetch(`${w.statusUrl}/healthz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true });

    process.kill(node.pid, "SIGSTOP");
    stopped = true;
    const stoppedAt = Date.now();
    let res: Response | undefined;
    await waitFor("503", async () => (res = await fetch(`${w.statusUrl}/healthz`)).status === 503, 15_000, 200);
    const body = (await res!.json()) as { ok: boolean; reason: string };
    console.log(`chain SIGSTOP: watcher /healthz 503 after ${Date.now() - stoppedAt} ms (staleAfterMs 2000): ${body.reason}`);
    expect(body).toEqual({ ok: false, reason: expect.stringContaining(`chain ${node.rpcUrl}: no answer for`) });
    expect(body.reason).toMatch(/the observed state is stale/);
    const status = (await (await fetch(`${w.statusUrl}/v1/status`)).json()) as { caughtUp: boolean; lastError: string };
    expect(status.caughtUp).toBe(false);
    expect(status.lastError).toMatch(/no answer for/);

    process.kill(node.pid, "SIGCONT");
    stopped = false;
    await waitFor("healthy again", async () => (await fetch(`${w.statusUrl}/healthz`)).status === 200, 60_000, 200);
    const { ids } = await fx.submitIntents(2, { nonceBase: 1n });
    await waitFor(
      "placed",
      async () => {
        const all = await Promise.all(
          ids.map((id) =>
            fx.publicClient.readContract({ address: fx.addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "getReplicas", args: [id] }),
          ),
        );
        return all.every((rs) => rs[0]!.status === 1);
      },
      20_000,
    );
    const logs = await fx.publicClient.getLogs({ address: fx.addresses.deploymentRegistry, fromBlock: 0n, toBlock: await fx.publicClient.getBlockNumber() });
    const scheduled = parseEventLogs({ abi: deploymentRegistryAbi, logs, eventName: "ReplicaScheduled" });
    expect(scheduled.map((e) => e.args.id).sort()).toEqual([...ids].sort());
  }, 120_000);
});
