/**
 * A small real cluster for fault injection: the agent fixture's `hardhat node`, store and two
 * registered nodes, a `hypha watcher` process placing replicas, and one `hypha node run` process
 * per node (each with its own runtime driver). Plus the measurements the chaos tests make: live
 * copies of each replica counted from /proc (each deployment runs `sleep <tag>` with a tag of its
 * own), sampled all along a fault, and the shims and monitor of each node.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
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
  /** Runs in a mount namespace of its own (a small disk). */
  namespaced: boolean;
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

/** A service sleeping `tag` seconds (asking `cpu` millicores when given). */
const sleeper = (tag: number, cpu?: number) =>
  specOf(`
apiVersion: v1
kind: Pod
metadata: {name: chaos-${tag}}
spec:
  containers:
  - name: app
    image: ubuntu:latest
    command: ["sleep", "${tag}"]${cpu ? `\n    resources: {requests: {cpu: ${cpu}m}}` : ""}
`);

/** Retries every chaos deployment may use: a retry used shows on chain (retriesLeft) without failing it. */
export const CHAOS_MAX_RETRIES = 2;

/** Options of one agent start. */
export interface AgentStartOptions {
  /**
   * Run the agent (and what it starts) in a mount namespace of its own whose data dir is a tmpfs
   * of this many MiB: a real small disk. The data dir is then seen from here under
   * /proc/<agent pid>/root (see `nodePath`).
   */
  diskMiB?: number;
  /** The agent's --min-free. */
  minFree?: string;
}

export interface DeployOptions {
  cpuMillis?: number;
  imageRoot?: Hex;
}

