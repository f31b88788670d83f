/**
 * Prometheus metrics of the REST API (prom-client): requests by route, method and status, their
 * duration, intents relayed or refused, and the process's default metrics. Served at /metrics.
 */
import type { NextFunction, Request, Response } from "express";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface ApiMetrics {
  registry: Registry;
  /** Express middleware recording every request once it has been answered. */
  middleware(req: Request, res: Response, next: NextFunction): void;
  intents: Counter<"outcome">;
}

/** @example const metrics = createApiMetrics(); app.use(metrics.middleware) */
export function createApiMetrics(): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "hypha_api_" });
  // promtool: "non-counter metrics should not have _total suffix" (prom-client's handle/request gauges)
  for (const m of registry.getMetricsAsArray()) if (m.name.endsWith("_total")) registry.removeSingleMetric(m.name);
  const requests = new Counter({
    name: "hypha_api_requests_total",
    help: "HTTP requests answered",
    labelNames: ["route", "method", "status"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "hypha_api_request_duration_seconds",
    help: "Time to answer an HTTP request",
    labelNames: ["route", "method"],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  const intents = new Counter({
    name: "hypha_api_intents_total",
    help: "Intents submitted to POST /v1/intents, by outcome",
    labelNames: ["outcome"],
    registers: [registry],
  });
  return {
    registry,
    intents,
    middleware(req, res, next) {
      const started = process.hrtime.bigint();
      res.on("finish", () => {
        // the route pattern, not the path: ids must not become label values
        const route = (req.route?.path as string | undefined) ?? "unmatched";
        requests.inc({ route, method: req.method, status: String(res.statusCode) });
        duration.observe({ route, method: req.method }, Number(process.hrtime.bigint() - started) / 1e9);
      });
      next();
    },
  };
}
