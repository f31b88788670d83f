/**
 * The blob/image store's Prometheus metrics (GET /metrics): requests by route, method and status,
 * bytes served and received (object traffic: what agents fetch, what importers push), and the
 * names in its catalog.
 */
import type { NextFunction, Request, Response } from "express";
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

export interface StoreMetrics {
  registry: Registry;
  middleware(req: Request, res: Response, next: NextFunction): void;
}

/** @example const m = createStoreMetrics(async () => Object.keys(await catalog.list()).length); app.use(m.middleware) */
export function createStoreMetrics(catalogNames: () => Promise<number>): StoreMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "hypha_store_" });
  // promtool: "non-counter metrics should not have _total suffix" (prom-client's handle/request gauges)
  for (const m of registry.getMetricsAsArray()) if (m.name.endsWith("_total")) registry.removeSingleMetric(m.name);
  const requests = new Counter({
    name: "hypha_store_requests_total",
    help: "HTTP requests answered",
    labelNames: ["route", "method", "status"],
    registers: [registry],
  });
  const served = new Counter({
    name: "hypha_store_bytes_served_total",
    help: "Object bytes sent to clients (chunks, manifests, blobs)",
    registers: [registry],
  });
  const received = new Counter({ name: "hypha_store_bytes_received_total", help: "Bytes uploaded to the store", registers: [registry] });
  new Gauge({
    name: "hypha_store_catalog_names",
    help: "Image names in the catalog",
    registers: [registry],
    async collect() {
      this.set(await catalogNames().catch(() => 0));
    },
  });
  return {
    registry,
    middleware(req, res, next) {
      const inBytes = Number(req.get("content-length") ?? 0);
      res.on("finish", () => {
        const route = (req.route?.path as string | undefined) ?? "unmatched";
        requests.inc({ route, method: req.method, status: String(res.statusCode) });
        if (req.method === "GET" && res.statusCode === 200) served.inc(Number(res.get("content-length") ?? 0));
        if ((req.method === "PUT" || req.method === "POST") && res.statusCode < 300 && inBytes > 0) received.inc(inBytes);
      });
      next();
    },
  };
}
