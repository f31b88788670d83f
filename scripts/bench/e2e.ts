/**
 * `npm run bench:e2e [-- N]`: N deployments (default 500) of a trivial job against the local
 * system started by `hypha up` (real hardhat node, 3 agents running each job under bubblewrap,
 * watcher). Intents are signed by 9 dev deployers and relayed in batches (submitIntents); the
 * clock runs from the first submission to the last verified attestation (JobFinalized) seen on
 * chain. Prints one JSON object: throughput, p50/p95 latency intent -> verified, where the time and
 * the CPU went (seconds per component during the run), transactions and gas per deployment,
 * watcher peak RSS, and the machine.
 */
import fs from "node:fs";
import os from "node:os";
import { parseAbiItem, parseEther, type Hex, type Log } from "viem";
import { startLocalSystem } from "../../test/helpers/localSystem";
import { loadContracts, makePublicClient, makeWalletClient } from "../../src/chain/clients";
import { devAccount, DEV_ROLES } from "../../src/chain/devAccounts";
import { deploymentRegistryAbi, hyphaTokenAbi } from "../../src/chain/abi";
import { domainFor, signIntent, computeDeploymentId } from "../../src/chain/signing";
import { buildIntent } from "../../src/chain/intentBuilder";
import type { DeploymentIntent } from "../../src/chain/eip712";
import { parseManifests, computeSpecHash, canonicalSpecJson, intentResources } from "../../src/spec";
import { publishSpecBlob, resolveImageRoot } from "../../src/cli/storeAccess";

const N = Number(process.argv[2] ?? process.env.HYPHA_BENCH_N ?? 500);
const BATCH = 50;

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
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
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

