/**
 * What the chain says, as Prometheus gauges on the API's /metrics: deployments by phase (what
 * happened: Succeeded, Failed, Deleted, OutOfBudget ... see deploymentOutcome.ts), replicas by
 * status, and nodes by state with their agents' liveness. Read from the chain at scrape time (the
 * newest 1000 deployments), so a scrape costs a few reads per deployment.
 */
import type { Registry } from "prom-client";
import { Gauge } from "prom-client";
import { DEPLOYMENT_PHASES } from "../chain/deploymentOutcome";
import type { DeploymentResource } from "./deploymentResource";
import type { NodeResource } from "./nodeResource";

export interface DomainSource {
  deployments(): Promise<DeploymentResource[]>;
  nodes(): Promise<NodeResource[]>;
}

/** @example registerDomainMetrics(metrics.registry, { deployments: () => ..., nodes: () => readNodeResources(pc, addresses) }) */
export function registerDomainMetrics(registry: Registry, uncached: DomainSource): void {
  // One scrape reads the chain once, however many gauges use the list.
  const memo = <T>(f: () => Promise<T>) => {
    let at = 0;
    let p: Promise<T> | undefined;
    return () => {
      if (!p || Date.now() - at > 2_000) {
        at = Date.now();
        p = f();
      }
      return p;
    };
  };
  const source: DomainSource = { deployments: memo(uncached.deployments), nodes: memo(uncached.nodes) };
  new Gauge({
    name: "hypha_deployments",
    help: "Deployments on the chain (the newest 1000) by phase",
    labelNames: ["phase", "kind"],
    registers: [registry],
    async collect() {
      const list = await source.deployments().catch(() => undefined);
      if (!list) return;
      for (const phase of DEPLOYMENT_PHASES.filter((p) => p !== "Unknown")) {
        for (const kind of ["service", "job"]) this.set({ phase, kind }, list.filter((d) => d.phase === phase && d.kind === kind).length);
      }
    },
  });
  new Gauge({
    name: "hypha_replicas",
    help: "Replica slots of the deployments on the chain (the newest 1000) by status",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      const list = await source.deployments().catch(() => undefined);
      if (!list) return;
      const c = new Map<string, number>(["Pending", "Scheduled", "Running", "Completed", "Failed", "Tampered", "Stopped"].map((s) => [s, 0]));
      for (const d of list) for (const r of d.replicaSet) c.set(r.status, (c.get(r.status) ?? 0) + 1);
      for (const [status, v] of c) this.set({ status }, v);
    },
  });
  new Gauge({
    name: "hypha_nodes",
    help: "Registered nodes by on-chain state and whether their agent answered /healthz",
    labelNames: ["state", "agent"],
    registers: [registry],
    async collect() {
      const list = await source.nodes().catch(() => undefined);
      if (!list) return;
      for (const state of ["Active", "Unbonding", "Jailed"]) {
        for (const agent of ["reachable", "unreachable"])
          this.set({ state, agent }, list.filter((n) => n.state === state && n.liveness.reachable === (agent === "reachable")).length);
      }
    },
  });
}
