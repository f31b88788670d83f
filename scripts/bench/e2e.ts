/**
 * `npm run bench:e2e [-- N]`: a trivial job deployed against the local system started by `hypha
 * up` (real hardhat node, 3 agents running each job under bubblewrap, watcher), in three phases:
 * - idle: one deployment at a time on a quiet system (HYPHA_BENCH_IDLE, default 10), submitted ->
 *   final on-chain (JobFinalized seen; the bench polls the head every 10 ms);
 * - steady: an offered load of HYPHA_BENCH_RATE deployments/s (default 50) for
 *   HYPHA_BENCH_STEADY_SECONDS (default 30), relayed every 100 ms;
 * - burst: N deployments (default 500) relayed at once in batches of 50 (submitIntents); the clock
 *   runs from the first submission to the last JobFinalized seen on chain.
 * The dev nodes' capacity is raised first (updateCapacity) so slots are not the bound: printed as
 * `capacity`. Prints one JSON object: the issue-15 top-level figures (throughputPerSecond,
 * cpuMsPerDeployment over every process, idle/steady/burst p50, gasPerDeployment with the
 * settling terminateMany), where the time and the CPU went, watcher peak RSS, load and machine.
 */
import fs from "node:fs";
import os from "node:os";
import { decodeFunctionData, parseAbiItem, parseEther, type Hex, type Log, type PublicClient, type WalletClient } from "viem";
import { startLocalSystem } from "../../test/helpers/localSystem";
import { loadContracts, makePublicClient, makeWalletClient } from "../../src/chain/clients";
import { devAccount, DEV_ROLES } from "../../src/chain/devAccounts";
import { deploymentRegistryAbi, hyphaTokenAbi, nodeRegistryAbi } from "../../src/chain/abi";
import { domainFor, signIntent, computeDeploymentId } from "../../src/chain/signing";
import { buildIntent } from "../../src/chain/intentBuilder";
import type { DeploymentIntent } from "../../src/chain/eip712";
import { parseManifests, computeSpecHash, canonicalSpecJson, intentResources } from "../../src/spec";
import { publishSpecBlob, resolveImageRoot } from "../../src/cli/storeAccess";

const N = Number(process.argv[2] ?? process.env.HYPHA_BENCH_N ?? 500);
const BATCH = 50;
const IDLE_N = Number(process.env.HYPHA_BENCH_IDLE ?? 10);
const RATE = Number(process.env.HYPHA_BENCH_RATE ?? 50);
const STEADY_SECONDS = Number(process.env.HYPHA_BENCH_STEADY_SECONDS ?? 30);
/** Per dev node: room for every burst job at once (a job asks 100 mCPU, 64 MiB, 256 MiB disk). */
const NODE_CAPACITY = { cpuMillis: 400_000, memoryMiB: 1_000_000, diskMiB: 4_000_000, slots: 4_000 };

const JOB = `apiVersion: batch/v1
kind: Job
metadata:
  name: bench-trivial
spec:
  completions: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: ok
        image: ubuntu:latest
        command: ["true"]
`;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** CPU seconds a process used itself, and used by the children it reaped (sandboxes, for an agent). */
function cpuSeconds(pid: number): { self: number; children: number } {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat
      .slice(stat.lastIndexOf(")") + 2)
      .split(" ")
      .map(Number);
    const hz = 100; // USER_HZ on Linux
    return { self: (f[11] + f[12]) / hz, children: (f[13] + f[14]) / hz };
  } catch {
    return { self: 0, children: 0 };
  }
}

/** Where the CPU went during the run, by component, in seconds (Linux /proc). */
function cpuSplit(state: { chainPid: number; storePid: number; watcherPid: number; apiPid: number; nodes: { pid: number }[] }) {
  const agents = state.nodes.map((n) => cpuSeconds(n.pid));
  return {
    chain: cpuSeconds(state.chainPid).self,
    agents: agents.reduce((a, b) => a + b.self, 0),
    sandboxesAndWorkloads: agents.reduce((a, b) => a + b.children, 0),
    watcher: cpuSeconds(state.watcherPid).self,
    store: cpuSeconds(state.storePid).self,
    api: cpuSeconds(state.apiPid).self,
    benchClient: cpuSeconds(process.pid).self,
  };
}

function peakRssMiB(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : null;
  } catch {
    return null;
  }
}

