/**
 * Hypha's REST API (express), for deployers whose wallet signs in a browser or a program, for
 * auditors and for dashboards. Everything it says is read from the chain (and the public spec
 * blobs) at request time; it keeps no state of its own.
 *
 *   GET  /healthz                          chain id, head block, token, store, relayer address; 503 with the reason
 *                                          when the chain or the store is not answering (probed in the
 *                                          background, so it never waits on them)
 *   GET  /v1/deployments[?deployer=0x..&phase=Running]   deployments, newest first (limit, default 100)
 *   GET  /v1/deployments/:id               one deployment (deploymentResource.ts: the shape `hypha get -o json` prints)
 *   GET  /v1/deployments/:id/events        every event of the deployment, in chain order
 *   GET  /v1/deployments/:id/audit         the audit report (as `hypha audit`)
 *   GET  /v1/nodes, /v1/nodes/:id          registered nodes
 *   POST /v1/intents                       relay a signed intent (needs a relayer key)
 *   POST /v1/prepare                       manifest -> canonical spec, specHash, typed data to sign
 *   GET  /v1/deployments/:id/stream        server-sent events of one deployment
 *   GET  /v1/eip712                        the EIP-712 domain and types (and the token's permit domain)
 *   GET  /openapi.json, /docs              OpenAPI 3.1 document and its rendered reference
 *   GET  /metrics                          Prometheus metrics
 *   GET  /                                 the web console (dist/console; else a small dashboard, also at /dashboard)
 *
 * Errors are JSON `{ "error": { "field"?, "message", "contractError"? } }`: 400 bad input (the
 * field named), 403 a deployer this relayer does not relay for, 404 unknown, 429 too many intents
 * from one client, 409 already submitted, 422 refused by the contract (its custom error's
 * name in contractError), 502 chain or store unreachable, 503 (with Retry-After) an intent sent
 * while the chain or the store is known to be down.
 */
import express, { type NextFunction, type Request, type Response } from "express";
import { isAddress, isHex, type Address, type Hex, type PublicClient, type WalletClient } from "viem";
import type { HyphaAddresses } from "../chain/addresses";
import type { ChainError } from "../chain/chainError";
import { readDeploymentEvents } from "../chain/deployments";
import { readNode } from "../chain/nodes";
import { probeAgent, readLastAttestations, readNodeResources, toNodeResource } from "./nodeResource";
import { domainFor } from "../chain/signing";
import { auditDeployment } from "../audit";
import { mountConsole } from "./consoleFiles";
import { DASHBOARD_HTML } from "./dashboard";
import { createDeploymentIndex } from "./deploymentIndex";
import { PostgresKv } from "../watcher/store/postgresKv";
import { MemoryKv } from "../watcher/store/memoryKv";
import { DEPLOYMENT_PHASES, type DeploymentPhase } from "../chain/deploymentOutcome";
import { deploymentsInPhase, phaseMemory } from "./phaseFilter";
import { readDeploymentResources, specNameLookup } from "./deploymentResource";
import { mountDeveloperRoutes } from "./developerRoutes";
import { InputError, type HyphaError } from "../errors";
import { parseIntentSubmission } from "./intentBody";
import { createApiMetrics } from "./metrics";
import { registerDomainMetrics } from "./domainMetrics";
import { httpStatusOf } from "./httpStatus";
import { createRelayer } from "./relayIntent";
import { DependencyMonitor } from "./dependencyHealth";
import { listenHttp } from "../http/listenHttp";

