/**
 * `npm run bench:watcher`: a watcher's cold start over the history of BENCH_DEPLOYMENTS (10,000)
 * deployments (issue 15: >= 20,000 events/s, peak RSS <= 200 MB during the catch-up and with the
 * 10,000 deployments in its state, bounded eth_getLogs replies). Builds the history on a real
 * `hardhat node`: services submitted 50 per transaction, placed by a real watcher (scheduleMany),
 * each replica attested Running by its node's agent (attestMany), all left live, so every
 * deployment stays in the state (the worst case for memory: terminated ones leave it). Then starts
 * BENCH_RUNS (3) fresh watchers, one after the other, each in a child process on an empty LevelDB
 * store, times each one's catch-up to the head, reads its VmHWM (peak RSS) then and its RSS with
 * the whole state loaded, and prints ONE JSON object with the medians. With BENCH_DATABASE_URL
 * (an empty PostgreSQL database) the same runs are repeated on PostgreSQL. With BENCH_BASELINE (the
 * path of another checkout, e.g. a `git worktree` of the old code with its node_modules) each run
 * is paired with one of that checkout's watcher over the same history, interleaved, and the ratios
 * printed. The watcher children run with BENCH_WATCHER_NODE_FLAGS (default
 * --max-old-space-size=1024, as the README advises for a watcher: with V8's default limit its heap
 * grows to ~4x the live state between full collections, and the peak RSS with it).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Hex } from "viem";
import { nodeRegistryAbi } from "../../src/chain/abi";
import { DEV_ROLES, devAccount, devPrivateKey } from "../../src/chain/devAccounts";
import pg from "pg";
import { runWatcher } from "../../src/watcher/runWatcher";
import { WATCHER_TABLE } from "../../src/watcher/store/openWatcherStore";
import { startHardhatNode } from "../../test/helpers/chain";
import { setupHypha, startHealthServer, waitFor } from "../../test/watcher/helpers/hyphaFixture";

const DEPLOYMENTS = Number(process.env.BENCH_DEPLOYMENTS ?? 10_000);
const WATCHER_NODE_FLAGS = (process.env.BENCH_WATCHER_NODE_FLAGS ?? "--max-old-space-size=1024").split(" ").filter(Boolean);
const BASELINE = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : undefined;
const NODES = 3;
const quiet = {
  debug() {},
  info() {},
  warn() {},
  error(o: object, m?: string) {
    process.stderr.write(`${m} ${JSON.stringify(o)}\n`);
  },
};
const log = (msg: string) => process.stderr.write(`[bench:watcher] ${msg}\n`);

function procStatus(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), "hypha-bench-watcher-"));
  const node = await startHardhatNode();
  const health = await startHealthServer();
  try {
    const fx = await setupHypha(node.rpcUrl);
    const perNode = Math.ceil(DEPLOYMENTS / NODES) + 10;
    for (let i = 0; i < NODES; i++) {
      const nodeId = await fx.registerNode({ endpoint: health.url, slots: Math.min(65_000, perNode), cpuMillis: 100 * perNode });
      const operator = DEV_ROLES.nodeOperators[i]!;
      // Room for every replica (the fixture registers 64,000 MiB of memory, 1,000 of its 64 MiB jobs).
      const hash = await fx.wallet(operator).writeContract({
        address: fx.addresses.nodeRegistry,
        abi: nodeRegistryAbi,
        functionName: "updateCapacity",
        args: [nodeId, 100 * perNode, 64 * perNode, 10 * perNode + 1000, Math.min(65_000, perNode)],
        account: devAccount(operator),
        chain: null,
      } as never);
      await fx.publicClient.waitForTransactionReceipt({ hash });
    }
    // The history: submitted, placed by a real watcher, attested Running.
    const genStart = Date.now();
    const placer = await runWatcher(
      {
        rpcUrl: node.rpcUrl,
        addresses: { ...fx.addresses, startBlock: 0n },
        senderPrivateKeys: [devPrivateKey(1), devPrivateKey(2)],
        dataDir: path.join(work, "placer"),
        nodeLostAfterMs: 0,
        pollIntervalMs: 50,
        chainRereadIntervalMs: 0,
      },
      quiet,
    );
    const ids: Hex[] = [];
    for (let done = 0; done < DEPLOYMENTS; done += 1000) {
      const n = Math.min(1000, DEPLOYMENTS - done);
      ids.push(...(await fx.submitIntents(n, { replicas: 1, nonceBase: BigInt(done) })).ids);
      log(`submitted ${ids.length}`);
    }
    await waitFor("every replica placed", () => ids.every((id) => placer.store.replicasOf(id)[0]?.status === 1), 900_000, 500);
    log(`placed ${ids.length} in ${Date.now() - genStart} ms`);
    for (let i = 0; i < ids.length; i += 100) {
      const list = ids.slice(i, i + 100).map((id) => {
        const r = placer.store.replicasOf(id)[0]!;
        return { id, replicaIndex: 0, nodeId: r.nodeId, attempt: r.attempt, status: 0 };
      });
      await fx.attestMany(list);
    }
    await waitFor("every replica running", () => ids.every((id) => placer.store.replicasOf(id)[0]?.status === 2), 300_000, 500);
    await placer.close();
    const head = await fx.publicClient.getBlockNumber();
    let events = 0;
    // The chain's own share: the same history read by a bare client, 10 blocks per eth_getLogs, one after another.
    const readStart = Date.now();
    for (let from = 0n; from <= head; from += 10n) {
      const to = from + 9n > head ? head : from + 9n;
      events += (await fx.publicClient.getLogs({ address: [fx.addresses.nodeRegistry, fx.addresses.deploymentRegistry], fromBlock: from, toBlock: to })).length;
    }
    const chainReadMs = Date.now() - readStart;
    log(`history: ${ids.length} deployments, ${events} events in ${head} blocks, built in ${Date.now() - genStart} ms, read back in ${chainReadMs} ms`);

    // The cold starts, measured: BENCH_RUNS (3) fresh watchers over the same history, medians reported.
    const summary = (runs: ColdStart[]) => {
      const median = (f: (r: ColdStart) => number) => [...runs].map(f).sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
      const catchUpMs = median((r) => r.catchUpMs);
      return {
        runs: runs.length,
        catchUp: {
          medianMs: catchUpMs,
          eventsPerSecond: Math.round((events / catchUpMs) * 1000),
          allMs: runs.map((r) => r.catchUpMs),
          watcherCpuMs: median((r) => r.cpuMs),
          eventsPerWatcherCpuSecond: Math.round((events / median((r) => r.cpuMs)) * 1000),
          target: ">= 20000 events/s",
        },
        rssMiB: {
          peakDuringCatchUp: median((r) => r.peakDuringCatchUpMiB),
          withStateAfterGc: median((r) => r.rssWithStateMiB),
          allPeaks: runs.map((r) => r.peakDuringCatchUpMiB),
          target: "<= 200 MB",
        },
        stateCounts: runs[0]!.counts,
        lastGetLogsRangeBlocks: runs[0]!.rangeSize,
      };
    };
    const measure = async (databaseUrl?: string) => {
      const runs: ColdStart[] = [];
      const baseRuns: ColdStart[] = [];
      for (let run = 0; run < Number(process.env.BENCH_RUNS ?? 3); run++) {
        runs.push(await coldStart(node.rpcUrl, fx.addresses, path.join(work, `cold-${run}`), databaseUrl));
        log(`cold start ${run + 1} (${databaseUrl ? "postgres" : "leveldb"}): ${JSON.stringify(runs[run])}`);
        if (!BASELINE) continue;
        baseRuns.push(await coldStart(node.rpcUrl, fx.addresses, path.join(work, `base-${run}`), databaseUrl, BASELINE));
        log(`baseline cold start ${run + 1}: ${JSON.stringify(baseRuns[run])}`);
      }
      const ours = summary(runs);
      if (!BASELINE) return ours;
      const base = summary(baseRuns);
      return {
        ...ours,
        baseline: { checkout: BASELINE, ...base },
        vsBaseline: {
          eventsPerSecond: Number((ours.catchUp.eventsPerSecond / base.catchUp.eventsPerSecond).toFixed(2)),
          eventsPerWatcherCpuSecond: Number((ours.catchUp.eventsPerWatcherCpuSecond / base.catchUp.eventsPerWatcherCpuSecond).toFixed(2)),
          peakRss: Number((ours.rssMiB.peakDuringCatchUp / base.rssMiB.peakDuringCatchUp).toFixed(2)),
        },
      };
    };
    const leveldb = await measure();
    const postgres = process.env.BENCH_DATABASE_URL ? await measure(process.env.BENCH_DATABASE_URL) : undefined;
    const result = {
      bench: "watcher",
      node: process.version,
      cores: os.cpus().length,
      loadavg1: Number(os.loadavg()[0]!.toFixed(2)),
      watcherNodeFlags: WATCHER_NODE_FLAGS.join(" "),
      deployments: ids.length,
      events,
      blocks: Number(head),
      /** The history read by a bare viem client (10-block eth_getLogs, sequential): what the chain alone takes to serve it. */
      chainReadMs,
      emptyWatcherRssMiB: Math.round(await baselineRss(node.rpcUrl, fx.addresses, path.join(work, "empty"))),
      leveldb,
      ...(postgres ? { postgres } : {}),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await health.close();
    await node.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

