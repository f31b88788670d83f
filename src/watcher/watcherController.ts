/**
 * The running watcher as one controller object (the shape of Kubernetes' ReplicaSet controller,
 * `pkg/controller/replicaset/replica_set.go`): an ingest loop that takes what the chain follower
 * found and applies it to the store, a work queue whose one key, "reconcile", runs the pure
 * decision over the whole observed state and hands its actions to the dispatcher, and a periodic
 * re-read of on-chain views that asks for a replay when the state differs. Its fields are the
 * controller's state; runWatcher builds the parts and starts it.
 */
import type { PublicClient } from "viem";
import { deploymentRegistryAbi } from "../chain/abi";
import { deploymentStatusNumber } from "../chain/lifecycle";
import { NewHeads } from "../chain/newHeads";
import type { ActionDispatcher } from "./act/dispatcher";
import type { Outbox } from "./act/outbox";
import type { SenderWorker } from "./act/senderWorker";
import type { ResolvedWatcherConfig } from "./config";
import { isBudgetSpent } from "./decide/budgetSpent";
import type { Unplaced } from "./decide/placeReplicas";
import { reconcile } from "./decide/reconcile";
import type { ChainFollower } from "./ingest/followChain";
import { retryDelayMs } from "./ingest/rangeSize";
import type { NodeProber } from "./liveness/nodeProber";
import { type Health, watcherHealth } from "./status/health";
import { compareWithChain } from "./store/compareWithChain";
import type { StateStore } from "./store/stateStore";
import { WorkQueue } from "./workQueue";
import type { Logger } from "../logger";

/** The logger the watcher writes to (pino's shape; the one interface in src/logger.ts). */
export type WatcherLogger = Logger;

/** The parts a controller drives, built and opened by runWatcher. */
export interface ControllerParts {
  cfg: ResolvedWatcherConfig;
  client: PublicClient;
  store: StateStore;
  outbox: Outbox;
  workers: SenderWorker[];
  follower: ChainFollower;
  prober: NodeProber;
  dispatcher: ActionDispatcher;
  logger: WatcherLogger;
}

type WorkKey = "reconcile";

/**
 * @example const c = new WatcherController(parts); c.start(); ... await c.stop();
 */
export class WatcherController {
  stopped = false;
  caughtUp = false;
  head: bigint | null = null;
  lastError: string | null = null;
  lastChainOkAt = Date.now();
  lastChainError: string | null = null;
  unplaced = 0;
  unplacedSample: Unplaced[] = [];
  unplacedReasons: string[] = [];
  reconciles = 0;
  resyncs = 0;
  lostNodes = new Set<number>();
  /** Active deployments the last chain re-read found out of budget (terminated by the next reconcile). */
  readonly budgetSpent = new Set<string>();

  private caughtUpOnce = false;
  private resyncRequested = false;
  private rereadOffset = 0;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private heads: NewHeads | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly queue: WorkQueue<WorkKey>;

  constructor(private readonly parts: ControllerParts) {
    this.queue = new WorkQueue<WorkKey>(
      () => this.reconcileOnce(),
      (_key, err) => {
        this.lastError = errorLine(err);
        parts.logger.error({ err: this.lastError }, "reconcile failed");
      },
    );
  }

  /** Start the ingest loop, the timers and the node probes. */
  start(): void {
    const { cfg, prober, dispatcher, logger } = this.parts;
    this.timers.push(setInterval(() => this.requestReconcile(), cfg.reconcileIntervalMs));
    // A node becoming lost (or coming back) is acted on at once, not at the next periodic reconcile.
    if (cfg.nodeLostAfterMs > 0)
      this.timers.push(
        setInterval(
          () => {
            const now = prober.lost();
            if (now.size !== this.lostNodes.size || [...now].some((n) => !this.lostNodes.has(n))) this.requestReconcile();
          },
          Math.min(cfg.probeIntervalMs, 250),
        ),
      );
    if (cfg.chainRereadIntervalMs > 0)
      this.timers.push(
        setInterval(() => {
          this.rereadChain().catch((err: unknown) => logger.warn({ err: errorLine(err) }, "chain re-read failed"));
        }, cfg.chainRereadIntervalMs),
      );
    prober.start();
    // A block wakes ingest when no transaction is being sent; a busy watcher batches by its poll.
    this.heads = NewHeads.start(cfg.rpcUrl, { logger, onHead: () => (this.wake && dispatcher.inProgressCount() === 0 ? (this.wake(), true) : false) });
    this.loop = this.ingestLoop();
  }

