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
 *                                                  says where the next read starts), for following;
 *                                                  ?attempt=N: that placement's run instead (kept on disk);
 *                                                  ?timestamps=true: whole lines, each "RFC3339-TIME TEXT"
 *                                                  (logClock.ts); ?since=RFC3339-TIME: only lines written since
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
import { readMarks, stampLines } from "./logClock";

/** What the API reads from the running agent. */
export interface AgentApiSource {
  node(): { nodeId: number; agent: Hex; measurement: Hex; agentVersion: string; driver: string; sandbox: boolean; chainId: number; deploymentRegistry: Hex };
  replicas(): ReplicaRunInfo[];
  /**
   * Log files of the latest run of a replica (or of `attempt`), or null if unknown; `ended`: nothing
   * writes them any more; `sample`: stamps what they hold now (logClock.ts).
   */
  logFiles(deploymentId: Hex, index: number, attempt?: number): { stdout: string; stderr: string; ended?: boolean; sample?(): Promise<void> } | null;
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

/** Validate an attempt query parameter (pure). @example parseAttempt("2") // 2 */
export function parseAttempt(v: unknown): number {
  if (typeof v !== "string" || !/^[1-9][0-9]{0,9}$/.test(v) || Number(v) > 2 ** 32 - 1) throw new AgentError("attempt", "must be an attempt number, 1 or more");
  return Number(v);
}

/** Validate a true/false query parameter (pure). @example parseFlag("timestamps", "true") // true */
export function parseFlag(field: string, v: unknown): boolean {
  if (v === undefined || v === "false" || v === "0") return false;
  if (v === "true" || v === "1" || v === "") return true;
  throw new AgentError(field, "must be true or false");
}

/** Validate an RFC 3339 time query parameter into epoch ms (pure). @example parseTime("since", "2026-01-01T00:00:00Z") */
export function parseTime(field: string, v: unknown): number {
  const ms = typeof v === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(ms)) throw new AgentError(field, "must be an RFC 3339 time, e.g. 2026-01-01T12:00:00Z");
  return ms;
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
    const fromParam = req.query.from;
    if (fromParam !== undefined && (typeof fromParam !== "string" || !/^\d{1,15}$/.test(fromParam)))
      throw new AgentError("from", "must be a byte offset (a non-negative integer)");
    const attempt = req.query.attempt === undefined ? undefined : parseAttempt(req.query.attempt);
    const timestamps = parseFlag("timestamps", req.query.timestamps);
    const since = req.query.since === undefined ? undefined : parseTime("since", req.query.since);
    const files = source.logFiles(id, index, attempt);
    if (!files) {
      const what =
        attempt === undefined ? `replica ${id}/${index} has not run on this node` : `replica ${id}/${index} attempt ${attempt} has not run on this node`;
      res.status(404).json({ error: { field: attempt === undefined ? "deploymentId" : "attempt", reason: what } });
      return;
    }
    await files.sample?.();
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
    if (timestamps || since !== undefined) {
      // Whole lines with their times; a window that starts mid-line drops that piece, and a last
      // line still being written waits for its newline unless nothing writes the file any more.
      let skip = 0;
      if (start > 0 && fromParam === undefined) skip = bytes.indexOf(0x0a) + 1;
      const stat = await fs.stat(file).catch(() => null);
      const marks = await readMarks(file);
      const { lines, end } = stampLines(bytes.subarray(skip), start + skip, marks, {
        final: files.ended === true,
        since,
        fallbackTime: stat?.mtimeMs ?? Date.now(),
      });
      const body = lines.map((l) => (timestamps ? `${new Date(l.time).toISOString()} ${l.text}\n` : `${l.text}\n`)).join("");
      res
        .set("x-log-size", String(end))
        .set("x-log-from", String(start + skip))
        .type("text/plain; charset=utf-8")
        .send(body);
      return;
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
