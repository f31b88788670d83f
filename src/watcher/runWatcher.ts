/**
 * The watcher's entry point: wires ingest (ChainFollower -> StateStore), decide (reconcile, pure)
 * and act (outbox, sender workers, dispatcher) with node liveness probes, a periodic level-triggered
 * reconcile, a periodic re-read of on-chain replica views, and an optional status API. `hypha
 * watcher` calls runWatcher with a config read at the edge.
 */
import { deploymentStatusNumber } from "../chain/lifecycle";
import { mkdir } from "node:fs/promises";
import { Level } from "level";
import pino from "pino";
import type { PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { deploymentRegistryAbi } from "../chain/abi";
import { loadContracts, makePublicClient } from "../chain/clients";
import { ActionDispatcher } from "./act/dispatcher";
import { Outbox } from "./act/outbox";
import { createWatcherMetrics } from "./status/metrics";
import { resumeOutbox } from "./act/resumeOutbox";
import { SenderWorker } from "./act/senderWorker";
import { resolveWatcherConfig, type ResolvedWatcherConfig, type WatcherAddresses, type WatcherConfig } from "./config";
import type { Unplaced } from "./decide/placeReplicas";
import { isBudgetSpent } from "./decide/budgetSpent";
import { reconcile } from "./decide/reconcile";
import { WatcherError } from "./errors";
import { ChainFollower } from "./ingest/followChain";
import { retryDelayMs } from "./ingest/rangeSize";
import { NodeProber } from "./liveness/nodeProber";
import { startStatusServer } from "./status/statusServer";
import { StateStore } from "./store/stateStore";

/** The logger the watcher writes to (pino's shape). */
export interface WatcherLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** What GET /v1/status answers. */
export interface WatcherStatus {
  chainId: number;
  cursor: { number: string; hash: string } | null;
  head: string | null;
  caughtUp: boolean;
  rangeSize: number;
  reorgs: number;
  resyncs: number;
  counts: { nodes: number; deployments: number; activeDeployments: number; replicas: Record<string, number> };
  lostNodes: number[];
  unplaced: number;
  /** Up to 5 replicas waiting for a node, with the reason. */
  unplacedSample: Unplaced[];
  outbox: { queued: number; inProgress: number; sent: number; mined: number; failed: number; txs: number };
  txsSent: number;
  reconciles: number;
  lastError: string | null;
}

export interface WatcherHandle {
  close(): Promise<void>;
  status(): WatcherStatus;
  /** Status API URL, when statusPort was given. */
  statusUrl?: string;
  /** The observed state (read-only use: tests, the API). */
  store: StateStore;
}

const REPLICA_NAMES = ["Pending", "Scheduled", "Running", "Completed", "Failed", "Tampered", "Stopped"];
const META = "m:identity";

/**
 * Start the watcher. Resolves once state is loaded, the outbox resumed and the loops running.
 * @example
 * const w = await runWatcher({ rpcUrl: "http://127.0.0.1:8545", deploymentFile: "deployments", senderPrivateKeys: [devPrivateKey(1)] });
 * console.log(w.status().cursor); await w.close();
 */
export async function runWatcher(config: WatcherConfig, logger: WatcherLogger = pino({ name: "watcher" })): Promise<WatcherHandle> {
  const client = makePublicClient(config.rpcUrl, { pollingIntervalMs: config.pollIntervalMs ?? 150 });
  const addresses: WatcherAddresses = config.addresses ?? (await addressesFromFile(client, config.deploymentFile));
  const cfg = resolveWatcherConfig({ ...config, addresses });
  const chainId = await client.getChainId().catch((err: unknown) => {
    throw new WatcherError(`cannot reach the chain at ${cfg.rpcUrl}`, { cause: err, exitCode: 2 });
  });

  await mkdir(cfg.dataDir, { recursive: true });
  const db = new Level<string, string>(cfg.dataDir, { valueEncoding: "utf8" });
  try {
    await db.open();
  } catch (err) {
    throw new WatcherError(`dataDir ${cfg.dataDir}: cannot open the watcher database (is another watcher using it?)`, { cause: err });
  }
  await forgetOtherChain(client, db, chainId, cfg, logger);

  const store = await StateStore.open(db, cfg.reorgDepth);
  const outbox = await Outbox.open(db);
  const workers = cfg.senderPrivateKeys.map(
    (key) =>
      new SenderWorker(client, privateKeyToAccount(key), outbox, {
        deploymentRegistry: cfg.addresses.deploymentRegistry,
        chainId,
        pollIntervalMs: Math.min(cfg.pollIntervalMs, 100),
        logger,
      }),
  );
  await resumeOutbox(client, outbox, cfg.addresses.deploymentRegistry, logger, { pollIntervalMs: cfg.pollIntervalMs });
  await Promise.all(workers.map((w) => w.syncNonce()));

  const follower = new ChainFollower(client, store, {
    nodeRegistry: cfg.addresses.nodeRegistry,
    deploymentRegistry: cfg.addresses.deploymentRegistry,
    startBlock: cfg.addresses.startBlock ?? 0n,
    initialBlockRange: cfg.initialBlockRange,
    maxBlockRange: cfg.maxBlockRange,
  });
  const prober = new NodeProber(() => store.nodes().map((n) => ({ nodeId: n.nodeId, endpoint: n.endpoint })), {
    intervalMs: cfg.probeIntervalMs,
    lostAfterMs: cfg.nodeLostAfterMs,
  });
  const dispatcher = new ActionDispatcher(workers, outbox, { maxBatchSize: cfg.maxBatchSize, logger });

  let stopped = false;
  let caughtUpOnce = false;
  let caughtUp = false;
  let head: bigint | null = null;
  let lastError: string | null = null;
  let unplaced = 0;
  let unplacedSample: Unplaced[] = [];
  let unplacedReasons: string[] = [];
  let reconciles = 0;
  let resyncs = 0;
  let resyncRequested = false;
  let lostNodes = new Set<number>();
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        wake = undefined;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(t);
        wake = undefined;
        resolve();
      };
    });

  let reconciling: Promise<void> | undefined;
  let reconcileAgain = false;
  const requestReconcile = (): void => {
    // Decisions are only made on a state that has caught up with the chain (not mid-replay).
    if (stopped || !caughtUp) return;
    if (reconciling) {
      reconcileAgain = true;
      return;
    }
    reconciling = reconcileOnce()
      .catch((err: unknown) => {
        lastError = errorLine(err);
        logger.error({ err: lastError }, "reconcile failed");
      })
      .finally(() => {
        reconciling = undefined;
        if (reconcileAgain) {
          reconcileAgain = false;
          requestReconcile();
        }
      });
  };

  async function reconcileOnce(): Promise<void> {
    await outbox.prune(store.cursor()?.number, Date.now());
    lostNodes = prober.lost();
    const deployments = store
      .deployments()
      .filter((d) => !d.terminated && d.status !== deploymentStatusNumber("Terminated"))
      .map((d) => ({ deployment: d, replicas: store.replicasOf(d.id) }));
    const nodes = store.nodes().map((n) => ({ ...n, measurementApproved: store.isMeasurementApproved(n.measurement) }));
    const result = reconcile({ deployments, nodes, lostNodeIds: lostNodes, inFlightKeys: dispatcher.inFlightKeys(), inFlightReservations: dispatcher.reservations(), budgetSpentIds: budgetSpent });
    reconciles++;
    if (result.unplaced.length && result.unplaced.length !== unplaced) logger.warn({ unplaced: result.unplaced.length, first: result.unplaced[0] }, "replicas waiting for a node");
    unplaced = result.unplaced.length;
    unplacedSample = result.unplaced.slice(0, 5);
    unplacedReasons = result.unplaced.map((u) => u.reason);
    dispatcher.replaceQueue(result.actions);
  }

  async function ingestLoop(): Promise<void> {
    let failures = 0;
    while (!stopped) {
      try {
        if (resyncRequested) {
          resyncRequested = false;
          resyncs++;
          caughtUp = false;
          await store.rollbackTo(undefined);
        }
        const step = await follower.step();
        failures = 0;
        head = step.head;
        caughtUp = step.caughtUp;
        if (step.reorg) {
          // Transactions mined in removed blocks may be gone: decide again, and re-read nonces.
          await outbox.forgetMinedAfter(step.reorg.ancestor);
          for (const w of workers) w.invalidateNonce();
        }
        if (step.reorg) logger.warn({ removedFrom: step.reorg.removedFrom.toString(), ancestor: step.reorg.ancestor?.toString() ?? null }, "reorg: state rolled back");
        if (step.caughtUp && !caughtUpOnce) {
          caughtUpOnce = true;
          logger.info({ cursor: store.cursor()?.number.toString() }, "ingest caught up");
        }
        if (step.events.length || step.reorg || (step.caughtUp && reconciles === 0)) requestReconcile();
        if (!step.caughtUp) continue;
      } catch (err) {
        failures++;
        lastError = errorLine(err);
        logger.warn({ err: lastError, failures, range: follower.rangeSize() }, "ingest step failed; backing off");
        await sleep(retryDelayMs(failures));
        continue;
      }
      await sleep(cfg.pollIntervalMs);
    }
  }

  let rereadOffset = 0;
  /** Active deployments the last chain re-read found out of budget (terminated by the next reconcile). */
  const budgetSpent = new Set<string>();
  async function rereadChain(): Promise<void> {
    const cursor = store.cursor();
    if (!cursor || !caughtUp || resyncRequested) return;
    const active = store.deployments().filter((d) => d.status >= 1 && d.status <= 3 && !d.terminated);
    if (active.length === 0) return;
    const slice = active.slice(rereadOffset % active.length).concat(active).slice(0, Math.min(100, active.length));
    rereadOffset += slice.length;
    const cursorBlock = await client.getBlock({ blockNumber: cursor.number });
    for (const dep of slice) {
      const onChain = await client.readContract({ address: cfg.addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "getReplicas", args: [dep.id], blockNumber: cursor.number });
      const view = await client.readContract({ address: cfg.addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "getDeployment", args: [dep.id], blockNumber: cursor.number });
      // The views are of the cursor's block: compare them only with the state of that same block.
      if (store.cursor()?.hash !== cursor.hash) return; // state moved on while we read; next round
      if (view.status >= 2 && view.status <= 3 && isBudgetSpent(view.escrow, onChain, cursorBlock.timestamp)) {
        if (!budgetSpent.has(dep.id.toLowerCase())) logger.info({ deployment: dep.id, block: cursor.number.toString() }, "budget spent: terminating to settle");
        budgetSpent.add(dep.id.toLowerCase());
        requestReconcile();
      }
      const ours = store.replicasOf(dep.id);
      const differs = onChain.some((r, i) => i < dep.replicas && (ours[i]?.status !== r.status || ours[i]?.attempt !== r.attempt));
      if (differs) {
        logger.error({ deployment: dep.id, block: cursor.number.toString() }, "observed state differs from the chain's view: replaying from the start block");
        resyncRequested = true;
        wake?.();
        return;
      }
    }
  }

  const timers: NodeJS.Timeout[] = [];
  timers.push(setInterval(requestReconcile, cfg.reconcileIntervalMs));
  // A node becoming lost (or coming back) is acted on at once, not at the next periodic reconcile.
  if (cfg.nodeLostAfterMs > 0)
    timers.push(
      setInterval(() => {
        const now = prober.lost();
        if (now.size !== lostNodes.size || [...now].some((n) => !lostNodes.has(n))) requestReconcile();
      }, Math.min(cfg.probeIntervalMs, 250)),
    );
  if (cfg.chainRereadIntervalMs > 0)
    timers.push(
      setInterval(() => {
        rereadChain().catch((err: unknown) => logger.warn({ err: errorLine(err) }, "chain re-read failed"));
      }, cfg.chainRereadIntervalMs),
    );
  prober.start();
  const loop = ingestLoop();
  logger.info({ chainId, senders: workers.map((w) => w.address), dataDir: cfg.dataDir, cursor: store.cursor()?.number.toString() ?? null }, "watcher started");

  const status = (): WatcherStatus => {
    const cursor = store.cursor();
    const deployments = store.deployments();
    const replicas: Record<string, number> = {};
    let active = 0;
    for (const d of deployments) {
      if (d.status >= 1 && d.status <= 3) active++;
      for (const r of store.replicasOf(d.id)) replicas[REPLICA_NAMES[r.status] ?? String(r.status)] = (replicas[REPLICA_NAMES[r.status] ?? String(r.status)] ?? 0) + 1;
    }
    return {
      chainId,
      cursor: cursor ? { number: cursor.number.toString(), hash: cursor.hash } : null,
      head: head === null ? null : head.toString(),
      caughtUp,
      rangeSize: follower.rangeSize(),
      reorgs: follower.reorgs,
      resyncs,
      counts: { nodes: store.nodes().length, deployments: deployments.length, activeDeployments: active, replicas },
      lostNodes: [...lostNodes].sort((a, b) => a - b),
      unplaced,
      unplacedSample,
      outbox: { queued: dispatcher.queued(), inProgress: dispatcher.inProgressCount(), ...outbox.depth() },
      txsSent: outbox.sentCount,
      reconciles,
      lastError: lastError ?? dispatcher.lastError ?? null,
    };
  };

  let server: Awaited<ReturnType<typeof startStatusServer>> | undefined;
  const metrics = createWatcherMetrics({
    deploymentStatuses: () => store.deployments().map((d) => d.status),
    replicaStatuses: () => store.deployments().flatMap((d) => store.replicasOf(d.id).map((r) => r.status)),
    nodes: () => store.nodes().map((n) => ({ jailed: n.jailed, unbonding: n.unbonding, lost: lostNodes.has(n.nodeId) })),
    unplacedReasons: () => unplacedReasons,
    head: () => head,
    cursor: () => store.cursor()?.number ?? null,
    outbox: () => ({ queued: dispatcher.queued(), inProgress: dispatcher.inProgressCount(), ...outbox.depth() }),
    outboxAgeSeconds: () => outbox.oldestUnminedAgeSeconds(),
    txsSent: () => outbox.sentCount,
    txsReverted: () => outbox.revertedCount,
    reorgs: () => follower.reorgs,
    senderBalances: () => Promise.all(workers.map(async (w) => ({ address: w.address, wei: await client.getBalance({ address: w.address }) }))),
  });
  if (cfg.statusPort !== undefined) server = await startStatusServer(status, cfg.statusPort, cfg.statusHost, metrics);

  return {
    store,
    statusUrl: server?.url,
    status,
    async close() {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearInterval(t);
      prober.stop();
      wake?.();
      await loop;
      await reconciling;
      await dispatcher.close();
      await server?.close();
      await db.close();
      logger.info({}, "watcher stopped");
    },
  };
}

