/**
 * A small real cluster for fault injection: the agent fixture's `hardhat node`, store and two
 * registered nodes, a `hypha watcher` process placing replicas, and one `hypha node run` process
 * per node (each with its own runtime driver). Plus the measurements the chaos tests make: live
 * copies of each replica counted from /proc (each deployment runs `sleep <tag>` with a tag of its
 * own), sampled all along a fault, and the shims and monitor of each node.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync } from "node:fs";
import path from "node:path";
import type { Hex } from "viem";
import { deploymentRegistryAbi } from "../../../src/chain/abi";
import { writeAddresses } from "../../../src/chain/addresses";
import { devPrivateKey } from "../../../src/chain/devAccounts";
import { listProcesses, shimsOf } from "../../../src/agent/orphans";
import { runningMonitorPid } from "../../../src/agent/nodeMonitor";
import { readRecord, isRunning } from "../../../src/agent/runtime/replicaRecords";
import { freePort } from "../../helpers/chain";
import { specOf, startAgentFixture, type AgentFixture } from "../../agent/helpers/agentChain";

const cli = path.join(__dirname, "..", "..", "..", "bin", "hypha.js");
const REPLICA_STATUS = ["Pending", "Scheduled", "Running", "Completed", "Failed", "Tampered", "Stopped"];

/** Timings the cluster runs with. */
export interface ClusterTiming {
  nodeLostAfterMs: number;
  leaseMs: number;
  pollIntervalMs: number;
}

export interface ClusterNode {
  nodeId: number;
  runtime: string;
  port: number;
  dataDir: string;
  proc: ChildProcess | null;
}

export interface Deployed {
  id: Hex;
  tag: number;
}

/** Wait until `probe` gives a value (not undefined); throws naming `what` after `timeoutMs`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await Promise.resolve(probe()).catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Live copies of each tag's workload (`sleep <tag>`), from /proc. */
export function liveCopies(tags: number[]): Map<number, number> {
  const want = new Map(tags.map((t) => [`sleep ${t}`, t]));
  const counts = new Map(tags.map((t) => [t, 0]));
  for (const p of listProcesses()) {
    const tag = want.get(p.argv.join(" "));
    if (tag !== undefined) counts.set(tag, counts.get(tag)! + 1);
  }
  return counts;
}

/** Samples live copies every `everyMs` until stopped: the most copies any replica had at once. */
export class CopySampler {
  private timer: NodeJS.Timeout | null = null;
  readonly max = new Map<number, number>();
  samples = 0;
  /** Samples in which some replica ran more than once. */
  duplicateSamples = 0;
  /** Sum over samples of the copies beyond one (times everyMs: replica-time run twice). */
  excessCopySamples = 0;

  constructor(
    private readonly tags: () => number[],
    private readonly everyMs = 100,
  ) {}

  start(): this {
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }

  sample(): Map<number, number> {
    const now = liveCopies(this.tags());
    this.samples++;
    let dup = false;
    for (const [tag, n] of now) {
      this.max.set(tag, Math.max(this.max.get(tag) ?? 0, n));
      if (n > 1) dup = true;
      this.excessCopySamples += Math.max(0, n - 1);
    }
    if (dup) this.duplicateSamples++;
    return now;
  }

  stop(): { samples: number; duplicateSamples: number; maxCopies: number; duplicateReplicaSeconds: number } {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return {
      samples: this.samples,
      duplicateSamples: this.duplicateSamples,
      maxCopies: Math.max(0, ...this.max.values()),
      duplicateReplicaSeconds: Math.round((this.excessCopySamples * this.everyMs) / 100) / 10,
    };
  }
}

/** A service sleeping `tag` seconds. */
const sleeper = (tag: number) =>
  specOf(`
apiVersion: v1
kind: Pod
metadata: {name: chaos-${tag}}
spec:
  containers:
  - name: app
    image: ubuntu:latest
    command: ["sleep", "${tag}"]
`);

export interface Cluster {
  fx: AgentFixture;
  nodes: ClusterNode[];
  timing: ClusterTiming;
  deployed: Deployed[];
  startAgent(node: ClusterNode): Promise<void>;
  /** Signal the agent process (SIGKILL also waits for it to be gone). */
  signalAgent(node: ClusterNode, signal: NodeJS.Signals): Promise<void>;
  /** Submit `count` single-replica services; the watcher places them. */
  deploy(count: number): Promise<Deployed[]>;
  /** Each deployment's replica 0 as the chain has it. */
  replica(id: Hex): Promise<{ nodeId: number; attempt: number; status: string }>;
  /** Wait until every deployment's replica runs (on-chain Running) with exactly one live copy. */
  settled(timeoutMs?: number): Promise<Map<Hex, { nodeId: number; attempt: number }>>;
  /** Shims of `node` running with no record naming them (orphans), and how many run in all. */
  shims(node: ClusterNode): Promise<{ running: number; unrecorded: number }>;
  monitorPid(node: ClusterNode): number | null;
  stop(): Promise<void>;
}

/**
 * Start the cluster. `runtimes[i]` is node i+1's driver.
 * @example const c = await startCluster(["unshare", "bwrap"], { nodeLostAfterMs: 5000, leaseMs: 2500, pollIntervalMs: 200 });
 */