async function main(): Promise<void> {
  const sys = await startLocalSystem({ extraArgs: ["--node-lost-after-ms", "30000"] });
  try {
    const pc = makePublicClient(sys.state.rpcUrl, { pollingIntervalMs: 50 });
    const addresses = await loadContracts(pc, sys.state.deploymentFile);
    const domain = domainFor(addresses);
    const [{ spec }] = parseManifests(JOB);
    const specHash = computeSpecHash(spec);
    await publishSpecBlob(sys.state.storeUrl, canonicalSpecJson(spec));
    const imageRoot = await resolveImageRoot(sys.state.storeUrl, spec.image);
    const deployers = DEV_ROLES.deployers.map((i) => devAccount(i));
    const budget = parseEther("0.01");

    // Each deployer prepays its share into the registry once (the deposit-funded escrow path).
    const perDeployer = BigInt(Math.ceil(N / deployers.length)) * budget;
    await Promise.all(
      deployers.map(async (account) => {
        const wc = makeWalletClient(sys.state.rpcUrl, account);
        const a = await wc.writeContract({ chain: null, account, address: addresses.token, abi: hyphaTokenAbi, functionName: "approve", args: [addresses.deploymentRegistry, perDeployer] });
        await pc.waitForTransactionReceipt({ hash: a });
        const d = await wc.writeContract({ chain: null, account, address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "deposit", args: [perDeployer] });
        await pc.waitForTransactionReceipt({ hash: d });
      }),
    );

    const now = BigInt(Math.floor(Date.now() / 1000));
    const signed: Array<{ intent: DeploymentIntent; signature: Hex; id: Hex }> = [];
    for (let i = 0; i < N; i++) {
      const account = deployers[i % deployers.length];
      const intent = buildIntent({
        deployer: account.address, specHash, imageRoot, replicas: 1, resources: intentResources(spec), kind: "job", quorum: 1,
        maxPricePerSecond: 10n ** 15n, budget, nonce: BigInt(i + 1), deadline: now + 3600n, maxRetries: 1,
      });
      signed.push({ intent, signature: await signIntent(account, domain, intent), id: computeDeploymentId(domain, intent) });
    }

    const startBlock = await pc.getBlockNumber();
    const submittedAt = new Map<Hex, number>();
    const verifiedAt = new Map<Hex, number>();
    const finalized = parseAbiItem("event JobFinalized(bytes32 indexed id, bytes32 outputHash, uint8 agreeing)");
    const scheduled = parseAbiItem("event ReplicaScheduled(bytes32 indexed id, uint16 replicaIndex, uint32 indexed nodeId, uint16 attempt, uint96 pricePerSecond)");
    const scheduledAt = new Map<Hex, number>();
    let scanned = startBlock;
    const scan = async () => {
      const head = await pc.getBlockNumber();
      if (head <= scanned) return;
      const logs: Log[] = await pc.getLogs({ address: addresses.deploymentRegistry, event: finalized, fromBlock: scanned + 1n, toBlock: head });
      const placed: Log[] = await pc.getLogs({ address: addresses.deploymentRegistry, event: scheduled, fromBlock: scanned + 1n, toBlock: head });
      const seen = Date.now();
      for (const log of logs) verifiedAt.set((log as unknown as { args: { id: Hex } }).args.id, seen);
      for (const log of placed) {
        const id = (log as unknown as { args: { id: Hex } }).args.id;
        if (!scheduledAt.has(id)) scheduledAt.set(id, seen);
      }
      scanned = head;
    };

    // Relay in batches from two relayers in parallel (one sender's transactions must be sequential on automine).
    const relayers = [devAccount(DEV_ROLES.admin), devAccount(19)].map((a) => makeWalletClient(sys.state.rpcUrl, a));
    const cpuBefore = cpuSplit(sys.state);
    const t0 = Date.now();
    const batches: (typeof signed)[] = [];
    for (let i = 0; i < signed.length; i += BATCH) batches.push(signed.slice(i, i + BATCH));
    const relay = async (r: number) => {
      for (let b = r; b < batches.length; b += relayers.length) {
        const batch = batches[b];
        const wc = relayers[r];
        for (const s of batch) submittedAt.set(s.id, Date.now());
        const hash = await wc.writeContract({
          chain: null, account: wc.account!, address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "submitIntents",
          args: [batch.map((s) => s.intent), batch.map((s) => s.signature)],
        });
        const receipt = await pc.waitForTransactionReceipt({ hash });
        if (receipt.status !== "success") throw new Error(`submitIntents batch ${b} reverted`);
      }
    };
    const relaying = Promise.all(relayers.map((_, r) => relay(r)));
    const deadline = Date.now() + Math.max(120_000, N * 600);
    while (verifiedAt.size < N) {
      await scan();
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await relaying;
    const cpuAfter = cpuSplit(sys.state);
    const cpuDuringRun = Object.fromEntries(
      Object.entries(cpuAfter).map(([k, v]) => [k, Math.round((v - cpuBefore[k as keyof typeof cpuBefore]) * 10) / 10]),
    );
    const allSubmitted = Math.max(...submittedAt.values());
    const t1 = Math.max(...verifiedAt.values());
    const endBlock = await pc.getBlockNumber();

    let txs = 0;
    let gas = 0n;
    for (let b = startBlock + 1n; b <= endBlock; b++) {
      const block = await pc.getBlock({ blockNumber: b });
      txs += block.transactions.length;
      gas += block.gasUsed;
    }
    const latencies = [...verifiedAt.entries()].map(([id, t]) => t - (submittedAt.get(id) ?? t0)).sort((a, b) => a - b);
    const verified = verifiedAt.size;
    const phase = (from: Map<Hex, number>, to: Map<Hex, number>) =>
      [...to.entries()].filter(([id]) => from.has(id)).map(([id, t]) => t - from.get(id)!).sort((a, b) => a - b);
    const toPlaced = phase(submittedAt, scheduledAt);
    const toVerified = phase(scheduledAt, verifiedAt);
    console.log(
      JSON.stringify(
        {
          bench: "e2e",
          deployments: N,
          verified,
          nodes: sys.state.nodes.length,
          runtime: sys.state.runtime,
          sandbox: sys.state.sandbox,
          workload: "Job, 1 replica, quorum 1, command true, under the agent's runtime",
          deploymentsPerSecond: Math.round((verified / ((t1 - t0) / 1000)) * 100) / 100,
          wallSeconds: Math.round((t1 - t0) / 10) / 100,
          latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: latencies[latencies.length - 1] },
          whereTheTimeGoes: {
            submissionSeconds: Math.round((allSubmitted - t0) / 10) / 100,
            submittedToPlacedMs: { p50: percentile(toPlaced, 50), p95: percentile(toPlaced, 95) },
            placedToVerifiedMs: { p50: percentile(toVerified, 50), p95: percentile(toVerified, 95) },
            lastPlacedSeconds: Math.round((Math.max(...scheduledAt.values()) - t0) / 10) / 100,
            cpuSecondsDuringRun: { ...cpuDuringRun, available: Math.round(((Date.now() - t0) / 1000) * os.cpus().length * 10) / 10 },
          },
          perDeployment: {
            transactions: Math.round((txs / verified) * 100) / 100,
            gas: Number(gas / BigInt(Math.max(1, verified))),
          },
          blocks: Number(endBlock - startBlock),
          watcherPeakRssMiB: peakRssMiB(sys.state.watcherPid),
          goals: { deploymentsPerSecond: 100, p50LatencyMs: 1000 },
          machine: { node: process.version, cores: os.cpus().length, cpu: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30) },
        },
        null,
        2,
      ),
    );
    if (verified < N) process.exitCode = 1;
  } finally {
    await sys.stop();
  }
}

main().catch((err: unknown) => {
  console.error((err as { shortMessage?: string }).shortMessage ?? (err as Error).message ?? err);
  process.exit(1);
});