type Signed = { intent: DeploymentIntent; signature: Hex; id: Hex };
type Cpu = ReturnType<typeof cpuSplit>;

const finalized = parseAbiItem("event JobFinalized(bytes32 indexed id, bytes32 outputHash, uint8 agreeing)");
const scheduled = parseAbiItem("event ReplicaScheduled(bytes32 indexed id, uint16 replicaIndex, uint32 indexed nodeId, uint16 attempt, uint96 pricePerSecond)");
const terminated = parseAbiItem("event Terminated(bytes32 indexed id, address indexed by, uint96 paidToNodes, uint96 refunded)");

/** Follows the chain head and records when each deployment was placed, finalized and terminated. */
class Tracker {
  readonly scheduledAt = new Map<Hex, number>();
  readonly verifiedAt = new Map<Hex, number>();
  readonly terminatedAt = new Map<Hex, number>();
  private scanned: bigint;
  private running = true;
  private loop: Promise<void>;
  constructor(
    private readonly pc: PublicClient,
    private readonly registry: Hex,
    from: bigint,
    everyMs: number,
  ) {
    this.scanned = from;
    this.loop = (async () => {
      while (this.running) {
        await this.scan();
        await new Promise((r) => setTimeout(r, everyMs));
      }
    })();
  }
  private async scan(): Promise<void> {
    const head = await this.pc.getBlockNumber({ cacheTime: 0 });
    if (head <= this.scanned) return;
    const range = { address: this.registry, fromBlock: this.scanned + 1n, toBlock: head } as const;
    const [f, p, t] = await Promise.all([
      this.pc.getLogs({ ...range, event: finalized }),
      this.pc.getLogs({ ...range, event: scheduled }),
      this.pc.getLogs({ ...range, event: terminated }),
    ]);
    const seen = Date.now();
    const id = (log: Log) => (log as unknown as { args: { id: Hex } }).args.id;
    for (const log of f) if (!this.verifiedAt.has(id(log))) this.verifiedAt.set(id(log), seen);
    for (const log of p) if (!this.scheduledAt.has(id(log))) this.scheduledAt.set(id(log), seen);
    for (const log of t) if (!this.terminatedAt.has(id(log))) this.terminatedAt.set(id(log), seen);
    this.scanned = head;
  }
  async until(what: string, done: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) {
        console.error(`bench: timed out waiting for ${what}`);
        return false;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    return true;
  }
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

function latencies(ids: Hex[], from: Map<Hex, number>, to: Map<Hex, number>): number[] {
  return ids
    .filter((id) => from.has(id) && to.has(id))
    .map((id) => to.get(id)! - from.get(id)!)
    .sort((a, b) => a - b);
}

const cpuDelta = (before: Cpu, after: Cpu) =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, Math.round((v - before[k as keyof Cpu]) * 100) / 100])) as Cpu;
const cpuTotal = (c: Cpu) => Object.values(c).reduce((a, b) => a + b, 0);

/** JSON-RPC requests the agents sent so far, by method, summed over nodes (their /metrics). */
async function agentRpc(nodes: { url: string }[]): Promise<Record<string, number>> {
  const sum: Record<string, number> = {};
  for (const n of nodes) {
    const text = await fetch(`${n.url}/metrics`)
      .then((r) => r.text())
      .catch(() => "");
    for (const m of text.matchAll(/^hypha_agent_rpc_requests_total\{[^}]*method="([^"]+)"[^}]*\} (\d+)/gm)) sum[m[1]!] = (sum[m[1]!] ?? 0) + Number(m[2]);
  }
  return sum;
}

async function gasBetween(pc: PublicClient, from: bigint, to: bigint): Promise<{ txs: number; gas: bigint; byFunction: Record<string, number> }> {
  let txs = 0;
  let gas = 0n;
  const byFunction: Record<string, number> = {};
  for (let b = from + 1n; b <= to; b++) {
    const block = await pc.getBlock({ blockNumber: b, includeTransactions: true });
    txs += block.transactions.length;
    gas += block.gasUsed;
    for (const tx of block.transactions) {
      let fn = tx.input.slice(0, 10);
      try {
        fn = decodeFunctionData({ abi: deploymentRegistryAbi, data: tx.input }).functionName;
      } catch {
        // not a DeploymentRegistry call
      }
      byFunction[fn] = (byFunction[fn] ?? 0) + 1;
    }
  }
  return { txs, gas, byFunction };
}