export interface ApiServerOptions {
  publicClient: PublicClient;
  addresses: HyphaAddresses;
  /** Store the spec blobs are read from (audit) and published to (POST /v1/intents). */
  storeUrl: string;
  /** Pays the gas of relayed intents; without it POST /v1/intents answers 503. */
  relayer?: WalletClient;
  /** Deployers whose intents the relayer submits (403 for others); absent: any deployer. */
  relayFor?: Address[];
  /** How often a deployment's event stream checks the head (ms; default 500). */
  streamPollMs?: number;
  /** Most POST /v1/intents per client address per minute (429 past it; default 60). */
  relayPerMinute?: number;
  host?: string;
  port?: number;
  logger?: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
  /** How often the chain and the store are probed, and how long a probe may take (default 2000 ms each). */
  healthIntervalMs?: number;
  /** A PostgreSQL URL: the deployment index lives there, shared by every API replica using it (default: in memory). */
  indexDatabaseUrl?: string;
  dependencyTimeoutMs?: number;
}

export interface ApiServer {
  url: string;
  close(): Promise<void>;
}

/** JSON with bigints as decimal strings. */
function sendJson(res: Response, status: number, body: unknown): void {
  res
    .status(status)
    .type("application/json")
    .send(JSON.stringify(body, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
}

function fail(res: Response, status: number, message: string, field?: string, contractError?: string): void {
  sendJson(res, status, { error: { ...(field ? { field } : {}), message, ...(contractError ? { contractError } : {}) } });
}

function deploymentIdParam(req: Request): Hex {
  const id = String(req.params.id);
  if (!isHex(id) || id.length !== 66) throw new InputError("id", `must be a deployment id, 0x followed by 64 hex digits, got ${JSON.stringify(id)}`);
  return id.toLowerCase() as Hex;
}

/** Express 5 passes rejected promises to the error handler; this one maps Hypha's errors. */
function errorHandler(logger: ApiServerOptions["logger"]) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    if (err instanceof SyntaxError || (err as { type?: string }).type === "entity.parse.failed") return fail(res, 400, "the body is not valid JSON", "body");
    if ((err as { type?: string }).type === "entity.too.large") return fail(res, 413, "the body is too large", "body");
    const status = httpStatusOf(err);
    if (err instanceof InputError) return fail(res, status, err.reason, err.field);
    if (status !== 502) return fail(res, status, (err as HyphaError).shortMessage);
    logger?.warn({ err: (err as Error).message?.split("\n")[0] }, "request failed");
    fail(res, 502, (err as Error).message?.split("\n")[0] ?? String(err));
  };
}

