/**
 * The watcher's Prometheus metrics (GET /metrics on its status server): what it observes on the
 * chain (deployments and replicas by status, nodes by state, replicas waiting for a node by
 * reason), how far behind it is (chain head, cursor, lag), and what it sends (outbox depth and age,
 * transactions sent and reverted, each sender's balance). Gauges are read from the watcher's own
 * state at scrape time, so a scrape costs no chain read except the balances.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { DeploymentStatus, ReplicaStatus } from "../../chain/lifecycle";

/** What the metrics read at scrape time. */
export interface WatcherMetricsSource {
  deploymentStatuses(): number[];
  replicaStatuses(): number[];
  nodes(): Array<{ jailed: boolean; unbonding: boolean; lost: boolean }>;
  /** Reasons of every replica that found no node in the last reconcile. */
  unplacedReasons(): string[];
  head(): bigint | null;
  cursor(): bigint | null;
  outbox(): { queued: number; inProgress: number; sent: number; mined: number; failed: number; txs: number };
  outboxAgeSeconds(): number;
  txsSent(): number;
  txsReverted(): number;
  reorgs(): number;
  /** Each sender's balance in wei (a chain read). */
  senderBalances(): Promise<Array<{ address: string; wei: bigint }>>;
}

/** "no node fits: 3 not enough cpu, 1 no free slot" -> ["not enough cpu", "no free slot"] (bounded label values). */
export function reasonLabels(reason: string): string[] {
  const detail = reason.replace(/^no node fits:\s*/, "");
  if (detail === reason) return [reason];
  return detail.split(/,\s*/).map((part) => part.replace(/^\d+\s+/, ""));
}

/**
 * @example const m = createWatcherMetrics(source); res.type(m.contentType).send(await m.metrics())
 */
export function createWatcherMetrics(source: WatcherMetricsSource): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "hypha_watcher_" });
  // promtool: "non-counter metrics should not have _total suffix" (prom-client's handle/request gauges)
  for (const m of registry.getMetricsAsArray()) if (m.name.endsWith("_total")) registry.removeSingleMetric(m.name);
  const count = (names: readonly string[], values: number[]) => {
    const out = new Map<string, number>(names.map((n) => [n, 0]));
    for (const v of values) out.set(names[v] ?? `Unknown${v}`, (out.get(names[v] ?? `Unknown${v}`) ?? 0) + 1);
    return out;
  };
  new Gauge({
    name: "hypha_watcher_deployments",
    help: "Deployments the watcher has observed, by on-chain status",
    labelNames: ["status"],
    registers: [registry],
    collect() {
      for (const [status, n] of count(
        DeploymentStatus.filter((s) => s !== "None"),
        source.deploymentStatuses().map((s) => s - 1),
      ))
        this.set({ status }, n);
    },
  });
  new Gauge({
    name: "hypha_watcher_replicas",
    help: "Replica slots of observed deployments, by on-chain status",
    labelNames: ["status"],
    registers: [registry],
    collect() {
      for (const [status, n] of count(ReplicaStatus, source.replicaStatuses())) this.set({ status }, n);
    },
  });
  new Gauge({
    name: "hypha_watcher_nodes",
    help: "Registered nodes by state (Lost: Active on-chain but its agent does not answer)",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      const c = { Active: 0, Unbonding: 0, Jailed: 0, Lost: 0 };
      for (const n of source.nodes()) c[n.jailed ? "Jailed" : n.unbonding ? "Unbonding" : n.lost ? "Lost" : "Active"]++;
      for (const [state, v] of Object.entries(c)) this.set({ state }, v);
    },
  });
  new Gauge({
    name: "hypha_watcher_unplaced_replicas",
    help: "Replicas that found no node in the last reconcile, by reason (a replica may count under several)",
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      this.reset();
      const c = new Map<string, number>();
      for (const r of source.unplacedReasons()) for (const label of reasonLabels(r)) c.set(label, (c.get(label) ?? 0) + 1);
      for (const [reason, v] of c) this.set({ reason }, v);
    },
  });
  new Gauge({
    name: "hypha_watcher_chain_head_block",
    help: "Latest block the watcher saw",
    registers: [registry],
    collect() {
      this.set(Number(source.head() ?? 0n));
    },
  });
  new Gauge({
    name: "hypha_watcher_cursor_block",
    help: "Last block the watcher has ingested",
    registers: [registry],
    collect() {
      this.set(Number(source.cursor() ?? 0n));
    },
  });
  new Gauge({
    name: "hypha_watcher_cursor_lag_blocks",
    help: "Blocks between the chain head and the ingest cursor",
    registers: [registry],
    collect() {
      const h = source.head();
      const c = source.cursor();
      this.set(h === null || c === null ? 0 : Number(h - c));
    },
  });
  new Gauge({
    name: "hypha_watcher_outbox_depth",
    help: "Actions in the outbox by state (queued: decided, not yet sent)",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      const o = source.outbox();
      for (const state of ["queued", "inProgress", "sent", "mined", "failed"] as const) this.set({ state }, o[state]);
    },
  });
  new Gauge({
    name: "hypha_watcher_outbox_oldest_age_seconds",
    help: "Age of the oldest transaction sent but not yet mined",
    registers: [registry],
    collect() {
      this.set(source.outboxAgeSeconds());
    },
  });
  const counterFrom = (name: string, help: string, read: () => number) => {
    let had = 0;
    return new Counter({
      name,
      help,
      registers: [registry],
      // The watcher keeps the running total; the counter catches up with it at each scrape.
      collect() {
        const now = read();
        if (now > had) this.inc(now - had);
        had = Math.max(had, now);
      },
    });
  };
  counterFrom("hypha_watcher_transactions_sent_total", "Transactions the watcher signed and sent", source.txsSent);
  counterFrom("hypha_watcher_transactions_reverted_total", "Transactions the watcher sent that were mined reverted", source.txsReverted);
  counterFrom("hypha_watcher_reorgs_total", "Chain reorganisations the watcher followed", source.reorgs);
  new Gauge({
    name: "hypha_watcher_sender_balance_wei",
    help: "Balance of each orchestrator sender account (gas for placements and attestations relayed)",
    labelNames: ["address"],
    registers: [registry],
    async collect() {
      for (const b of await source.senderBalances().catch(() => [])) this.set({ address: b.address }, Number(b.wei));
    },
  });
  return registry;
}
