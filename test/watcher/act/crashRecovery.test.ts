// The outbox under crashes: a watcher child process is SIGKILLed at random moments while
// deployments keep arriving, then restarted on the same data dir. Afterwards every replica must be
// placed exactly once on-chain (one ReplicaScheduled per replica/attempt) and no orchestrator
// transaction may have reverted (a blind resend of an already-applied placement would revert).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LevelKv } from "../../../src/watcher/store/levelKv";
import { keccak256 } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { deploymentRegistryAbi } from "../../../src/chain/abi";
import { encodeActions } from "../../../src/watcher/act/encodeActions";
import { Outbox } from "../../../src/watcher/act/outbox";
import { resumeOutbox } from "../../../src/watcher/act/resumeOutbox";
import { scheduleKey, type ScheduleAction } from "../../../src/watcher/decide/reconcile";
import { devPrivateKey } from "../../../src/chain/devAccounts";
import { startHardhatNode } from "../../helpers/chain";
import { setupHypha, startHealthServer, waitFor, type HyphaFixture } from "../helpers/hyphaFixture";
import { followToHead, freshReplay, openFollower } from "../helpers/replay";
import { allPlaced, orchestratorTxsSince, scheduledSince } from "../helpers/placements";

// 200 deployments x 2 replicas, as the issue asks; submitted in 10 waves while the watcher is killed.
const DEPLOYMENTS = 200;
const REPLICAS = 2;
const WAVES = 10;
const KILLS = 10;

let node: Awaited<ReturnType<typeof startHardhatNode>>;
let fx: HyphaFixture;
let tmp: string;
let health: Awaited<ReturnType<typeof startHealthServer>>;
let child: ChildProcess | undefined;
const resumes: string[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "hypha-crash-"));
  node = await startHardhatNode();
  fx = await setupHypha(node.rpcUrl);
  health = await startHealthServer();
  for (let i = 0; i < 3; i++) await fx.registerNode({ endpoint: health.url, slots: 1000 });
}, 180_000);

afterAll(async () => {
  child?.kill("SIGKILL");
  await health?.close();
  await node?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function startChild(dataDir: string): Promise<ChildProcess> {
  const config = {
    rpcUrl: node.rpcUrl,
    addresses: { nodeRegistry: fx.addresses.nodeRegistry, deploymentRegistry: fx.addresses.deploymentRegistry, startBlock: "0" },
    senderPrivateKeys: [devPrivateKey(1), devPrivateKey(2)],
    dataDir,
    pollIntervalMs: 50,
    nodeLostAfterMs: 0,
    maxBatchSize: 3, // many small transactions, so kills often land while one is in flight
  };
  const proc = spawn(process.execPath, ["--require", "tsx/cjs", path.join(__dirname, "../helpers/watcherChild.ts"), JSON.stringify(config)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    proc.stdout!.on("data", (d: Buffer) => {
      for (const line of d.toString().split("\n")) {
        if (line.startsWith("resumed ")) resumes.push(line.slice(8));
        if (line === "ready") resolve(proc);
      }
    });
    proc.once("exit", (code) => reject(new Error(`watcher child exited (${code}) before ready:\n${err}`)));
  });
}

function kill(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once("exit", () => resolve());
    proc.kill("SIGKILL");
  });
}

