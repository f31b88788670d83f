/**
 * The node agent's entry point: validates the config, picks the runtime driver (runtime/registry.ts),
 * adopts the replicas an earlier agent process left running, serves the HTTP API, and runs the
 * level-triggered loop: scan the chain for this node's placements, read their current state,
 * decide (reconcile.ts) what to start and stop, apply it, and flush attestations; plus the
 * periodic re-verification of running replicas' files.
 */
import path from "node:path";
import { existsSync, promises as fs } from "node:fs";
import pino, { type Logger } from "pino";
import { privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";
import { nodeRegistryAbi } from "../chain/abi";
import { makePublicClient, makeWalletClient, loadContracts } from "../chain/clients";
import { NewHeads } from "../chain/newHeads";
import { hyphaDomain, type DeploymentIntent } from "../chain/eip712";
import { readIntent } from "../chain/intents";
import type { HyphaAddresses } from "../chain/addresses";
import { resolveAgentConfig, type AgentAddresses, type AgentConfig } from "./config";
import { AgentError } from "./errors";
import { cgroupsAvailable, removeStaleCgroups } from "./runtime/cgroup";
import type { RuntimeDriver } from "./runtime/driver";
import { selectRuntime, type RuntimeChoice } from "./runtime/registry";
import { AssignmentScanner, readReplicaStates } from "./chainView";
import { Attester } from "./attester";
import { decideReconcile, isAssignedToMe, replicaRef, type ChainReplica } from "./reconcile";
import { replacementHoldMs, replacementStartAt } from "./replacementHold";
import { ReplicaRun } from "./replicaRun";
import { createAgentApi } from "./httpApi";
import { createAgentMetrics } from "./metrics";
import { agentMeasurement, agentVersionString } from "./measurement";
import { pruneChunkCache } from "../image/pruneChunkCache";
import { createSharedImageProvider } from "./sharedImages";
import { createZeroImageProvider } from "./zeroImageProvider";
import type { ImageProvider } from "./imageProvider";
import { DiskPressureMonitor, type NodeCondition } from "./diskPressure";
import { evictForSpace } from "./evictForSpace";
import { Lease } from "./lease";
import { ensureNodeMonitor } from "./nodeMonitor";
import { killOrphans } from "./orphans";
import { listenHttp } from "../http/listenHttp";

/** A running agent. */
export interface AgentHandle {
  url: string;
  close(): Promise<void>;
}

/**
 * Create the runtime driver the config names (`auto`: the strongest sandbox here) and say which
 * one runs; the unisolated process driver only when named, with a loud warning.
 */
export function chooseDriver(cfg: { runtime: RuntimeChoice; cgroupRoot: string | null; dataDir: string }, logger: Logger): RuntimeDriver {
  const { driver, why } = selectRuntime(cfg.runtime, { stateDir: path.join(cfg.dataDir, "runtime"), cgroupRoot: cfg.cgroupRoot });
  logger.info({ runtime: driver.name, sandbox: driver.sandboxed }, `runtime ${why}`);
  if (!driver.sandboxed) {
    logger.warn(
      "!!! --runtime process: workloads run UNISOLATED as ordinary host processes of this user, with full access to this machine's files and network. Use only for development. !!!",
    );
  }
  return driver;
}

/**
 * Start a node agent.
 * @example const agent = await runAgent({ rpcUrl, deploymentFile: "deployments", nodeId: 1, agentPrivateKey: devPrivateKey(8), listen: { host: "127.0.0.1", port: 7801 }, storeMirrors: ["http://127.0.0.1:7700"], dataDir: ".hypha/nodes/1" });
 */
export async function runAgent(config: AgentConfig, logger: Logger = pino({ name: "hypha-agent" }), images?: ImageProvider): Promise<AgentHandle> {
  const cfg = resolveAgentConfig(config);
  const log = logger.child({ nodeId: cfg.nodeId });
  const driver = chooseDriver(cfg, log);
  const account = privateKeyToAccount(cfg.agentPrivateKey);
  const publicClient = makePublicClient(cfg.rpcUrl, { pollingIntervalMs: 50 });
  const walletClient = makeWalletClient(cfg.rpcUrl, account, { pollingIntervalMs: 50 });
  const addresses: AgentAddresses = cfg.addresses ?? (await loadContracts(publicClient, cfg.deploymentFile));
  const measurement = agentMeasurement();
  // The key must be the node's registered agent: an agent with another key could attest nothing,
  // and would run a second live copy of every replica the real agent runs. Refused before anything
  // starts. The registered measurement should be this agent's, or the registration misdescribes
  // what runs here.
  let node: { agent: string; measurement: string } | undefined;
  try {
    node = (await publicClient.readContract({ address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "getNode", args: [cfg.nodeId] })) as {
      agent: string;
      measurement: string;
    };
  } catch (err) {
    log.warn({ err: (err as Error).message }, "cannot read this node's registration (not registered yet?)");
  }
  if (node && node.agent.toLowerCase() !== account.address.toLowerCase()) {
    throw new AgentError(
      "agentPrivateKey",
      `its address ${account.address} is not the agent registered for node ${cfg.nodeId} (${node.agent}): refusing to run that node's replicas (start the agent with the registered key, or register this key with hypha node update --agent)`,
    );
  }
  if (node && node.measurement.toLowerCase() !== measurement) {
    log.warn({ registered: node.measurement, measurement }, "the measurement registered for this node is not this agent's (update it with hypha node update)");
  }
  // Fencing first: the lease this process will hold (an earlier process's unexpired one stays in
  // force, so its replicas may still be adopted), shims nobody recorded stopped, and the node
  // monitor that stops the replicas from outside whenever the lease lapses.
  const stateDir = path.join(cfg.dataDir, "runtime");
  await fs.mkdir(stateDir, { recursive: true });
  const lease = await Lease.open(cfg.dataDir, cfg.leaseMs);
  const orphans = await killOrphans(stateDir);
  if (orphans.length > 0)
    log.warn({ replicas: orphans.map((o) => o.name) }, `stopped ${orphans.length} replica(s) an earlier agent process launched without recording them`);
  const ensureMonitor = async () => {
    if (cfg.leaseMs === 0) return;
    const m = await ensureNodeMonitor({ dataDir: cfg.dataDir, stateDir, cgroupRoot: cfg.cgroupRoot });
    if (m.started) log.info({ pid: m.pid, leaseMs: cfg.leaseMs }, "node monitor started: it stops this node's replicas whenever the agent's lease lapses");
  };
  await ensureMonitor();
  if (cfg.cgroupRoot && cgroupsAvailable(cfg.cgroupRoot)) {
    const stale = await removeStaleCgroups({ root: cfg.cgroupRoot });
    if (stale > 0) log.info({ groups: stale }, "removed empty replica cgroups left by an earlier agent");
  }
  // Replicas an earlier agent process on this data directory left running (it was killed or
  // crashed): the runs the chain still assigns here adopt theirs when they launch; the first tick
  // stops the rest, so nothing runs twice and nothing is orphaned.
  const recorded = await driver.list();
  for (const r of recorded.filter((x) => x.state === "exited")) await driver.remove(r.name).catch(() => undefined);
  const leftovers = recorded.filter((r) => r.state === "running").map((r) => r.name);
  if (leftovers.length > 0)
    log.info({ replicas: leftovers }, `${leftovers.length} replica(s) still running from an earlier agent process: adopting those still assigned here`);
  const domain = hyphaDomain(addresses.chainId, addresses.deploymentRegistry);
  const agentVersion = agentVersionString();
  const cacheDir = path.join(cfg.dataDir, "cache");
  let diskPressure: DiskPressureMonitor | undefined;
  const imageProvider = createSharedImageProvider(images ?? createZeroImageProvider({ mirrors: cfg.storeMirrors, cacheDir }), {
    dir: path.join(cfg.dataDir, "images"),
    onError: (err) => diskPressure?.report(err),
  });
  await fs.mkdir(cfg.dataDir, { recursive: true });
  diskPressure = await DiskPressureMonitor.start({
    dir: cfg.dataDir,
    minFreeBytes: cfg.minFreeBytes,
    evict: () => evictForSpace(imageProvider, cacheDir),
    onChange: (c) =>
      c.status ? log.error({ condition: c }, `DiskPressure: ${c.reason}; no new replicas until it clears`) : log.info({ condition: c }, "DiskPressure cleared"),
  });
  // Ticks that read the chain: the ChainUnreachable condition when none succeeded for a while.
  let lastTickOkAt = Date.now();
  let lastTickError = "";
  const conditions = (): NodeCondition[] => {
    const chainDown = Date.now() - lastTickOkAt > cfg.chainStaleAfterMs;
    return [
      diskPressure!.condition(),
      {
        type: "ChainUnreachable",
        status: chainDown,
        reason: chainDown ? `no successful read of the chain for ${Math.round((Date.now() - lastTickOkAt) / 1000)} s (${lastTickError})` : "ok",
        since: lastTickOkAt,
      },
    ];
  };

  const runs = new Map<string, ReplicaRun[]>();
  const intents = new Map<string, DeploymentIntent>();
  const specCache = new Map<string, Buffer>();
  // `before`: the block it was placed here in; the intent was submitted at or before it.
  const readIntentCached = async (id: Hex, before?: bigint) => {
    let intent = intents.get(id.toLowerCase());
    if (!intent) {
      intent = (await readIntent(publicClient, addresses as HyphaAddresses, id, { before })).intent;
      intents.set(id.toLowerCase(), intent);
    }
    return intent;
  };
  // The on-chain views this agent holds, kept current by its node's logs each tick (see `tick`).
  const known = new Map<string, ChainReplica>();
  // The attester checks queued attestations against them and reads only replicas it has no view of.
  const knownOrRead = async (replicas: { deploymentId: Hex; replicaIndex: number }[]): Promise<ChainReplica[]> => {
    const missing = replicas.filter((r) => !known.has(replicaRef(r.deploymentId, r.replicaIndex)));
    const read = missing.length ? await readReplicaStates(publicClient, addresses, missing) : [];
    const readByKey = new Map(read.map((st) => [replicaRef(st.deploymentId, st.replicaIndex), st]));
    return replicas.map((r) => {
      const key = replicaRef(r.deploymentId, r.replicaIndex);
      return known.get(key) ?? readByKey.get(key)!;
    });
  };
  const attester = new Attester(
    publicClient,
    walletClient,
    account,
    addresses,
    domain,
    cfg.nodeId,
    log,
    ({ att, transactionHash }) => {
      const run = runs.get(replicaRef(att.deploymentId, att.replicaIndex))?.find((r) => r.info.attempt === att.attempt);
      if (run) run.info.attested[att.status] = transactionHash;
    },
    knownOrRead,
    (id) => intents.get(id.toLowerCase())?.replicas,
  );
  const scanner = new AssignmentScanner(publicClient, addresses, cfg.nodeId);
  const backoff = { baseMs: cfg.restartBackoffMs, capMs: cfg.restartBackoffCapMs, resetAfterMs: 600_000 };

  // HTTP API first, so liveness checks succeed as soon as the agent is up.
  const app = createAgentApi({
    node: () => ({
      nodeId: cfg.nodeId,
      agent: account.address,
      measurement,
      agentVersion,
      driver: driver.name,
      sandbox: driver.sandboxed,
      chainId: addresses.chainId,
      deploymentRegistry: addresses.deploymentRegistry,
    }),
    replicas: () => [...runs.values()].flat().map((r) => ({ ...r.info })),
    metrics: createAgentMetrics(() => [...runs.values()].flat().map((r) => r.info), cfg.nodeId),
    logFiles: (id, index, attempt) => {
      const list = runs.get(replicaRef(id, index)) ?? [];
      const run = attempt === undefined ? list.at(-1) : list.find((r) => r.info.attempt === attempt);
      if (run) return { stdout: run.stdoutFile, stderr: run.stderrFile, ended: !run.active, sample: () => run.sampleLogs() };
      if (attempt === undefined) return null;
      // An older placement here, no longer in memory (or from an earlier agent process): its files stay on disk.
      const dir = path.join(cfg.dataDir, "replicas", `${id}-${index}-${attempt}`);
      return existsSync(dir) ? { stdout: path.join(dir, "stdout.log"), stderr: path.join(dir, "stderr.log"), ended: true } : null;
    },
    conditions,
  });
  const http = await listenHttp(app, cfg.listen.host, cfg.listen.port).catch((err: Error) => {
    throw new AgentError("listen", `${cfg.listen.host}:${cfg.listen.port}: ${err.message}`, { cause: err });
  });
  const url = http.url;

  let closed = false;
  let tickTimer: NodeJS.Timeout | null = null;
  let verifyTimer: NodeJS.Timeout | null = null;
  let tickRunning: Promise<void> = Promise.resolve();
  let flushing: Promise<void> = Promise.resolve();

  // A tick takes the view of a replica placed here from its placement log, applies this node's
  // status logs to the views it holds, and reads the views it has none of; every view is read
  // again once it is FULL_READ_MS old (level-triggered repair of anything the logs did not show,
  // e.g. a deployment that Failed elsewhere), so a short job is never read at all. Reading every
  // view every second cost two eth_calls per replica per second: against a hosted RPC, 100
  // long-running replicas would be 200 calls/s.
  const FULL_READ_MS = Math.max(cfg.pollIntervalMs, cfg.fullReadIntervalMs);
  const firstSeen = new Map<string, number>(); // `${replicaRef}#${attempt}` -> when a start was first decided
  const holding = new Set<string>(); // re-placed replicas waiting out the previous node's lease (logged once)
  /** When each held view was last taken whole (read, or from its placement log). */
  const viewedAt = new Map<string, number>();
  // The first tick reads every view: the logs of a history it did not follow live say nothing of
  // deployments that changed since.
  let firstTick = true;
  const tick = async () => {
    // The moment before this tick's chain reads: if they succeed, the placements are confirmed as of then.
    const confirmedAt = lease.mark();
    const { touched, statusNow, placed } = await scanner.scan();
    lastTickBusy = touched.size > 0;
    const now = Date.now();
    for (const [key, status] of statusNow) {
      const view = known.get(key);
      if (view) known.set(key, { ...view, status });
    }
    for (const [key, view] of placed) {
      known.set(key, view);
      viewedAt.set(key, firstTick ? 0 : now);
    }
    firstTick = false;
    const candidates = [...scanner.candidates.values()];
    const toRead = candidates.filter((c) => {
      const key = replicaRef(c.deploymentId, c.replicaIndex);
      return !known.has(key) || (touched.has(key) && !statusNow.has(key) && !placed.has(key)) || now - (viewedAt.get(key) ?? 0) >= FULL_READ_MS;
    });
    const readAt = Date.now();
    const fresh = toRead.length ? await readReplicaStates(publicClient, addresses, toRead) : [];
    for (const st of fresh) {
      const key = replicaRef(st.deploymentId, st.replicaIndex);
      known.set(key, st);
      viewedAt.set(key, readAt);
    }
    const states = candidates.map((c) => known.get(replicaRef(c.deploymentId, c.replicaIndex))).filter((x): x is ChainReplica => x !== undefined);
    // A fenced run is over: the attempt starts again if the chain still places it here.
    const local = [...runs.values()]
      .flat()
      .filter((r) => !r.fenced)
      .map((r) => ({ deploymentId: r.info.deploymentId, replicaIndex: r.info.replicaIndex, attempt: r.info.attempt, active: r.active }));
    const { start, stop } = decideReconcile(cfg.nodeId, states, local);
    // All at once: a replica placed elsewhere must not wait for another's stop grace (its new copy may be starting).
    await Promise.all(
      stop.map(({ run, reason }) =>
        runs
          .get(replicaRef(run.deploymentId, run.replicaIndex))
          ?.find((x) => x.info.attempt === run.attempt)
          ?.stop(reason),
      ),
    );
    // Every replica still running here is confirmed placed here at its attempt: renew the lease.
    const wasValid = lease.valid();
    await lease.renew(confirmedAt);
    if (!wasValid && lease.valid() && cfg.leaseMs > 0) log.info({ leaseMs: cfg.leaseMs }, "lease held: this node's placements confirmed from the chain");
    await ensureMonitor();
    const pressure = diskPressure!.condition();
    for (const s of start) {
      if (closed) break;
      const key = replicaRef(s.deploymentId, s.replicaIndex);
      // A re-placed replica waits until its previous node can no longer be running it (replacementHold.ts).
      const holdKey = `${key}#${s.attempt}`;
      if (!firstSeen.has(holdKey)) firstSeen.set(holdKey, Date.now());
      const startAt = replacementStartAt({
        attempt: s.attempt,
        firstSeenMs: firstSeen.get(holdKey)!,
        holdMs: replacementHoldMs(cfg.leaseMs),
        ranHere: (runs.get(key) ?? []).some((r) => r.info.attempt === s.attempt || r.info.attempt === s.attempt - 1),
      });
      if (Date.now() < startAt) {
        if (!holding.has(holdKey)) {
          holding.add(holdKey);
          log.info(
            { deploymentId: s.deploymentId, replicaIndex: s.replicaIndex, attempt: s.attempt, waitMs: startAt - Date.now() },
            "re-placed replica: waiting until its previous node's lease has lapsed",
          );
        }
        continue;
      }
      firstSeen.delete(holdKey);
      holding.delete(holdKey);
      const run = new ReplicaRun(s.deploymentId, s.replicaIndex, s.attempt, {
        driver,
        images: imageProvider,
        storeMirrors: cfg.storeMirrors,
        runDir: path.join(cfg.dataDir, "replicas", `${s.deploymentId}-${s.replicaIndex}-${s.attempt}`),
        logger: log,
        backoff,
        pidsLimit: cfg.pidsLimit,
        agentVersion,
        readIntent: (id) => readIntentCached(id, scanner.candidates.get(key)?.placedAt),
        specCache,
        attest: (a) => {
          attester.enqueue(a);
          // A job's Running waits for the tick: a short job's Completed replaces it (one attestation).
          if (a.status !== "Running" || intents.get(a.deploymentId.toLowerCase())?.kind !== 1) attester.flushSoon();
        },
        leaseValid: () => lease.valid(),
      });
      runs.set(key, [...(runs.get(key) ?? []).slice(-4), run]);
      // A node short of disk cannot run what it is given: it says so, and the replica is re-placed
      // (as the node's fault, without the deployer's retries) instead of failing here later.
      if (pressure.status) {
        log.warn(
          { deploymentId: s.deploymentId, replicaIndex: s.replicaIndex, attempt: s.attempt, reason: pressure.reason },
          "replica assigned to this node under DiskPressure: refused",
        );
        run.refuse(`node under DiskPressure: ${pressure.reason}`);
        continue;
      }
      log.info({ deploymentId: s.deploymentId, replicaIndex: s.replicaIndex, attempt: s.attempt }, "replica assigned to this node: starting");
      void run.start();
    }
    // Candidates not (or no longer) runnable here with nothing running need no more reads: placed
    // elsewhere, or finished (Completed, Failed, Tampered, Stopped, terminated). A new placement
    // here is a new ReplicaScheduled log, which makes it a candidate again.
    const pendingAtts = new Set(attester.pending().map((a) => replicaRef(a.deploymentId, a.replicaIndex)));
    for (const st of states) {
      const key = replicaRef(st.deploymentId, st.replicaIndex);
      if (!isAssignedToMe(st, cfg.nodeId) && !(runs.get(key) ?? []).some((r) => r.active) && !pendingAtts.has(key)) {
        scanner.forget(key);
        known.delete(key);
        viewedAt.delete(key);
        for (const k of firstSeen.keys()) if (k.startsWith(`${key}#`)) firstSeen.delete(k), holding.delete(k);
      }
    }
    if (leftovers.length > 0) {
      const claimed = new Set(
        [...runs.values()]
          .flat()
          .filter((r) => r.active)
          .map((r) => r.runtimeName),
      );
      for (const name of leftovers.splice(0)) {
        if (claimed.has(name)) continue;
        log.info({ replica: name }, "stopping a replica left running by an earlier agent process: no longer assigned here");
        await driver.remove(name).catch((err) => log.warn({ replica: name, err: (err as Error).message }, "cannot stop a leftover replica"));
      }
    }
    // Not awaited: a receipt may take a block time, and the next tick (which renews the lease) must not wait for it.
    flushing = attester.flushDue(cfg.pollIntervalMs).then(
      () => undefined,
      (err: unknown) => log.warn({ err: (err as Error).message }, "sending attestations failed; retrying next tick"),
    );
  };

  // A new block (pushed over WebSocket where the RPC offers it) starts a tick at once; ticks never
  // overlap, and one that a block asked for while another ran follows it after MIN_TICK_GAP_MS.
  // Adaptive: a tick that found new placements or status changes (a busy node) spaces the next
  // block-triggered one by BUSY_TICK_GAP_MS, so a burst of blocks does not become a burst of ticks.
  let tickInFlight = false;
  let tickAgain = false;
  let tickStartedAt = 0;
  let lastTickBusy = false;
  const MIN_TICK_GAP_MS = 20;
  const BUSY_TICK_GAP_MS = 100;
  const gapAfterTick = () => (lastTickBusy ? BUSY_TICK_GAP_MS : MIN_TICK_GAP_MS);
  const loop = () => {
    if (closed) return;
    tickInFlight = true;
    tickStartedAt = Date.now();
    tickRunning = tick()
      .then(() => {
        lastTickOkAt = Date.now();
      })
      .catch((err) => {
        lastTickError = (err as Error).message?.split("\n")[0] ?? String(err);
        log.warn({ err: (err as Error).message }, "reconcile tick failed; retrying");
      })
      .finally(() => {
        tickInFlight = false;
        const again = tickAgain;
        tickAgain = false;
        if (!closed) tickTimer = setTimeout(loop, again ? gapAfterTick() : cfg.pollIntervalMs);
      });
  };
  const heads = NewHeads.start(cfg.rpcUrl, {
    logger: log,
    onHead: () => {
      if (closed) return true;
      if (tickInFlight) tickAgain = true;
      else {
        if (tickTimer) clearTimeout(tickTimer);
        tickTimer = setTimeout(loop, Math.max(0, tickStartedAt + gapAfterTick() - Date.now()));
      }
      return true;
    },
  });
  const verifyLoop = () => {
    if (closed) return;
    const active = [...runs.values()].flat().filter((r) => r.active);
    void Promise.all(active.map((r) => r.reverify().catch((err) => log.warn({ err: (err as Error).message }, "re-verification failed")))).finally(() => {
      if (!closed) verifyTimer = setTimeout(verifyLoop, cfg.reverifyIntervalMs);
    });
  };
  // The lease lapsed (chain unreachable, or this process was frozen): stop every replica here
  // until the chain confirms them again (the node monitor does the same from outside).
  const fenceTimer =
    cfg.leaseMs > 0
      ? setInterval(() => {
          if (lease.valid()) return;
          const active = [...runs.values()].flat().filter((r) => r.active);
          if (active.length === 0) return;
          const reason = `no confirmation from the chain for ${lease.lapsedForMs() + cfg.leaseMs} ms (lease ${cfg.leaseMs} ms)`;
          log.warn({ replicas: active.length, reason }, "lease lapsed: stopping this node's replicas");
          for (const r of active) void r.fence(reason);
        }, 100)
      : null;
  fenceTimer?.unref();
  log.info({ url, agent: account.address, driver: driver.name, sandbox: driver.sandboxed, measurement, leaseMs: cfg.leaseMs }, "node agent started");
  loop();
  verifyTimer = setTimeout(verifyLoop, cfg.reverifyIntervalMs);
  // The chunk cache only saves refetching: keep it under its limit, oldest objects first.
  const pruneCache = () =>
    void pruneChunkCache(cacheDir, cfg.cacheMaxBytes)
      .then((r) => r.removed > 0 && log.info({ ...r }, "chunk cache pruned"))
      .catch((err) => log.warn({ err: (err as Error).message }, "pruning the chunk cache failed"));
  const pruneTimer = cfg.cacheMaxBytes > 0 ? setInterval(pruneCache, 60_000) : null;
  pruneTimer?.unref();
  if (pruneTimer) pruneCache();

  return {
    url,
    async close() {
      if (closed) return;
      closed = true;
      if (tickTimer) clearTimeout(tickTimer);
      if (verifyTimer) clearTimeout(verifyTimer);
      if (pruneTimer) clearInterval(pruneTimer);
      if (fenceTimer) clearInterval(fenceTimer);
      diskPressure?.stop();
      await heads.close();
      await tickRunning;
      await Promise.all([...runs.values()].flat().map((r) => r.stop("agent shutting down")));
      // Nothing runs any more: the node monitor may go.
      await lease.release().catch((err: unknown) => log.warn({ err: (err as Error).message }, "cannot release the lease"));
      // Attestations already queued (e.g. a job that just completed) still go out.
      await flushing;
      await attester.flush().catch(() => undefined);
      await http.close();
      log.info("node agent stopped");
    },
  };
}