export interface Cluster {
  fx: AgentFixture;
  nodes: ClusterNode[];
  timing: ClusterTiming;
  deployed: Deployed[];
  /** The store the agents fetch from: the fixture's in-process one, or a `hypha store serve` process. */
  storeUrl: string;
  /** The `hypha store serve` process's pid (with `storeProcess`), else null. */
  storePid: number | null;
  /** The watcher's data dir, log file and status URL. */
  watcherDir: string;
  watcherLog: string;
  watcherStatusUrl: string;
  startAgent(node: ClusterNode, opts?: AgentStartOptions): Promise<void>;
  /** Stop the watcher process (SIGTERM, waits for its exit). */
  stopWatcher(): Promise<void>;
  /** Start the watcher process again on the same data dir; resolves once its status API answers. */
  startWatcher(): Promise<void>;
  /** A path inside `node`'s data dir as seen from here (through its mount namespace when it has one). */
  nodePath(node: ClusterNode, ...parts: string[]): string;
  /** Signal the agent process (SIGKILL also waits for it to be gone). */
  signalAgent(node: ClusterNode, signal: NodeJS.Signals): Promise<void>;
  /** Submit `count` single-replica services; the watcher places them. */
  deploy(count: number, opts?: DeployOptions): Promise<Deployed[]>;
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
export async function startCluster(runtimes: string[], timing: ClusterTiming, opts: { storeProcess?: boolean } = {}): Promise<Cluster> {
  const ports = await Promise.all(runtimes.map(() => freePort()));
  const statusPort = await freePort();
  const fx = await startAgentFixture(ports.map((p) => `http://127.0.0.1:${p}`));
  const deploymentFile = writeAddresses(path.join(fx.dir, "deployments"), fx.addresses);
  const nodes: ClusterNode[] = runtimes.map((runtime, i) => ({
    nodeId: i + 1,
    runtime,
    port: ports[i],
    dataDir: path.join(fx.dir, `node-${i + 1}`),
    proc: null,
    namespaced: false,
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
  const watcherDir = path.join(fx.dir, "watcher");
  const spawnWatcher = () =>
    spawnLogged(
      "watcher",
      [
        "watcher",
        "--rpc",
        fx.rpcUrl,
        "--deployment",
        deploymentFile,
        "--data-dir",
        watcherDir,
        "--status-port",
        String(statusPort),
        "--node-lost-after-ms",
        String(timing.nodeLostAfterMs),
        "--poll-interval-ms",
        "150",
      ],
      { HYPHA_ORCHESTRATOR_KEYS: devPrivateKey(1) },
    );
  let watcher = spawnWatcher();
  const watcherStatusUrl = `http://127.0.0.1:${statusPort}`;
  let storeProc: ChildProcess | null = null;
  let storeUrl = fx.store.url;
  if (opts.storeProcess) {
    // The same directory the fixture's in-process store writes specs and images into.
    const storePort = await freePort();
    storeProc = spawnLogged("store", ["store", "serve", "--dir", path.join(fx.dir, "store"), "--port", String(storePort)], {});
    storeUrl = `http://127.0.0.1:${storePort}`;
    await until("the store process", async () => ((await fetch(`${storeUrl}/healthz`)).ok ? true : undefined), 60_000);
  }
  const deployed: Deployed[] = [];
  // Tags are told apart in /proc by their `sleep <tag>` command line: a random base per cluster, so
  // that clusters running at once on one machine (two chaos files, other checkouts) never count each other's.
  let nextTag = 10_000 + 1000 * Math.floor(Math.random() * 1_000_000);

  const cluster: Cluster = {
    fx,
    nodes,
    timing,
    deployed,
    storeUrl,
    storePid: storeProc?.pid ?? null,
    watcherDir,
    watcherLog: path.join(fx.dir, "watcher.log"),
    watcherStatusUrl,
    async startAgent(node, agentOpts = {}) {
      const args = [
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
        storeUrl,
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
        ...(agentOpts.minFree ? ["--min-free", agentOpts.minFree] : []),
      ];
      const env = { HYPHA_AGENT_KEY: devPrivateKey(8 + node.nodeId - 1) };
      node.namespaced = agentOpts.diskMiB !== undefined;
      if (agentOpts.diskMiB === undefined) node.proc = spawnLogged(`agent-${node.nodeId}`, args, env);
      else {
        // unshare execs (no fork): the pid is the shell's, then the agent's (`exec node …`).
        mkdirSync(node.dataDir, { recursive: true });
        const fd = logFile(`agent-${node.nodeId}`);
        try {
          node.proc = spawn(
            "unshare",
            [
              ...(process.getuid?.() === 0 ? [] : ["--map-root-user"]),
              "--mount",
              "--propagation",
              "private",
              "sh",
              "-c",
              `mount -t tmpfs -o size=${agentOpts.diskMiB}m hypha-small-disk "$0" && exec "$@"`,
              node.dataDir,
              process.execPath,
              cli,
              ...args,
            ],
            { env: { ...process.env, ...env }, stdio: ["ignore", fd, fd] },
          );
        } finally {
          closeSync(fd);
        }
      }
      const proc = node.proc;
      const up = await until(
        `agent ${node.nodeId}'s API`,
        async () => {
          if (proc.exitCode !== null || proc.signalCode !== null) return `exited (${proc.exitCode ?? proc.signalCode})`;
          return (await fetch(`http://127.0.0.1:${node.port}/healthz`)).status < 600 ? "up" : undefined;
        },
        60_000,
      );
      if (up !== "up") throw new Error(`agent ${node.nodeId} ${up} before its API answered: see ${path.join(fx.dir, `agent-${node.nodeId}.log`)}`);
    },
    async signalAgent(node, signal) {
      const proc = node.proc!;
      proc.kill(signal);
      if (signal === "SIGKILL") {
        if (proc.exitCode === null && proc.signalCode === null) await new Promise((r) => proc.once("exit", r));
        node.proc = null;
      }
    },
    async deploy(count, deployOpts = {}) {
      const out: Deployed[] = [];
      for (let i = 0; i < count; i++) {
        const tag = nextTag++;
        const { id } = await fx.deploy(sleeper(tag, deployOpts.cpuMillis), [], {
          replicas: 1,
          schedule: false,
          maxRetries: CHAOS_MAX_RETRIES,
          imageRoot: deployOpts.imageRoot,
        });
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
    nodePath(node, ...parts) {
      const inside = path.join(node.dataDir, ...parts);
      return node.namespaced && node.proc?.pid ? path.join(`/proc/${node.proc.pid}/root`, inside) : inside;
    },
    async stopWatcher() {
      const w = watcher;
      if (w.exitCode !== null || w.signalCode !== null) return;
      w.kill("SIGTERM");
      await Promise.race([new Promise((r) => w.once("exit", r)), new Promise((r) => setTimeout(r, 15_000))]);
      if (w.exitCode === null && w.signalCode === null) {
        w.kill("SIGKILL");
        await new Promise((r) => w.once("exit", r));
      }
    },
    async startWatcher() {
      watcher = spawnWatcher();
      const w = watcher;
      const up = await until(
        "the watcher's status API",
        async () => {
          if (w.exitCode !== null || w.signalCode !== null) return `exited (${w.exitCode ?? w.signalCode})`;
          return (await fetch(`${watcherStatusUrl}/v1/status`)).ok ? "up" : undefined;
        },
        60_000,
      );
      if (up !== "up") throw new Error(`the watcher ${up}: see ${path.join(fx.dir, "watcher.log")}`);
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
      await cluster.stopWatcher();
      if (storeProc) {
        const p = storeProc;
        p.kill("SIGCONT");
        p.kill("SIGTERM");
        await Promise.race([new Promise((r) => p.once("exit", r)), new Promise((r) => setTimeout(r, 10_000))]);
        p.kill("SIGKILL");
      }
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
