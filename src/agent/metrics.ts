/**
 * The agent's Prometheus metrics (GET /metrics on its HTTP API): its runs by local status,
 * restarts, attestations put on-chain by status, Tampered copies found, and image bytes fetched
 * versus needed (the rest came from its cache), and JSON-RPC requests sent to the chain by method. Read from the runs at scrape time.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { rpcRequestCounts } from "../chain/keepAliveTransport";
import type { ReplicaRunInfo } from "./replicaRun";

const LOCAL_STATUSES = ["Preparing", "Running", "CrashLoopBackOff", "Completed", "Failed", "Tampered", "Stopped"];
const ATTESTED = ["Running", "Completed", "Failed", "Tampered"];

/** @example const registry = createAgentMetrics(() => runs, 3) */
export function createAgentMetrics(runs: () => ReplicaRunInfo[], nodeId: number): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node: String(nodeId) });
  collectDefaultMetrics({ register: registry, prefix: "hypha_agent_" });
  // promtool: "non-counter metrics should not have _total suffix" (prom-client's handle/request gauges)
  for (const m of registry.getMetricsAsArray()) if (m.name.endsWith("_total")) registry.removeSingleMetric(m.name);
  new Counter({
    name: "hypha_agent_rpc_requests_total",
    help: "JSON-RPC requests this agent process sent to the chain, by method",
    labelNames: ["method"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [method, n] of rpcRequestCounts()) this.inc({ method }, n);
    },
  });
  new Gauge({
    name: "hypha_agent_replicas",
    help: "Replica runs on this node by local status (every attempt it still remembers)",
    labelNames: ["status"],
    registers: [registry],
    collect() {
      const all = runs();
      for (const status of LOCAL_STATUSES) this.set({ status }, all.filter((r) => r.status === status).length);
    },
  });
  new Gauge({
    name: "hypha_agent_restarts",
    help: "Restarts of the runs on this node, summed",
    registers: [registry],
    collect() {
      this.set(runs().reduce((s, r) => s + r.restarts, 0));
    },
  });
  new Gauge({
    name: "hypha_agent_attestations",
    help: "Attestations of this node's runs that are on-chain, by attested status",
    labelNames: ["status"],
    registers: [registry],
    collect() {
      const all = runs();
      for (const status of ATTESTED) this.set({ status }, all.filter((r) => r.attested[status] !== undefined).length);
    },
  });
  new Gauge({
    name: "hypha_agent_tampered_replicas",
    help: "Runs whose image or output failed verification (Tampered)",
    registers: [registry],
    collect() {
      this.set(runs().filter((r) => r.status === "Tampered" || r.attested.Tampered !== undefined).length);
    },
  });
  new Gauge({
    name: "hypha_agent_image_bytes_fetched",
    help: "Image bytes fetched from the store for the runs on this node",
    registers: [registry],
    collect() {
      this.set(runs().reduce((s, r) => s + r.bytesFetched, 0));
    },
  });
  new Gauge({
    name: "hypha_agent_image_bytes_cached",
    help: "Image bytes the runs needed that came from this node's cache (needed minus fetched)",
    registers: [registry],
    collect() {
      this.set(runs().reduce((s, r) => s + Math.max(0, r.bytesTotal - r.bytesFetched), 0));
    },
  });
  return registry;
}