export async function startCluster(runtimes: string[], timing: ClusterTiming): Promise<Cluster> {
  const ports = await Promise.all(runtimes.map(() => freePort()));
  const fx = await startAgentFixture(ports.map((p) => `http://127.0.0.1:${p}`));
  const deploymentFile = writeAddresses(path.join(fx.dir, "deployments"), fx.addresses);
  const nodes: ClusterNode[] = runtimes.map((runtime, i) => ({
    nodeId: i + 1,
    runtime,
    port: ports[i],
    dataDir: path.join(fx.dir, `node-${i + 1}`),
    proc: null,
  }));
  const logFile = (name: string) => openSync(path.join(fx.dir, `${name}.log`), "a");
  const spawnLogged = (name: string, args: string[], env: Record<string, string>) => {
    const fd = logFile(name);
    try {
      return spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", fd, fd] });
    } finally {
      closeSync(fd);
    }
  };
  const watcher = spawnLogged(
    "watcher",
    [
      "watcher",
      "--rpc",
      fx.rpcUrl,
      "--deployment",
      deploymentFile,
      "--data-dir",
      path.join(fx.dir, "watcher"),
      "--status-port",
      "0",
      "--node-lost-after-ms",
      String(timing.nodeLostAfterMs),
      "--poll-interval-ms",
      "150",
    ],
    { HYPHA_ORCHESTRATOR_KEYS: devPrivateKey(1) },
  );
  const deployed: Deployed[] = [];
  let nextTag = 5100;

  const cluster: Cluster = {
    fx,
    nodes,
    timing,
    deployed,
    async startAgent(node) {
      node.proc = spawnLogged(
        `agent-${node.nodeId}`,
        [
          "node",
          "run",
          "--rpc",
          fx.rpcUrl,
          "--deployment",
          deploymentFile,
          "--node-id",
          String(node.nodeId),
          "--listen",
          `127.0.0.1:${node.port}`,
          "--store",
          fx.store.url,
          "--data-dir",
          node.dataDir,
          "--runtime",
          node.runtime,
          "--poll-interval-ms",
          String(timing.pollIntervalMs),
          "--lease-ms",
          String(timing.leaseMs),
          "--restart-backoff-ms",
          "500",
        ],
        { HYPHA_AGENT_KEY: devPrivateKey(8 + node.nodeId - 1) },
      );
      await until(`agent ${node.nodeId}'s API`, async () => ((await fetch(`http://127.0.0.1:${node.port}/healthz`)).status < 600 ? true : undefined), 60_000);
    },
    async signalAgent(node, signal) {
      const proc = node.proc!;
      proc.kill(signal);
      if (signal === "SIGKILL") {
        if (proc.exitCode === null && proc.signalCode === null) await new Promise((r) => proc.once("exit", r));
        node.proc = null;
      }
    },
    async deploy(count) {
      const out: Deployed[] = [];
      for (let i = 0; i < count; i++) {
        const tag = nextTag++;
        const { id } = await fx.deploy(sleeper(tag), [], { replicas: 1, schedule: false });
        out.push({ id, tag });
      }
      deployed.push(...out);
      return out;
    },
    async replica(id) {
      const r = (await fx.publicClient.readContract({
        address: fx.addresses.deploymentRegistry,
        abi: deploymentRegistryAbi,
        functionName: "getReplica",
        args: [id, 0],
      })) as { nodeId: number; attempt: number; status: number };
      return { nodeId: Number(r.nodeId), attempt: Number(r.attempt), status: REPLICA_STATUS[Number(r.status)] };
    },
    async settled(timeoutMs = 60_000) {
      return until(
        "every replica Running on-chain with exactly one live copy",
        async () => {
          const copies = liveCopies(deployed.map((d) => d.tag));
          if ([...copies.values()].some((n) => n !== 1)) return undefined;
          const out = new Map<Hex, { nodeId: number; attempt: number }>();
          for (const d of deployed) {
            const r = await cluster.replica(d.id);
            if (r.status !== "Running") return undefined;
            out.set(d.id, r);
          }
          return out;
        },
        timeoutMs,
        200,
      );
    },
    async shims(node) {
      const stateDir = path.join(node.dataDir, "runtime");
      const found = shimsOf(listProcesses(), stateDir);
      let unrecorded = 0;
      for (const s of found) {
        const rec = await readRecord(stateDir, s.name);
        if (!rec || rec.pid !== s.pid || !isRunning(rec)) unrecorded++;
      }
      return { running: found.length, unrecorded };
    },
    monitorPid(node) {
      return runningMonitorPid(node.dataDir);
    },
    async stop() {
      for (const node of nodes) {
        if (!node.proc) continue;
        node.proc.kill("SIGCONT");
        node.proc.kill("SIGTERM");
        const p = node.proc;
        await Promise.race([new Promise((r) => p.once("exit", r)), new Promise((r) => setTimeout(r, 15_000))]);
        p.kill("SIGKILL");
      }
      watcher.kill("SIGTERM");
      await Promise.race([new Promise((r) => watcher.once("exit", r)), new Promise((r) => setTimeout(r, 10_000))]);
      watcher.kill("SIGKILL");
      await fx.stop();
    },
  };
  return cluster;
}

/** The node each deployment's replica is on, counted. */
export function perNode(placements: Map<Hex, { nodeId: number }>): Map<number, number> {
  const out = new Map<number, number>();
  for (const { nodeId } of placements.values()) out.set(nodeId, (out.get(nodeId) ?? 0) + 1);
  return out;
}
