/**
 * The watcher's and the agent's Prometheus metrics: domain gauges with the values of their source,
 * in an exposition `promtool check metrics` accepts (promtool from PATH or Debian's package; see
 * test/helpers/promtool.ts).
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createApiMetrics } from "../../src/api/metrics";
import { registerDomainMetrics } from "../../src/api/domainMetrics";
import { createStoreMetrics } from "../../src/image/storeMetrics";
import { createWatcherMetrics, reasonLabels } from "../../src/watcher/status/metrics";
import { createAgentMetrics } from "../../src/agent/metrics";
import type { ReplicaRunInfo } from "../../src/agent/replicaRun";
import { checkMetrics } from "../helpers/promtool";

describe("watcher metrics", () => {
  it("counts deployments, replicas, nodes, unplaced reasons, lag, outbox and transactions", async () => {
    let sent = 5;
    const registry = createWatcherMetrics({
      deploymentStatuses: () => [1, 3, 3, 5],
      replicaStatuses: () => [0, 2, 2, 2, 4],
      nodes: () => [
        { jailed: false, unbonding: false, lost: false },
        { jailed: false, unbonding: false, lost: true },
        { jailed: true, unbonding: false, lost: false },
      ],
      unplacedReasons: () => ["no node fits: 2 not enough cpu, 1 no free slot", "no node fits: 3 not enough cpu"],
      head: () => 120n,
      cursor: () => 117n,
      outbox: () => ({ queued: 2, inProgress: 1, sent: 3, mined: 4, failed: 1, txs: 2 }),
      outboxAgeSeconds: () => 1.5,
      txsSent: () => sent,
      txsReverted: () => 1,
      reorgs: () => 0,
      senderBalances: async () => [{ address: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", wei: 10n ** 18n }],
    });
    const text = await registry.metrics();
    expect(text).toContain('hypha_watcher_deployments{status="Running"} 2');
    expect(text).toContain('hypha_watcher_deployments{status="Terminated"} 1');
    expect(text).toContain('hypha_watcher_replicas{status="Running"} 3');
    expect(text).toContain('hypha_watcher_nodes{state="Lost"} 1');
    expect(text).toContain('hypha_watcher_nodes{state="Jailed"} 1');
    expect(text).toContain('hypha_watcher_unplaced_replicas{reason="not enough cpu"} 2');
    expect(text).toContain('hypha_watcher_unplaced_replicas{reason="no free slot"} 1');
    expect(text).toContain("hypha_watcher_cursor_lag_blocks 3");
    expect(text).toContain('hypha_watcher_outbox_depth{state="queued"} 2');
    expect(text).toContain("hypha_watcher_outbox_oldest_age_seconds 1.5");
    expect(text).toContain("hypha_watcher_transactions_sent_total 5");
    expect(text).toContain('hypha_watcher_sender_balance_wei{address="0x70997970C51812dc3A010C7d01b50e0d17dc79C8"} 1000000000000000000');
    sent = 9;
    expect(await registry.metrics()).toContain("hypha_watcher_transactions_sent_total 9");
    const check = checkMetrics(text);
    expect(check.problems, check.tool).toBe("");
  }, 180_000);

  it("reason labels stay a small set", () => {
    expect(reasonLabels("no node fits: 3 not enough memory, 1 price above maxPricePerSecond")).toEqual(["not enough memory", "price above maxPricePerSecond"]);
    expect(reasonLabels("no node fits: no nodes registered")).toEqual(["no nodes registered"]);
  });
});

describe("agent metrics", () => {
  it("counts runs, attestations, Tampered and image bytes", async () => {
    const run = (status: ReplicaRunInfo["status"], attested: Record<string, `0x${string}`>, bytesFetched: number, bytesTotal: number) =>
      ({ status, attested, bytesFetched, bytesTotal, restarts: 1 }) as unknown as ReplicaRunInfo;
    const registry = createAgentMetrics(
      () => [run("Running", { Running: "0x01" }, 100, 1000), run("Tampered", { Running: "0x02", Tampered: "0x03" }, 0, 1000)],
      2,
    );
    const text = await registry.metrics();
    expect(text).toContain('hypha_agent_replicas{status="Running",node="2"} 1');
    expect(text).toContain('hypha_agent_attestations{status="Running",node="2"} 2');
    expect(text).toContain('hypha_agent_tampered_replicas{node="2"} 1');
    expect(text).toContain('hypha_agent_image_bytes_fetched{node="2"} 100');
    expect(text).toContain('hypha_agent_image_bytes_cached{node="2"} 1900');
    const check = checkMetrics(text);
    expect(check.problems, check.tool).toBe("");
  }, 180_000);
});

describe("the Grafana dashboard (docs/grafana/hypha-dashboard.json)", () => {
  it("uses only metrics the services export", async () => {
    const dash = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "docs", "grafana", "hypha-dashboard.json"), "utf8")) as {
      panels: Array<{ targets: Array<{ expr: string }> }>;
    };
    const used = new Set(dash.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/hypha_[a-z_]+/g) ?? [])));
    expect(used.size).toBeGreaterThan(15);
    const api = createApiMetrics();
    registerDomainMetrics(api.registry, { deployments: async () => [], nodes: async () => [] });
    const watcher = createWatcherMetrics({
      deploymentStatuses: () => [],
      replicaStatuses: () => [],
      nodes: () => [],
      unplacedReasons: () => [],
      head: () => null,
      cursor: () => null,
      outbox: () => ({ queued: 0, inProgress: 0, sent: 0, mined: 0, failed: 0, txs: 0 }),
      outboxAgeSeconds: () => 0,
      txsSent: () => 0,
      txsReverted: () => 0,
      reorgs: () => 0,
      senderBalances: async () => [],
    });
    const exported = new Set(
      [api.registry, watcher, createAgentMetrics(() => [], 1), createStoreMetrics(async () => 0).registry].flatMap((r) =>
        r.getMetricsAsArray().map((m) => m.name),
      ),
    );
    expect([...used].filter((m) => !exported.has(m))).toEqual([]);
  });
});
