/**
 * The watcher's entry point: wires ingest (ChainFollower -> StateStore), decide (reconcile, pure)
 * and act (outbox, sender workers, dispatcher) with node liveness probes, a periodic level-triggered
 * reconcile, a periodic re-read of on-chain replica views, and an optional status API. `hypha
 * watcher` calls runWatcher with a config read at the edge.
 */
import { deploymentStatusNumber } from "../chain/lifecycle";
import pino from "pino";
import type { Address, PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { deploymentRegistryAbi } from "../chain/abi";
import { loadContracts, makePublicClient } from "../chain/clients";
import { NewHeads } from "../chain/newHeads";
import { ActionDispatcher } from "./act/dispatcher";
import { Outbox } from "./act/outbox";
import { createWatcherMetrics } from "./status/metrics";
import { resumeOutbox } from "./act/resumeOutbox";
import { SenderWorker } from "./act/senderWorker";
import { resolveWatcherConfig, type ResolvedWatcherConfig, type WatcherAddresses, type WatcherConfig } from "./config";
import type { Unplaced } from "./decide/placeReplicas";
import { isBudgetSpent } from "./decide/budgetSpent";
import { reconcile } from "./decide/reconcile";
import { ChainUnavailableError } from "../chain/chainError";
import { ChainFollower } from "./ingest/followChain";
import { retryDelayMs } from "./ingest/rangeSize";
import { NodeProber } from "./liveness/nodeProber";
import { watcherHealth, type Health } from "./status/health";
import { startStatusServer } from "./status/statusServer";
import { StateStore } from "./store/stateStore";
import type { StateProblem } from "./store/checkState";
import { compareWithChain } from "./store/compareWithChain";
import type { KvStore } from "./store/kvStore";
import { openWatcherStore } from "./store/openWatcherStore";
import { PostgresKv } from "./store/postgresKv";
import type { Logger } from "../logger";

/** The logger the watcher writes to (pino's shape). */
export type WatcherLogger = Logger;

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
  /** Where state and outbox live: leveldb (a directory) or postgres (shared; this watcher holds the lock). */
  store: { kind: KvStore["kind"]; location: string; waitedForLockMs: number };
  lostNodes: number[];
  /** Conditions nodes report (e.g. {"2": ["DiskPressure"]}): no new replicas go there meanwhile. */
  nodeConditions: Record<string, string[]>;
  unplaced: number;
  /** Up to 5 replicas waiting for a node, with the reason. */
  unplacedSample: Unplaced[];
  outbox: { queued: number; inProgress: number; sent: number; mined: number; failed: number; txs: number };
  txsSent: number;
  reconciles: number;
  lastError: string | null;
  /** What the start-up check of the database found: ok, or the problem and what was done about it. */
  stateCheck: { ok: boolean; problem?: StateProblem; rebuilt?: boolean; movedAside?: string; outboxRecordsLost?: number; skipped?: string };
}