describe("act: crash recovery of the outbox", () => {
  it("resume asks the chain: a recorded but never broadcast tx is dropped, a broadcast one is recorded mined, a done action stays done", async () => {
    const silent = { info() {}, warn() {} };
    const { ids, intents } = await fx.submitIntents(1, { deployer: 13, nonceBase: 9000n });
    const action: ScheduleAction = {
      type: "schedule",
      key: scheduleKey(ids[0]!, 0, 1),
      deploymentId: ids[0]!,
      intent: intents[0]!,
      replicaIndex: 0,
      nodeId: 1,
      pricePerSecond: 1n,
      attempt: 1,
    };
    const account = privateKeyToAccount(devPrivateKey(3));
    const db = await LevelKv.open(path.join(tmp, "resume"));
    const outbox = await Outbox.open(db);
    const sign = async (nonce: number) => {
      const fees = await fx.publicClient.estimateFeesPerGas();
      const raw = await account.signTransaction({
        chainId: 31337,
        type: "eip1559",
        to: fx.addresses.deploymentRegistry,
        data: encodeActions([action]),
        nonce,
        gas: 500_000n,
        maxFeePerGas: fees.maxFeePerGas!,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas!,
      });
      return { raw, tx: { sender: account.address, nonce, hash: keccak256(raw), opKeys: [action.key], sentAt: Date.now() } };
    };
    const nonce0 = await fx.publicClient.getTransactionCount({ address: account.address });
    // 1. Crash after persisting, before broadcast: the chain never saw it -> dropped, key free again.
    const first = await sign(nonce0);
    await outbox.recordSent(first.tx, [action]);
    expect(await resumeOutbox(fx.publicClient, outbox, fx.addresses.deploymentRegistry, silent)).toEqual({ mined: 0, dropped: 1, alreadyDone: 0 });
    expect(outbox.has(action.key)).toBe(false);
    expect(await fx.publicClient.getTransactionCount({ address: account.address })).toBe(nonce0);
    // 2. Crash after broadcast, before the receipt was recorded -> recorded mined, not resent.
    const second = await sign(nonce0);
    await outbox.recordSent(second.tx, [action]);
    await fx.publicClient.sendRawTransaction({ serializedTransaction: second.raw });
    expect(await resumeOutbox(fx.publicClient, outbox, fx.addresses.deploymentRegistry, silent)).toEqual({ mined: 1, dropped: 0, alreadyDone: 0 });
    expect(outbox.get(action.key)?.state).toBe("mined");
    expect(await fx.publicClient.getTransactionCount({ address: account.address })).toBe(nonce0 + 1);
    // 3. A recorded, unsent tx whose placement is already on-chain -> kept as done until ingest passes it.
    const third = await sign(nonce0 + 1);
    await outbox.recordSent(third.tx, [action]);
    expect(await resumeOutbox(fx.publicClient, outbox, fx.addresses.deploymentRegistry, silent)).toEqual({ mined: 0, dropped: 1, alreadyDone: 1 });
    expect(outbox.get(action.key)?.state).toBe("mined");
    expect(await fx.publicClient.getTransactionCount({ address: account.address })).toBe(nonce0 + 1);
    const reps = await fx.publicClient.readContract({
      address: fx.addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      functionName: "getReplicas",
      args: [ids[0]!],
    });
    expect([reps[0]!.status, reps[0]!.attempt, reps[0]!.nodeId]).toEqual([1, 1, 1]);
    // The outbox survives a reopen.
    await db.close();
    const db2 = await LevelKv.open(path.join(tmp, "resume"));
    expect((await Outbox.open(db2)).get(action.key)?.state).toBe("mined");
    await db2.close();
  });

  it(`SIGKILL at random points during ${DEPLOYMENTS} deployments: every replica placed, none twice, no reverted transaction`, async () => {
    const seed = Date.now() % 100_000;
    let rnd = seed;
    const random = () => (rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const dataDir = path.join(tmp, "watcher");
    const startBlock = await fx.publicClient.getBlockNumber();
    const ids: Hex[] = [];
    child = await startChild(dataDir);
    let kills = 0;
    for (let wave = 0; wave < WAVES; wave++) {
      const { ids: waveIds } = await fx.submitIntents(DEPLOYMENTS / WAVES, { replicas: REPLICAS, nonceBase: BigInt(wave * 1000) });
      ids.push(...waveIds);
      if (kills < KILLS) {
        await new Promise((r) => setTimeout(r, 50 + random() * 600));
        await kill(child);
        kills++;
        child = await startChild(dataDir);
      }
    }
    await waitFor("every replica placed", () => allPlaced(fx, ids, REPLICAS), 90_000, 500);
    await kill(child);
    child = undefined;

    const head = await fx.publicClient.getBlockNumber();
    const { scheduled, perReplica } = await scheduledSince(fx, startBlock, head);
    const wanted = new Set(ids.map((id) => id.toLowerCase()));
    const extra = scheduled.filter((e) => !wanted.has(e.args.id.toLowerCase()) || e.args.attempt !== 1);
    expect(
      extra.map((e) => `${e.args.id}:${e.args.replicaIndex}:${e.args.attempt}@${e.blockNumber}`),
      `seed ${seed}`,
    ).toEqual([]);
    expect(perReplica.size, `seed ${seed}`).toBe(DEPLOYMENTS * REPLICAS);
    expect(
      [...perReplica.values()].every((n) => n === 1),
      `seed ${seed}`,
    ).toBe(true);
    for (const e of scheduled) expect(e.args.attempt).toBe(1);

    // Every orchestrator transaction on-chain succeeded: nothing was resent blindly.
    const txs = await orchestratorTxsSince(fx, startBlock, head);
    const orchestratorTxs = txs.length;
    for (const t of txs) expect(t.status, `tx ${t.hash} (seed ${seed})`).toBe("success");
    expect(orchestratorTxs).toBeGreaterThan(0);
    expect(orchestratorTxs).toBeLessThanOrEqual(DEPLOYMENTS * REPLICAS);
    // The SIGKILLed watcher's own state, followed to the head, equals a fresh replay: no event lost or applied twice.
    const own = await openFollower(fx.publicClient, fx.addresses, dataDir, { initial: 100, max: 2000 });
    await followToHead(own);
    const ownDump = await own.store.dump();
    await own.db.close();
    expect(ownDump).toEqual(await freshReplay(fx.publicClient, fx.addresses, path.join(tmp, "replay")));
    console.log(
      `crash test: seed ${seed}, ${kills} kills, restarts that found transactions in flight: ${JSON.stringify(resumes)}, ${orchestratorTxs} orchestrator transactions for ${DEPLOYMENTS * REPLICAS} placements`,
    );
  }, 150_000);
});