async function main(): Promise<void> {
  const sys = await startLocalSystem({ extraArgs: ["--node-lost-after-ms", "30000"] });
  try {
    const pc = makePublicClient(sys.state.rpcUrl, { pollingIntervalMs: 50 });
    const addresses = await loadContracts(pc, sys.state.deploymentFile);
    const registry = addresses.deploymentRegistry;
    const domain = domainFor(addresses);
    const [{ spec }] = parseManifests(JOB);
    const specHash = computeSpecHash(spec);
    await publishSpecBlob(sys.state.storeUrl, canonicalSpecJson(spec));
    const imageRoot = await resolveImageRoot(sys.state.storeUrl, spec.image);
    const deployers = DEV_ROLES.deployers.map((i) => devAccount(i));
    const budget = parseEther("0.01");
    const steadyN = Math.round(RATE * STEADY_SECONDS);
    const total = IDLE_N + steadyN + N;

    // Room for every burst job at once on each dev node: slots are not what this bench measures.
    for (const [k, node] of sys.state.nodes.entries()) {
      const wc = makeWalletClient(sys.state.rpcUrl, devAccount(DEV_ROLES.nodeOperators[k]));
      const h = await wc.writeContract({
        chain: null,
        account: wc.account!,
        address: addresses.nodeRegistry,
        abi: nodeRegistryAbi,
        functionName: "updateCapacity",
        args: [node.nodeId, NODE_CAPACITY.cpuMillis, NODE_CAPACITY.memoryMiB, NODE_CAPACITY.diskMiB, NODE_CAPACITY.slots],
      });
      await pc.waitForTransactionReceipt({ hash: h });
    }

    // Each deployer prepays its share into the registry once (the deposit-funded escrow path).
    const perDeployer = BigInt(Math.ceil(total / deployers.length)) * budget;
    await Promise.all(
      deployers.map(async (account) => {
        const wc = makeWalletClient(sys.state.rpcUrl, account);
        const a = await wc.writeContract({
          chain: null,
          account,
          address: addresses.token,
          abi: hyphaTokenAbi,
          functionName: "approve",
          args: [registry, perDeployer],
        });
        await pc.waitForTransactionReceipt({ hash: a });
        const d = await wc.writeContract({ chain: null, account, address: registry, abi: deploymentRegistryAbi, functionName: "deposit", args: [perDeployer] });
        await pc.waitForTransactionReceipt({ hash: d });
      }),
    );

    const now = BigInt(Math.floor(Date.now() / 1000));
    const signed: Signed[] = [];
    for (let i = 0; i < total; i++) {
      const account = deployers[i % deployers.length];
      const intent = buildIntent({
        deployer: account.address,
        specHash,
        imageRoot,
        replicas: 1,
        resources: intentResources(spec),
        kind: "job",
        quorum: 1,
        maxPricePerSecond: 10n ** 12n,
        budget,
        nonce: BigInt(i + 1),
        deadline: now + 7200n,
        maxRetries: 1,
      });
      signed.push({ intent, signature: await signIntent(account, domain, intent), id: computeDeploymentId(domain, intent) });
    }
    const idleSet = signed.slice(0, IDLE_N);
    const steadySet = signed.slice(IDLE_N, IDLE_N + steadyN);
    const burstSet = signed.slice(IDLE_N + steadyN);

    // Relayers: one sender's transactions must be sequential on automine.
    const relayers = [devAccount(DEV_ROLES.admin), devAccount(19)].map((a) => makeWalletClient(sys.state.rpcUrl, a));
    const submittedAt = new Map<Hex, number>();
    const submit = async (wc: WalletClient, batch: Signed[]) => {
      const at = Date.now();
      for (const s of batch) submittedAt.set(s.id, at);
      const hash = await wc.writeContract({
        chain: null,
        account: wc.account!,
        address: registry,
        abi: deploymentRegistryAbi,
        functionName: "submitIntents",
        args: [batch.map((s) => s.intent), batch.map((s) => s.signature)],
      });
      const receipt = await pc.waitForTransactionReceipt({ hash, pollingInterval: 10 });
      if (receipt.status !== "success") throw new Error("submitIntents reverted");
    };
    const tracker = new Tracker(pc, registry, await pc.getBlockNumber(), 10);
    const waitQuiet = async () => {
      // The watcher settles finished jobs with terminateMany: wait for that, then a little more.
      await tracker.until("terminations", () => signed.every((s) => !tracker.verifiedAt.has(s.id) || tracker.terminatedAt.has(s.id)), 60_000);
      await new Promise((r) => setTimeout(r, 1000));
    };

    // Idle: one at a time.
    for (const s of idleSet) {
      await submit(relayers[0]!, [s]);
      await tracker.until(`idle deployment ${s.id}`, () => tracker.verifiedAt.has(s.id), 30_000);
      await tracker.until(`idle termination ${s.id}`, () => tracker.terminatedAt.has(s.id), 30_000);
      await new Promise((r) => setTimeout(r, 300));
    }
    const idle = latencies(
      idleSet.map((s) => s.id),
      submittedAt,
      tracker.verifiedAt,
    );
    console.error(`bench: idle done (p50 ${percentile(idle, 50)} ms)`);
    await waitQuiet();

    // Steady: RATE per second, relayed every 100 ms by whichever relayer is free.
    const steadyCpu0 = cpuSplit(sys.state);
    const steadyT0 = Date.now();
    {
      let next = 0;
      const busy = [false, false];
      const sends: Promise<void>[] = [];
      while (next < steadySet.length) {
        const due = Math.min(steadySet.length, Math.floor(((Date.now() - steadyT0) / 1000) * RATE));
        const r = busy.indexOf(false);
        if (due > next && r >= 0) {
          const batch = steadySet.slice(next, Math.min(due, next + BATCH));
          next += batch.length;
          busy[r] = true;
          sends.push(submit(relayers[r]!, batch).finally(() => (busy[r] = false)));
        }
        await new Promise((res) => setTimeout(res, 100));
      }
      await Promise.all(sends);
    }
    const steadySubmittedSeconds = (Date.now() - steadyT0) / 1000;
    await tracker.until("steady deployments", () => steadySet.every((s) => tracker.verifiedAt.has(s.id)), Math.max(120_000, steadyN * 600));
    const steadyCpu = cpuDelta(steadyCpu0, cpuSplit(sys.state));
    const steady = latencies(
      steadySet.map((s) => s.id),
      submittedAt,
      tracker.verifiedAt,
    );
    const steadyVerified = steadySet.filter((s) => tracker.verifiedAt.has(s.id)).length;
    console.error(`bench: steady done (p50 ${percentile(steady, 50)} ms)`);
    await waitQuiet();

    // Burst: everything at once, in batches of BATCH from two relayers in parallel.
    const startBlock = await pc.getBlockNumber();
    const cpuBefore = cpuSplit(sys.state);
    const rpcBefore = await agentRpc(sys.state.nodes);
    const t0 = Date.now();
    const batches: Signed[][] = [];
    for (let i = 0; i < burstSet.length; i += BATCH) batches.push(burstSet.slice(i, i + BATCH));
    const relay = async (r: number) => {
      for (let b = r; b < batches.length; b += relayers.length) await submit(relayers[r]!, batches[b]!);
    };
    const relaying = Promise.all(relayers.map((_, r) => relay(r)));
    await tracker.until("burst deployments", () => burstSet.every((s) => tracker.verifiedAt.has(s.id)), Math.max(120_000, N * 600));
    await relaying;
    const cpuDuringRun = cpuDelta(cpuBefore, cpuSplit(sys.state));
    const rpcAfter = await agentRpc(sys.state.nodes);
    const agentRequests = Object.fromEntries(
      Object.entries(rpcAfter)
        .map(([m, n]) => [m, n - (rpcBefore[m] ?? 0)])
        .filter(([, n]) => (n as number) > 0),
    );
    const wallMs = Date.now() - t0;
    const burstIds = burstSet.map((s) => s.id);
    const verified = burstIds.filter((id) => tracker.verifiedAt.has(id)).length;
    const allSubmitted = Math.max(...burstIds.map((id) => submittedAt.get(id) ?? t0));
    const t1 = Math.max(...burstIds.map((id) => tracker.verifiedAt.get(id) ?? t0));
    // Gas until the burst's jobs are settled (their terminateMany included).
    await tracker.until("burst terminations", () => burstIds.every((id) => tracker.terminatedAt.has(id)), 60_000);
    await tracker.stop();
    const endBlock = await pc.getBlockNumber();
    const { txs, gas, byFunction } = await gasBetween(pc, startBlock, endBlock);
    const burst = latencies(burstIds, submittedAt, tracker.verifiedAt);
    const toPlaced = latencies(burstIds, submittedAt, tracker.scheduledAt);
    const toVerified = latencies(burstIds, tracker.scheduledAt, tracker.verifiedAt);
    const throughput = Math.round((verified / ((t1 - t0) / 1000)) * 100) / 100;
    const cpuMsPerDeployment = Math.round((cpuTotal(cpuDuringRun) / Math.max(1, verified)) * 1000 * 10) / 10;
    const stats = (xs: number[]) => ({ p50Ms: percentile(xs, 50), p95Ms: percentile(xs, 95), maxMs: xs[xs.length - 1] ?? null, n: xs.length });
    console.log(
      JSON.stringify(
        {
          bench: "e2e",
          throughputPerSecond: throughput,
          cpuMsPerDeployment,
          idle: { ...stats(idle), note: "one deployment at a time, submitted -> JobFinalized seen (head polled every 10 ms)" },
          steady: {
            ...stats(steady),
            offeredPerSecond: RATE,
            seconds: STEADY_SECONDS,
            submittedInSeconds: Math.round(steadySubmittedSeconds * 10) / 10,
            verified: steadyVerified,
            cpuMsPerDeployment: Math.round((cpuTotal(steadyCpu) / Math.max(1, steadyVerified)) * 1000 * 10) / 10,
          },
          burst: { ...stats(burst), deployments: N, verified },
          gasPerDeployment: Number(gas / BigInt(Math.max(1, verified))),
          capacity: {
            perNode: NODE_CAPACITY,
            nodes: sys.state.nodes.length,
            jobSlots: sys.state.nodes.length * Math.min(NODE_CAPACITY.slots, Math.floor(NODE_CAPACITY.cpuMillis / intentResources(spec).cpuMillis)),
            note: "raised with updateCapacity before the run so slots are not the bound",
          },
          deployments: N,
          verified,
          nodes: sys.state.nodes.length,
          runtime: sys.state.runtime,
          sandbox: sys.state.sandbox,
          workload: "Job, 1 replica, quorum 1, command true, under the agent's runtime",
          deploymentsPerSecond: throughput,
          wallSeconds: Math.round((t1 - t0) / 10) / 100,
          latencyMs: { p50: percentile(burst, 50), p95: percentile(burst, 95), max: burst[burst.length - 1] },
          whereTheTimeGoes: {
            submissionSeconds: Math.round((allSubmitted - t0) / 10) / 100,
            submittedToPlacedMs: { p50: percentile(toPlaced, 50), p95: percentile(toPlaced, 95) },
            placedToVerifiedMs: { p50: percentile(toVerified, 50), p95: percentile(toVerified, 95) },
            lastPlacedSeconds: Math.round((Math.max(...burstIds.map((id) => tracker.scheduledAt.get(id) ?? t0)) - t0) / 10) / 100,
            cpuSecondsDuringRun: { ...cpuDuringRun, available: Math.round((wallMs / 1000) * os.cpus().length * 10) / 10 },
          },
          agentRpcRequestsDuringBurst: {
            ...agentRequests,
            viewCallsPer500Deployments: Math.round((((agentRequests.eth_call as number) ?? 0) * 500) / Math.max(1, verified)),
          },
          perDeployment: {
            transactions: Math.round((txs / Math.max(1, verified)) * 100) / 100,
            gas: Number(gas / BigInt(Math.max(1, verified))),
            transactionsByFunction: byFunction,
          },
          blocks: Number(endBlock - startBlock),
          watcherPeakRssMiB: peakRssMiB(sys.state.watcherPid),
          goals: { throughputPerSecond: 100, cpuMsPerDeployment: 15, idleP50Ms: 150, steadyP50Ms: 1000, gasPerDeployment: 160_000 },
          loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
          machine: { node: process.version, cores: os.cpus().length, cpu: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30) },
        },
        null,
        2,
      ),
    );
    if (verified < N || idle.length < IDLE_N || steadyVerified < steadyN) process.exitCode = 1;
  } finally {
    await sys.stop();
  }
}

main().catch((err: unknown) => {
  console.error((err as Error).stack ?? err);
  process.exit(1);
});