export interface WatcherHandle {
  close(): Promise<void>;
  status(): WatcherStatus;
  /** What GET /healthz answers: unhealthy when the chain has not answered for staleAfterMs. */
  health(): Health;
  /** Status API URL, when statusPort was given. */
  statusUrl?: string;
  /** The observed state (read-only use: tests, the API). */
  store: StateStore;
  /** Settles once the watcher stopped: by close(), or by itself after losing the watcher lease (then with that reason). */
  stopped: Promise<string | undefined>;
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
    throw new ChainUnavailableError(`cannot reach the chain at ${cfg.rpcUrl}`, { cause: err });
  });

  const opened = await openWatcherStore(cfg, cfg.addresses.deploymentRegistry, logger);
  const db = opened.db;
  await forgetOtherChain(client, db, chainId, cfg, logger);
  const stateCheck: WatcherStatus["stateCheck"] = { ok: opened.problems.length === 0 && opened.unreadableOutboxKeys.length === 0 };
  if (opened.movedAside) Object.assign(stateCheck, { problem: opened.problems[0], rebuilt: true, movedAside: opened.movedAside });
  else if (opened.problems.length) {
    const problem = opened.problems[0]!;
    logRebuild(logger, cfg.dataDir, problem, opened.problems.length, cfg.addresses.startBlock ?? 0n);
    await StateStore.clear(db);
    Object.assign(stateCheck, { problem, rebuilt: true });
  }
  if (opened.unreadableOutboxKeys.length && !opened.movedAside) {
    logger.error(
      { dataDir: cfg.dataDir, keys: opened.unreadableOutboxKeys.slice(0, 10), count: opened.unreadableOutboxKeys.length },
      `watcher database ${cfg.dataDir}: ${opened.unreadableOutboxKeys.length} outbox record(s) unreadable (first ${opened.unreadableOutboxKeys[0]}): deleting them; no transaction is sent until this watcher's pending ones are mined`,
    );
    await db.batch(opened.unreadableOutboxKeys.map((key) => ({ type: "del" as const, key })));
  }
  const outboxLost = opened.movedAside !== undefined || opened.unreadableOutboxKeys.length > 0;
  if (outboxLost) stateCheck.outboxRecordsLost = opened.movedAside ? -1 : opened.unreadableOutboxKeys.length;

  const store = await StateStore.open(db, cfg.reorgDepth);
  if (!stateCheck.rebuilt) {
    const found = await compareWithChain(client, cfg.addresses, store);
    if (found && "skipped" in found) {
      logger.warn({ dataDir: cfg.dataDir, reason: found.skipped }, "state check against the chain skipped");
      stateCheck.skipped = found.skipped;
    } else if (found) {
      logRebuild(logger, cfg.dataDir, found, 1, cfg.addresses.startBlock ?? 0n);
      await store.rollbackTo(undefined);
      Object.assign(stateCheck, { ok: false, problem: found, rebuilt: true });
    }
  }
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
  // Outbox records lost: transactions this watcher sent may still be pending, and the actions they
  // carry would look undone. Wait for them to be mined (ingest then sees their effects) first.
  if (outboxLost)
    await waitForSendersIdle(
      client,
      workers.map((w) => w.address),
      logger,
      cfg.outboxLostWaitMs,
    );
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
  let lastChainOkAt = Date.now();
  let lastChainError: string | null = null;
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
    const result = reconcile({
      deployments,
      nodes,
      lostNodeIds: lostNodes,
      inFlightKeys: dispatcher.inFlightKeys(),
      inFlightReservations: dispatcher.reservations(),
      budgetSpentIds: budgetSpent,
      nodeConditions: prober.conditions(),
    });
    reconciles++;
    if (result.unplaced.length && result.unplaced.length !== unplaced)
      logger.warn({ unplaced: result.unplaced.length, first: result.unplaced[0] }, "replicas waiting for a node");
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
        lastChainOkAt = Date.now();
        lastChainError = null;
        head = step.head;
        caughtUp = step.caughtUp;
        if (step.reorg) {
          // Transactions mined in removed blocks may be gone: decide again, and re-read nonces.
          await outbox.forgetMinedAfter(step.reorg.ancestor);
          for (const w of workers) w.invalidateNonce();
        }
        if (step.reorg)
          logger.warn({ removedFrom: step.reorg.removedFrom.toString(), ancestor: step.reorg.ancestor?.toString() ?? null }, "reorg: state rolled back");
        if (step.caughtUp && !caughtUpOnce) {
          caughtUpOnce = true;
          logger.info({ cursor: store.cursor()?.number.toString() }, "ingest caught up");
        }
        if (step.events.length || step.reorg || (step.caughtUp && reconciles === 0)) requestReconcile();
        if (!step.caughtUp) continue;
      } catch (err) {
        failures++;
        caughtUp = false;
        lastError = errorLine(err);
        lastChainError = lastError;
        logger.warn({ err: lastError, failures, range: follower.rangeSize() }, "ingest step failed; backing off");
        await sleep(retryDelayMs(failures));
        continue;
      }
      // A block pushed while this step ran: the next step at once, unless transactions are in flight.
      await sleep(heads.takeHead() && dispatcher.inProgressCount() === 0 ? 20 : cfg.pollIntervalMs);
    }
  }

  let rereadOffset = 0;
  /** Active deployments the last chain re-read found out of budget (terminated by the next reconcile). */
  const budgetSpent = new Set<string>();
  async function rereadChain(): Promise<void> {
    const cursor = store.cursor();
    if (!cursor || !caughtUp || resyncRequested) return;
    // Every node's free capacity against the chain's at the cursor (a state ahead of its cursor
    // counts reservations twice); only a comparison the cursor did not move during counts.
    const nodesDiffer = await compareWithChain(client, cfg.addresses, store, 0);
    if (nodesDiffer && !("skipped" in nodesDiffer) && store.cursor()?.hash === cursor.hash) {
      logger.error(
        { key: nodesDiffer.key ?? null, reason: nodesDiffer.reason },
        `observed state differs from the chain's view (${nodesDiffer.reason}): replaying from the start block`,
      );
      resyncRequested = true;
      wake?.();
      return;
    }
    const active = store.deployments().filter((d) => d.status >= 1 && d.status <= 3 && !d.terminated);
    if (active.length === 0) return;
    const slice = active
      .slice(rereadOffset % active.length)
      .concat(active)
      .slice(0, Math.min(100, active.length));
    rereadOffset += slice.length;
    const cursorBlock = await client.getBlock({ blockNumber: cursor.number });
    for (const dep of slice) {
      const onChain = await client.readContract({
        address: cfg.addresses.deploymentRegistry,
        abi: deploymentRegistryAbi,
        functionName: "getReplicas",
        args: [dep.id],
        blockNumber: cursor.number,
      });
      const view = await client.readContract({
        address: cfg.addresses.deploymentRegistry,
        abi: deploymentRegistryAbi,
        functionName: "getDeployment",
        args: [dep.id],
        blockNumber: cursor.number,
      });
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
      setInterval(
        () => {
          const now = prober.lost();
          if (now.size !== lostNodes.size || [...now].some((n) => !lostNodes.has(n))) requestReconcile();
        },
        Math.min(cfg.probeIntervalMs, 250),
      ),
    );
  if (cfg.chainRereadIntervalMs > 0)
    timers.push(
      setInterval(() => {
        rereadChain().catch((err: unknown) => logger.warn({ err: errorLine(err) }, "chain re-read failed"));
      }, cfg.chainRereadIntervalMs),
    );
  prober.start();
  // A block wakes ingest when no transaction is being sent; a busy watcher batches by its poll.
  const heads = NewHeads.start(cfg.rpcUrl, { logger, onHead: () => (wake && dispatcher.inProgressCount() === 0 ? (wake(), true) : false) });
  const loop = ingestLoop();
  logger.info({ chainId, senders: workers.map((w) => w.address), dataDir: cfg.dataDir, cursor: store.cursor()?.number.toString() ?? null }, "watcher started");

  const health = (): Health => watcherHealth({ now: Date.now(), lastChainOkAt, staleAfterMs: cfg.staleAfterMs, rpcUrl: cfg.rpcUrl, lastChainError });
  const status = (): WatcherStatus => {
    const cursor = store.cursor();
    const h = health();
    const deployments = store.deployments();
    const replicas: Record<string, number> = {};
    let active = 0;
    for (const d of deployments) {
      if (d.status >= 1 && d.status <= 3) active++;
      for (const r of store.replicasOf(d.id))
        replicas[REPLICA_NAMES[r.status] ?? String(r.status)] = (replicas[REPLICA_NAMES[r.status] ?? String(r.status)] ?? 0) + 1;
    }
    return {
      chainId,
      cursor: cursor ? { number: cursor.number.toString(), hash: cursor.hash } : null,
      head: head === null ? null : head.toString(),
      caughtUp: caughtUp && h.ok, // a view the chain has not confirmed for staleAfterMs is not caught up
      rangeSize: follower.rangeSize(),
      reorgs: follower.reorgs,
      resyncs,
      counts: { nodes: store.nodes().length, deployments: store.deploymentCount(), activeDeployments: active, replicas },
      store: { kind: db.kind, location: db.location, waitedForLockMs: opened.waitedMs },
      lostNodes: [...lostNodes].sort((a, b) => a - b),
      nodeConditions: Object.fromEntries(prober.conditions()),
      unplaced,
      unplacedSample,
      outbox: { queued: dispatcher.queued(), inProgress: dispatcher.inProgressCount(), ...outbox.depth() },
      txsSent: outbox.sentCount,
      reconciles,
      lastError: (h.ok ? null : h.reason) ?? lastError ?? dispatcher.lastError ?? null,
      stateCheck,
    };
  };

  let server: Awaited<ReturnType<typeof startStatusServer>> | undefined;
  const metrics = createWatcherMetrics({
    // Terminated deployments are out of memory: counted, not read back.
    deploymentStatuses: () => {
      const live = store.deployments().map((d) => d.status);
      return live.concat(new Array<number>(store.deploymentCount() - live.length).fill(deploymentStatusNumber("Terminated")));
    },
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
  if (cfg.statusPort !== undefined) server = await startStatusServer(status, cfg.statusPort, cfg.statusHost, health, metrics);

  let markStopped: (reason: string | undefined) => void = () => undefined;
  let stopReason: string | undefined;
  const stoppedPromise = new Promise<string | undefined>((resolve) => (markStopped = resolve));
  const handle: WatcherHandle = {
    store,
    stopped: stoppedPromise,
    statusUrl: server?.url,
    status,
    health,
    async close() {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearInterval(t);
      prober.stop();
      wake?.();
      await loop;
      await heads.close();
      await reconciling;
      await dispatcher.close();
      await server?.close();
      await db.close();
      logger.info({}, "watcher stopped");
      markStopped(stopReason);
    },
  };
  // The lease is lost (the connection dropped, or it could not be renewed in time): another watcher
  // may be active now. Stop at once (every write fails from here on, so nothing more is recorded
  // or sent).
  if (db instanceof PostgresKv)
    db.onLost((err) => {
      lastError = `lost the watcher lease: ${err.message}`;
      stopReason = lastError;
      logger.error({ err: err.message }, "lost the watcher lease: stopping");
      void handle.close().catch(() => undefined);
    });
  return handle;
}

async function addressesFromFile(client: PublicClient, deploymentFile: string | undefined): Promise<WatcherAddresses> {
  const a = await loadContracts(client, deploymentFile);
  return { nodeRegistry: a.nodeRegistry, deploymentRegistry: a.deploymentRegistry, startBlock: a.deployBlock };
}

/** A data dir written for another chain (other genesis, e.g. a restarted local node) or other contracts is cleared. */
async function forgetOtherChain(client: PublicClient, db: KvStore, chainId: number, cfg: ResolvedWatcherConfig, logger: WatcherLogger): Promise<void> {
  const genesis = (await client.getBlock({ blockNumber: 0n })).hash;
  const identity = JSON.stringify({
    chainId,
    genesis,
    nodeRegistry: cfg.addresses.nodeRegistry.toLowerCase(),
    deploymentRegistry: cfg.addresses.deploymentRegistry.toLowerCase(),
  });
  const stored = await db.get(META);
  if (stored === identity) return;
  if (stored !== undefined) {
    logger.warn({ was: JSON.parse(stored), now: JSON.parse(identity) }, "data dir belongs to other contracts: starting over");
    await db.clear();
  }
  await db.put(META, identity);
}

/** The one loud line for a state that failed its check: which directory, which key, why, and what happens now. */
function logRebuild(logger: WatcherLogger, dataDir: string, problem: StateProblem, count: number, startBlock: bigint): void {
  const what = problem.key ? `record ${JSON.stringify(problem.key)} is ${problem.kind}` : `the state is ${problem.kind}`;
  logger.error(
    { dataDir, key: problem.key ?? null, reason: problem.reason, problems: count, replayFrom: startBlock.toString() },
    `watcher database ${dataDir}: ${what} (${problem.reason}): rebuilding the observed state from the chain, replaying from block ${startBlock}; the outbox is kept`,
  );
}

/** Waits (up to `timeoutMs`) until no transaction of these senders is pending: their pending nonce equals their mined one. */
async function waitForSendersIdle(client: PublicClient, senders: Address[], logger: WatcherLogger, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const address of senders) {
    for (;;) {
      const [pending, mined] = await Promise.all([
        client.getTransactionCount({ address, blockTag: "pending" }),
        client.getTransactionCount({ address, blockTag: "latest" }),
      ]);
      if (pending === mined) break;
      if (Date.now() > deadline) {
        logger.warn(
          { sender: address, pending, mined },
          "transactions still pending after the outbox was lost: sending from the pending nonce; a repeated action is refused by the contract",
        );
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function errorLine(err: unknown): string {
  if (err && typeof err === "object" && "shortMessage" in err && typeof err.shortMessage === "string") return err.shortMessage;
  return err instanceof Error ? (err.message.split("\n")[0] ?? err.message) : String(err);
}
