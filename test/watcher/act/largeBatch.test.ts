// The watcher settles many jobs at once against a real `hardhat node`: 150 one-replica jobs
// placed and, when they all finish in one block, terminated in as few
// terminateMany transactions as the node's per-transaction gas cap (2^24) allows, each sent with
// an explicit gas limit within that cap (the old per-action bound asked for more than the cap
// above 72 terminations, and the node refused the transaction).
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { decodeFunctionData, type Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentRegistryAbi } from "../../../src/chain/abi";
import { TX_GAS_CAP } from "../../../src/chain/gasCosts";
import { devAccount, devPrivateKey, DEV_ROLES } from "../../../src/chain/devAccounts";
import { runWatcher, type WatcherHandle } from "../../../src/watcher/runWatcher";
import { startHardhatNode } from "../../helpers/chain";
import { setupHypha, startHealthServer, waitFor, type HyphaFixture } from "../helpers/hyphaFixture";

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const JOBS = 150;
let node: Awaited<ReturnType<typeof startHardhatNode>>;
let fx: HyphaFixture;
let tmp: string;
let agents: Awaited<ReturnType<typeof startHealthServer>>[] = [];
let watcher: WatcherHandle;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "hypha-largebatch-"));
  node = await startHardhatNode();
  fx = await setupHypha(node.rpcUrl);
  agents = await Promise.all([startHealthServer(), startHealthServer(), startHealthServer()]);
  for (const a of agents) await fx.registerNode({ endpoint: a.url, slots: 200, cpuMillis: 200_000 });
  watcher = await runWatcher(
    {
      rpcUrl: node.rpcUrl,
      addresses: { nodeRegistry: fx.addresses.nodeRegistry, deploymentRegistry: fx.addresses.deploymentRegistry, startBlock: 0n },
      senderPrivateKeys: [devPrivateKey(DEV_ROLES.orchestrators[0])],
      dataDir: path.join(tmp, "watcher"),
      pollIntervalMs: 100,
      reconcileIntervalMs: 500,
      chainRereadIntervalMs: 0,
      maxBatchSize: 300,
    },
    silent,
  );
}, 180_000);

afterAll(async () => {
  await watcher?.close();
  for (const a of agents) await a.close().catch(() => {});
  await node?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const replicas = (id: Hex) =>
  fx.publicClient.readContract({ address: fx.addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "getReplicas", args: [id] });
const status = (id: Hex) =>
  fx.publicClient
    .readContract({ address: fx.addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "getDeployment", args: [id] })
    .then((d) => d.status);

describe("the watcher's batches under the per-transaction gas cap", () => {
  it(`places ${JOBS} jobs and settles them all when they finish in one block, every transaction within the cap`, async () => {
    const from = await fx.publicClient.getBlockNumber();
    const { ids } = await fx.submitIntents(JOBS, { replicas: 1, kind: 1, quorum: 1, nonceBase: 1n });
    await waitFor("every job replica scheduled", async () => (await Promise.all(ids.map(replicas))).every((r) => r[0]!.status === 1), 60_000, 200);
    const placed = await Promise.all(ids.map(async (id) => ({ id, r: (await replicas(id))[0]! })));
    const atts = (status: number, outputHash: Hex) =>
      placed.map(({ id, r }) => ({ id, replicaIndex: 0, nodeId: r.nodeId, attempt: r.attempt, status, outputHash }));
    await fx.attestMany(atts(0, `0x${"00".repeat(32)}`)); // Running
    await fx.attestMany(atts(1, `0x${"66".repeat(32)}`)); // Completed: every job final in this one block
    await waitFor("every job terminated by the watcher", async () => (await Promise.all(ids.map(status))).every((s) => s === 5), 60_000, 200);

    const orchestrator = devAccount(DEV_ROLES.orchestrators[0]).address.toLowerCase();
    const to = await fx.publicClient.getBlockNumber();
    const sent: { fn: string; gas: bigint; ok: boolean }[] = [];
    for (let b = from + 1n; b <= to; b++) {
      const block = await fx.publicClient.getBlock({ blockNumber: b, includeTransactions: true });
      for (const tx of block.transactions) {
        if (tx.from.toLowerCase() !== orchestrator) continue;
        const receipt = await fx.publicClient.getTransactionReceipt({ hash: tx.hash });
        sent.push({ fn: decodeFunctionData({ abi: deploymentRegistryAbi, data: tx.input }).functionName, gas: tx.gas, ok: receipt.status === "success" });
      }
    }
    console.log(`watcher transactions: ${sent.map((s) => `${s.fn} (limit ${s.gas})`).join(", ")}`);
    expect(sent.every((s) => s.ok)).toBe(true);
    expect(sent.every((s) => s.gas <= TX_GAS_CAP)).toBe(true);
    expect(sent.filter((s) => s.fn === "scheduleMany").length).toBeGreaterThanOrEqual(1); // intents arrive in 3 submitIntents of 50
    // 150 terminations need more than one cap's worth of limit: exactly two transactions.
    expect(sent.filter((s) => s.fn === "terminateMany")).toHaveLength(2);
  }, 180_000);
});
