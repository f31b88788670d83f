/**
 * The watcher's small status API (express): GET /healthz (200, or 503 with the reason when its view
 * of the chain is stale), GET /v1/status with the ingest cursor, counts and outbox depth, and GET
 * /metrics (Prometheus; metrics.ts). Read-only; it never changes watcher state.
 */
import express from "express";
import type { Registry } from "prom-client";
import type { Health } from "./health";
import { listenHttp } from "../../http/listenHttp";

/**
 * Start the status server; resolves with its URL once listening.
 * @example const s = await startStatusServer(() => watcher.status(), 7790); console.log(s.url)
 */
export async function startStatusServer(
  status: () => unknown,
  port: number,
  host = "127.0.0.1",
  health: () => Health = () => ({ ok: true }),
  metrics?: Registry,
): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.disable("x-powered-by");
  app.get("/healthz", (_req, res) => {
    const h = health();
    res.status(h.ok ? 200 : 503).json(h);
  });
  app.get("/v1/status", (_req, res) => {
    res.type("application/json").send(JSON.stringify(status(), (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
  });
  if (metrics) {
    app.get("/metrics", async (_req, res) => {
      res.type(metrics.contentType).send(await metrics.metrics());
    });
  }
  app.use((_req, res) => {
    res.status(404).json({ error: "not found: the watcher serves GET /healthz, /v1/status and /metrics" });
  });
  const { url, close } = await listenHttp(app, host, port);
  return { url, close };
}