async function addressesFromFile(client: PublicClient, deploymentFile: string | undefined): Promise<WatcherAddresses> {
  const a = await loadContracts(client, deploymentFile);
  return { nodeRegistry: a.nodeRegistry, deploymentRegistry: a.deploymentRegistry, startBlock: a.deployBlock };
}

/** A data dir written for another chain (other genesis, e.g. a restarted local node) or other contracts is cleared. */
async function forgetOtherChain(client: PublicClient, db: Level<string, string>, chainId: number, cfg: ResolvedWatcherConfig, logger: WatcherLogger): Promise<void> {
  const genesis = (await client.getBlock({ blockNumber: 0n })).hash;
  const identity = JSON.stringify({ chainId, genesis, nodeRegistry: cfg.addresses.nodeRegistry.toLowerCase(), deploymentRegistry: cfg.addresses.deploymentRegistry.toLowerCase() });
  const stored = await db.get(META);
  if (stored === identity) return;
  if (stored !== undefined) {
    logger.warn({ was: JSON.parse(stored), now: JSON.parse(identity) }, "data dir belongs to other contracts: starting over");
    await db.clear();
  }
  await db.put(META, identity);
}

function errorLine(err: unknown): string {
  if (err && typeof err === "object" && "shortMessage" in err && typeof err.shortMessage === "string") return err.shortMessage;
  return err instanceof Error ? (err.message.split("\n")[0] ?? err.message) : String(err);
}