interface ColdStart {
  catchUpMs: number;
  /** The watcher process's own CPU time over the catch-up (the chain's share is not in it). */
  cpuMs: number;
  peakDuringCatchUpMiB: number;
  rssWithStateMiB: number;
  counts: unknown;
  rangeSize: number;
}

function watcherChild(
  rpcUrl: string,
  addresses: { nodeRegistry: string; deploymentRegistry: string },
  dataDir: string,
  startBlock: string,
  databaseUrl?: string,
  checkout?: string,
) {
  const config = {
    rpcUrl,
    addresses: { nodeRegistry: addresses.nodeRegistry, deploymentRegistry: addresses.deploymentRegistry, startBlock },
    senderPrivateKeys: [devPrivateKey(3)],
    dataDir,
    databaseUrl,
    nodeLostAfterMs: 0,
    chainRereadIntervalMs: 0,
    pollIntervalMs: 50,
  };
  const prof = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const args = [...WATCHER_NODE_FLAGS, "--expose-gc", ...prof, "--require", "tsx/cjs", path.join(__dirname, "watcherChild.ts"), JSON.stringify(config)];
  if (checkout) args.push(path.join(checkout, "src/watcher/runWatcher.ts"));
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const lines: string[] = [];
  let buf = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split("\n");
    buf = parts.pop()!;
    lines.push(...parts);
  });
  const next = (prefix: string) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const i = lines.findIndex((l) => l.startsWith(prefix));
        if (i >= 0) return resolve(lines.splice(i, 1)[0]!.slice(prefix.length));
        if (child.exitCode !== null) return reject(new Error(`watcher child exited (${child.exitCode})`));
        setTimeout(check, 5);
      };
      check();
    });
  const stop = async () => {
    child.kill("SIGTERM");
    if (child.exitCode === null) await new Promise((r) => child.once("exit", r));
  };
  return { child, next, stop };
}