  /** Stop the loops and wait for the step and the reconcile in progress (the parts stay open). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.parts.prober.stop();
    this.wake?.();
    await this.loop;
    await this.heads?.close();
    await this.queue.shutDown();
  }

  /** Ask for a reconcile pass; many asks while one runs cost one more pass. */
  requestReconcile(): void {
    // Decisions are only made on a state that has caught up with the chain (not mid-replay).
    if (this.stopped || !this.caughtUp) return;
    this.queue.add("reconcile");
  }

  /** What GET /healthz answers: unhealthy when the chain has not answered for staleAfterMs. */
  health(): Health {
    const { cfg } = this.parts;
    return watcherHealth({
      now: Date.now(),
      lastChainOkAt: this.lastChainOkAt,
      staleAfterMs: cfg.staleAfterMs,
      rpcUrl: cfg.rpcUrl,
      lastChainError: this.lastChainError,
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private async reconcileOnce(): Promise<void> {
    const { store, outbox, prober, dispatcher, logger } = this.parts;
    await outbox.prune(store.cursor()?.number, Date.now());
    this.lostNodes = prober.lost();
    const deployments = store
      .deployments()
      .filter((d) => !d.terminated && d.status !== deploymentStatusNumber("Terminated"))
      .map((d) => ({ deployment: d, replicas: store.replicasOf(d.id) }));
    const nodes = store.nodes().map((n) => ({ ...n, measurementApproved: store.isMeasurementApproved(n.measurement) }));
    const result = reconcile({
      deployments,
      nodes,
      lostNodeIds: this.lostNodes,
      inFlightKeys: dispatcher.inFlightKeys(),
      inFlightReservations: dispatcher.reservations(),
      budgetSpentIds: this.budgetSpent,
      nodeConditions: prober.conditions(),
    });
    this.reconciles++;
    if (result.unplaced.length && result.unplaced.length !== this.unplaced)
      logger.warn({ unplaced: result.unplaced.length, first: result.unplaced[0] }, "replicas waiting for a node");
    this.unplaced = result.unplaced.length;
    this.unplacedSample = result.unplaced.slice(0, 5);
    this.unplacedReasons = result.unplaced.map((u) => u.reason);
    dispatcher.replaceQueue(result.actions);
  }

  /** Follow the chain: apply each step's range or reorg to the store, back off on errors, sleep at the head. */
  private async ingestLoop(): Promise<void> {
    const { cfg, store, outbox, workers, follower, dispatcher, logger } = this.parts;
    let failures = 0;
    while (!this.stopped) {
      try {
        if (this.resyncRequested) {
          this.resyncRequested = false;
          this.resyncs++;
          this.caughtUp = false;
          await store.rollbackTo(undefined);
        }
        const step = await follower.step();
        if (step.kind === "range") await store.applyRange(step.events, step.to, undefined, step.head);
        else if (step.kind === "reorg") await store.rollbackTo(step.ancestor);
        failures = 0;
        this.lastChainOkAt = Date.now();
        this.lastChainError = null;
        this.head = step.head;
        this.caughtUp = step.caughtUp;
        if (step.kind === "reorg") {
          // Transactions mined in removed blocks may be gone: decide again, and re-read nonces.
          await outbox.forgetMinedAfter(step.ancestor?.number);
          for (const w of workers) w.invalidateNonce();
          logger.warn({ removedFrom: step.removedFrom.toString(), ancestor: step.ancestor?.number.toString() ?? null }, "reorg: state rolled back");
        }
        if (step.caughtUp && !this.caughtUpOnce) {
          this.caughtUpOnce = true;
          logger.info({ cursor: store.cursor()?.number.toString() }, "ingest caught up");
        }
        if ((step.kind === "range" && step.events.length) || step.kind === "reorg" || (step.caughtUp && this.reconciles === 0)) this.requestReconcile();
        if (!step.caughtUp) continue;
      } catch (err) {
        failures++;
        this.caughtUp = false;
        this.lastError = errorLine(err);
        this.lastChainError = this.lastError;
        logger.warn({ err: this.lastError, failures, range: follower.rangeSize() }, "ingest step failed; backing off");
        await this.sleep(retryDelayMs(failures));
        continue;
      }
      // A block pushed while this step ran: the next step at once, unless transactions are in flight.
      await this.sleep(this.heads?.takeHead() && dispatcher.inProgressCount() === 0 ? 20 : cfg.pollIntervalMs);
    }
  }

  /** Replica views and node capacities against the chain's at the cursor; a difference asks for a replay. */
  private async rereadChain(): Promise<void> {
    const { cfg, client, store, logger } = this.parts;
    const cursor = store.cursor();
    if (!cursor || !this.caughtUp || this.resyncRequested) return;
    // Every node's free capacity against the chain's at the cursor (a state ahead of its cursor
    // counts reservations twice); only a comparison the cursor did not move during counts.
    const nodesDiffer = await compareWithChain(client, cfg.addresses, store, 0);
    if (nodesDiffer && !("skipped" in nodesDiffer) && store.cursor()?.hash === cursor.hash) {
      logger.error(
        { key: nodesDiffer.key ?? null, reason: nodesDiffer.reason },
        `observed state differs from the chain's view (${nodesDiffer.reason}): replaying from the start block`,
      );
      this.requestResync();
      return;
    }
    const active = store.deployments().filter((d) => d.status >= 1 && d.status <= 3 && !d.terminated);
    if (active.length === 0) return;
    const slice = active
      .slice(this.rereadOffset % active.length)
      .concat(active)
      .slice(0, Math.min(100, active.length));
    this.rereadOffset += slice.length;
    const cursorBlock = await client.getBlock({ blockNumber: cursor.number });
    for (const dep of slice) {
      const at = { address: cfg.addresses.deploymentRegistry, abi: deploymentRegistryAbi, args: [dep.id], blockNumber: cursor.number } as const;
      const [onChain, view] = await Promise.all([
        client.readContract({ ...at, functionName: "getReplicas" }),
        client.readContract({ ...at, functionName: "getDeployment" }),
      ]);
      // The views are of the cursor's block: compare them only with the state of that same block.
      if (store.cursor()?.hash !== cursor.hash) return; // state moved on while we read; next round
      if (view.status >= 2 && view.status <= 3 && isBudgetSpent(view.escrow, onChain, cursorBlock.timestamp)) {
        if (!this.budgetSpent.has(dep.id.toLowerCase()))
          logger.info({ deployment: dep.id, block: cursor.number.toString() }, "budget spent: terminating to settle");
        this.budgetSpent.add(dep.id.toLowerCase());
        this.requestReconcile();
      }
      const ours = store.replicasOf(dep.id);
      const differs = onChain.some((r, i) => i < dep.replicas && (ours[i]?.status !== r.status || ours[i]?.attempt !== r.attempt));
      if (differs) {
        logger.error({ deployment: dep.id, block: cursor.number.toString() }, "observed state differs from the chain's view: replaying from the start block");
        this.requestResync();
        return;
      }
    }
  }

  /** The ingest loop replays from the start block at its next step. */
  private requestResync(): void {
    this.resyncRequested = true;
    this.wake?.();
  }
}

/** One line for an error: viem's short message, or the first line of the message. */
export function errorLine(err: unknown): string {
  if (err && typeof err === "object" && "shortMessage" in err && typeof err.shortMessage === "string") return err.shortMessage;
  return err instanceof Error ? (err.message.split("\n")[0] ?? err.message) : String(err);
}
