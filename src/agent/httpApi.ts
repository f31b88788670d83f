/**
 * The agent's HTTP API (express 5), served on the endpoint registered on-chain:
 *   GET /healthz                                   liveness (the watcher's node-lost check)
 *   GET /metrics                                   Prometheus metrics (metrics.ts)
 *   GET /healthz                                   liveness (the watcher's node-lost check): 200, or 503 with
 *                                                  the reason while a condition holds (DiskPressure,
 *                                                  ChainUnreachable); either way the agent is alive
 *                                                  and its body lists its conditions
 *   GET /v1/node                                   nodeId, agent address, measurement, driver, sandbox
 *   GET /v1/replicas                               every local run: status, restarts, bytes fetched, measurement
 *   GET /v1/replicas/:deploymentId/:index/logs     stdout (or ?stream=stderr) of the latest run, text/plain;
 *                                                  ?from=N: only what was written since byte N (x-log-size
 *                                                  says where the next read starts), for following
 * Bad parameters answer 400 with {error: {field, reason}}; unknown replicas 404.
 */
import express, { type Request, type Response, type NextFunction } from "express";
import { promises as fs } from "node:fs";
import type { Hex } from "viem";
import type { Registry } from "prom-client";
import { InputError } from "../errors";
import { AgentError } from "./errors";
import type { ReplicaRunInfo } from "./replicaRun";
import type { NodeCondition } from "./diskPressure";

/** What the API reads from the running agent. */
export interface AgentApiSource {
  node(): { nodeId: number; agent: Hex; measurement: Hex; agentVersion: string; driver: string; sandbox: boolean; chainId: number; deploymentRegistry: Hex };
  replicas(): ReplicaRunInfo[];
  /** Log files of the latest run of a replica, or null if unknown. */
  logFiles(deploymentId: Hex, index: number): { stdout: string; stderr: string } | null;
  /** Prometheus metrics served at GET /metrics (metrics.ts). */
  metrics?: Registry;
  /** The node's conditions (absent: none). While one holds, the watcher places nothing new here. */
  conditions?(): NodeCondition[];
}

/** Validate a deployment id path parameter (pure). @example parseDeploymentId("0x" + "ab".repeat(32)) */
export function parseDeploymentId(v: unknown): Hex {
  if (typeof v !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(v)) throw new AgentError("deploymentId", "must be 0x followed by 64 hex digits");
  return v.toLowerCase() as Hex;
}

/** Validate a replica index path parameter (pure). @example parseReplicaIndex("2") // 2 */
export function parseReplicaIndex(v: unknown): number {
  if (typeof v !== "string" || !/^(0|[1-9][0-9]{0,4})$/.test(v) || Number(v) > 65535) throw new AgentError("index", "must be an integer 0..65535");
  return Number(v);
}

const MAX_LOG_BYTES = 1024 * 1024;

/**
 * The express app for `source`.
 * @example app.listen(0); // GET /v1/replicas
 */
export function createAgentApi(source: AgentApiSource): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.get("/healthz", (_req, res) => {
    const conditions = source.conditions?.() ?? [];
    const holding = conditions.filter((c) => c.status);
    if (holding.length === 0) res.json({ ok: true, nodeId: source.node().nodeId, conditions });
    else res.status(503).json({ ok: false, nodeId: source.node().nodeId, reason: holding.map((c) => `${c.type}: ${c.reason}`).join("; "), conditions });
  });
  if (source.metrics) {
    const registry = source.metrics;
    app.get("/metrics", async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics());
    });
  }
  app.get("/v1/node", (_req, res) => {
    res.json({ ...source.node(), conditions: source.conditions?.() ?? [] });
  });
  app.get("/v1/replicas", (_req, res) => {
    res.json({ replicas: source.replicas() });
  });
  app.get("/v1/replicas/:deploymentId/:index/logs", async (req, res) => {
    const id = parseDeploymentId(req.params.deploymentId);
    const index = parseReplicaIndex(req.params.index);
    const streamParam = req.query.stream ?? "stdout";
    if (streamParam !== "stdout" && streamParam !== "stderr") throw new AgentError("stream", "must be stdout or stderr");
    const files = source.logFiles(id, index);
    if (!files) {
      res.status(404).json({ error: { field: "deploymentId", reason: `replica ${id}/${index} has never run on this node` } });
      return;
    }
    const fromParam = req.query.from;
    if (fromParam !== undefined && (typeof fromParam !== "string" || !/^\d{1,15}$/.test(fromParam))) throw new AgentError("from", "must be a byte offset (a non-negative integer)");
    const file = streamParam === "stdout" ? files.stdout : files.stderr;
    const handle = await fs.open(file, "r").catch(() => null);
    let bytes = Buffer.alloc(0);
    let size = 0;
    let start = 0;
    if (handle) {
      try {
        size = (await handle.stat()).size;
        // the last MAX_LOG_BYTES, or (following) what was written since byte `from`, at most MAX_LOG_BYTES of it
        const from = fromParam === undefined ? Math.max(0, size - MAX_LOG_BYTES) : Math.min(Number(fromParam), size);
        start = Math.max(from, size - MAX_LOG_BYTES);
        bytes = Buffer.alloc(size - start);
        await handle.read(bytes, 0, bytes.length, start);
      } finally {
        await handle.close();
      }
    }
    // the bytes as written (a follower decodes UTF-8 across reads); x-log-size: where the next
    // `from` starts; x-log-from: where these bytes start
    res.set("x-log-size", String(size)).set("x-log-from", String(start)).type("text/plain; charset=utf-8").send(bytes);
  });
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: { field: "path", reason: "no such endpoint" } });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof InputError) res.status(400).json({ error: { field: err.field, reason: err.reason } });
    else res.status(500).json({ error: { field: "server", reason: (err as Error).message ?? String(err) } });
  });
  return app;
}