/**
 * Starts the API; resolves once it listens.
 * @example const api = await startApiServer({ publicClient, addresses, storeUrl, port: 7780 }); ... await api.close()
 */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { publicClient, addresses, storeUrl } = opts;
  const domain = domainFor(addresses);
  const metrics = createApiMetrics();
  const indexKv = opts.indexDatabaseUrl ? await PostgresKv.open(opts.indexDatabaseUrl, { table: "hypha_api_index", applicationName: "hypha-api" }) : undefined;
  const indexStore = indexKv ?? new MemoryKv();
  const index = createDeploymentIndex(publicClient, addresses, indexStore);
  const phases = phaseMemory(indexStore, addresses.deploymentRegistry);
  const specNames = specNameLookup(storeUrl);
  registerDomainMetrics(metrics.registry, {
    deployments: async () => readDeploymentResources(publicClient, addresses, (await index.list()).slice(-1000), specNames),
    nodes: () => readNodeResources(publicClient, addresses),
  });
  const relayer = opts.relayer ? createRelayer({ publicClient, walletClient: opts.relayer, addresses, domain, storeUrl }) : undefined;
  const app = express();
  app.disable("x-powered-by");
  app.use(metrics.middleware);

  mountConsole(app, DASHBOARD_HTML);

  // Never waits on a dependency: answers from the background probes (503 with the reason when one is down).
  const deps = await DependencyMonitor.start(
    publicClient,
    { rpcUrl: (publicClient.transport as { url?: string }).url ?? "(rpc)", storeUrl },
    { intervalMs: opts.healthIntervalMs, timeoutMs: opts.dependencyTimeoutMs },
  );
  app.get("/healthz", (_req, res) => {
    const h = deps.health();
    // What a client needs to talk to this deployment: the chain, the contracts, the payment token,
    // the store its blobs come from, and who relays.
    const facts = {
      chainId: addresses.chainId,
      block: deps.state.chain.block ?? null,
      contracts: { token: addresses.token, nodeRegistry: addresses.nodeRegistry, deploymentRegistry: addresses.deploymentRegistry },
      token: addresses.token,
      store: storeUrl,
      relayer: opts.relayer?.account?.address ?? null,
    };
    sendJson(res, h.ok ? 200 : 503, { ...h, ...facts });
  });

  mountDeveloperRoutes(app, { publicClient, addresses, storeUrl, index, streamPollMs: opts.streamPollMs });

  app.get("/metrics", async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get("/v1/deployments", async (req, res) => {
    const deployer = req.query.deployer;
    if (deployer !== undefined && (typeof deployer !== "string" || !isAddress(deployer)))
      throw new InputError("deployer", `must be an address, got ${JSON.stringify(deployer)}`);
    const limitText = req.query.limit ?? "100";
    const limit = Number(limitText);
    if (typeof limitText !== "string" || !/^\d+$/.test(limitText) || limit < 1 || limit > 1000)
      throw new InputError("limit", `must be an integer from 1 to 1000, got ${JSON.stringify(limitText)}`);
    const offsetText = req.query.offset ?? "0";
    if (typeof offsetText !== "string" || !/^\d+$/.test(offsetText))
      throw new InputError("offset", `must be an integer from 0, got ${JSON.stringify(offsetText)}`);
    const offset = Number(offsetText);
    const phase = req.query.phase;
    if (phase !== undefined && (typeof phase !== "string" || !(DEPLOYMENT_PHASES as readonly string[]).includes(phase) || phase === "Unknown"))
      throw new InputError("phase", `must be one of ${DEPLOYMENT_PHASES.filter((p) => p !== "Unknown").join(", ")}, got ${JSON.stringify(phase)}`);
    const all = await index.list(deployer as Address | undefined);
    const newestFirst = [...all].reverse();
    if (phase !== undefined) {
      const head = await publicClient.getBlockNumber({ cacheTime: 0 });
      const io = { publicClient, addresses, names: specNames, memory: phases, head };
      sendJson(res, 200, await deploymentsInPhase(io, newestFirst, phase as DeploymentPhase, { offset, limit }));
      return;
    }
    const newest = newestFirst.slice(offset, offset + limit);
    sendJson(res, 200, { total: all.length, deployments: await readDeploymentResources(publicClient, addresses, newest, specNames) });
  });

  app.get("/v1/deployments/:id", async (req, res) => {
    const id = deploymentIdParam(req);
    const entry = await index.get(id);
    if (!entry) return fail(res, 404, `unknown deployment ${id}: no IntentSubmitted event on this chain`, "id");
    sendJson(res, 200, (await readDeploymentResources(publicClient, addresses, [entry], specNames))[0]);
  });

  /** The addresses with the scan starting at the deployment's submission block (nothing of it is older). */
  const fromSubmission = async (id: Hex): Promise<HyphaAddresses | undefined> => {
    const entry = await index.get(id);
    return entry && { ...addresses, deployBlock: entry.blockNumber };
  };

  app.get("/v1/deployments/:id/events", async (req, res) => {
    const id = deploymentIdParam(req);
    const scoped = await fromSubmission(id);
    if (!scoped) return fail(res, 404, `unknown deployment ${id}: no IntentSubmitted event on this chain`, "id");
    sendJson(res, 200, { id, events: await readDeploymentEvents(publicClient, scoped, id) });
  });

  app.get("/v1/deployments/:id/audit", async (req, res) => {
    const id = deploymentIdParam(req);
    const scoped = await fromSubmission(id);
    if (!scoped) return fail(res, 404, `unknown deployment ${id}: no IntentSubmitted event on this chain`, "id");
    sendJson(res, 200, await auditDeployment(publicClient, scoped, id, { storeUrl }));
  });

  app.get("/v1/nodes", async (_req, res) => {
    sendJson(res, 200, { nodes: await readNodeResources(publicClient, addresses) });
  });

  app.get("/v1/nodes/:id", async (req, res) => {
    const text = String(req.params.id);
    if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 2 ** 32 - 1)
      throw new InputError("id", `must be a node id (1 or more), got ${JSON.stringify(text)}`);
    const n = await readNode(publicClient, addresses, Number(text));
    const [reachable, lastSeen] = await Promise.all([probeAgent(n.endpoint), readLastAttestations(publicClient, addresses, [n.id])]);
    sendJson(res, 200, toNodeResource(n, reachable, new Date(), lastSeen.get(n.id)));
  });

  // Each client address gets relayPerMinute submissions a minute (a token bucket): the relayer
  // pays the gas of every intent it submits.
  const perMinute = opts.relayPerMinute ?? 60;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const takeToken = (client: string): number => {
    const now = Date.now();
    const b = buckets.get(client) ?? { tokens: perMinute, at: now };
    b.tokens = Math.min(perMinute, b.tokens + ((now - b.at) / 60_000) * perMinute);
    b.at = now;
    buckets.set(client, b);
    if (buckets.size > 10_000) for (const [k, v] of buckets) if (v.tokens >= perMinute) buckets.delete(k);
    if (b.tokens < 1) return Math.ceil(((1 - b.tokens) * 60) / perMinute); // seconds until the next one
    b.tokens -= 1;
    return 0;
  };

  app.post("/v1/intents", express.json({ limit: "1mb" }), async (req, res) => {
    if (!relayer)
      return fail(
        res,
        503,
        "this API has no relayer key (start it with HYPHA_RELAYER_KEY) and cannot submit intents; submit with `hypha apply` or your own transaction",
      );
    const h = deps.health();
    if (!h.ok) {
      // A request would only hang on the dependency: say so now, and when to try again.
      metrics.intents.inc({ outcome: "error" });
      res.set("retry-after", "5");
      return fail(res, 503, `cannot relay intents now: ${h.reason}`);
    }
    const wait = takeToken(req.ip ?? "unknown");
    if (wait > 0) {
      metrics.intents.inc({ outcome: "refused" });
      res.set("retry-after", String(wait));
      return fail(res, 429, `too many intents from this address: at most ${perMinute} a minute; retry in ${wait} s`);
    }
    let submission;
    try {
      submission = parseIntentSubmission(req.body);
      const deployer = submission.intent.deployer.toLowerCase();
      if (opts.relayFor && !opts.relayFor.some((a) => a.toLowerCase() === deployer)) {
        metrics.intents.inc({ outcome: "refused" });
        return fail(
          res,
          403,
          `this relayer submits intents only for ${opts.relayFor.join(", ")}; submit ${submission.intent.deployer}'s intent yourself (hypha apply) or through another relayer`,
          "intent.deployer",
        );
      }
      const result = await relayer.relay(submission);
      metrics.intents.inc({ outcome: "submitted" });
      opts.logger?.info({ id: result.id, tx: result.transactionHash }, "intent relayed");
      sendJson(res, 201, result);
    } catch (err) {
      const status = httpStatusOf(err);
      metrics.intents.inc({ outcome: status === 502 ? "error" : "refused" });
      if (status === 502) throw err;
      if (err instanceof InputError) return fail(res, status, err.reason, err.field);
      fail(res, status, (err as ChainError).shortMessage, undefined, (err as ChainError).errorName);
    }
  });

  app.use((req, res) => fail(res, 404, `no such endpoint: ${req.method} ${req.path}`));
  app.use(errorHandler(opts.logger));

  const http = await listenHttp(app, opts.host ?? "127.0.0.1", opts.port ?? 0);
  return {
    url: http.url,
    close: async () => {
      deps.stop();
      await http.close();
      await indexKv?.close();
    },
  };
}