/** One fresh watcher's catch-up from block 0 to the head, and its memory. */
async function coldStart(
  rpcUrl: string,
  addresses: { nodeRegistry: string; deploymentRegistry: string },
  dataDir: string,
  databaseUrl?: string,
  checkout?: string,
): Promise<ColdStart> {
  if (databaseUrl) {
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    await c.query(`DROP TABLE IF EXISTS ${WATCHER_TABLE}`); // each run starts empty
    await c.end();
  }
  const { child, next, stop } = watcherChild(rpcUrl, addresses, dataDir, "0", databaseUrl, checkout);
  try {
    const [catchUpMs, cpuMs] = (await next("caughtUp ")).split(" ").map(Number) as [number, number];
    const peakDuringCatchUpMiB = Math.round(procStatus(child.pid!, "VmHWM"));
    // Settled with the whole state in memory: a few reconciles over every live deployment, then a GC.
    await new Promise((r) => setTimeout(r, 3000));
    child.kill("SIGUSR2");
    const status = JSON.parse(await next("status ")) as { counts: unknown; rangeSize: number };
    const rssWithStateMiB = Math.round(procStatus(child.pid!, "VmRSS"));
    return { catchUpMs, cpuMs, peakDuringCatchUpMiB, rssWithStateMiB, counts: status.counts, rangeSize: status.rangeSize };
  } finally {
    await stop();
  }
}

/** RSS of a watcher with nothing to ingest (started at the head): the process's own floor. */
async function baselineRss(rpcUrl: string, addresses: { nodeRegistry: string; deploymentRegistry: string }, dataDir: string): Promise<number> {
  const head = (await (
    await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }),
    })
  ).json()) as { result: string };
  const { child, next, stop } = watcherChild(rpcUrl, addresses, dataDir, BigInt(head.result).toString());
  try {
    await next("caughtUp ");
    await new Promise((r) => setTimeout(r, 2000));
    child.kill("SIGUSR2");
    await next("status ");
    return procStatus(child.pid!, "VmRSS");
  } finally {
    await stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
