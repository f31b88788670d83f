/**
 * The long-running services behind the CLI: `hypha watcher` (the orchestrator), `hypha node run`
 * (a node agent), `hypha api` (REST API and dashboard) and `hypha store serve` (the blob/image store). Each reads its flags once into the
 * part's typed config (each part is imported only when its command runs, to keep `hypha` fast to start), runs until SIGINT/SIGTERM, and then closes cleanly. Services log
 * to stdout with pino: JSON lines for machines, human lines on a terminal (serviceLogger.ts);
 * secrets come from the environment, never from flags on a shared host.
 */
import { parseRuntimeChoice } from "../../agent/runtime/registry";
import path from "node:path";
import type { Command } from "commander";
import { isHex, type Hex } from "viem";
import { HyphaError } from "../../errors";
import { existingDeploymentFile, parseAddress, type CliContext } from "../context";
import { parseIntIn, parseMiB } from "../amounts";
import { registerStoreGc } from "./storeGc";
import { chooseLogFormat, LOG_FORMAT_HELP, serviceLogger } from "../serviceLogger";

/** Resolves when the process receives SIGINT or SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
}

function privateKeys(name: string, text: string | undefined): Hex[] {
  if (!text)
    throw new HyphaError(`${name}: not set`, {
      details: `give the key(s) as 0x + 64 hex digits in the ${name} environment variable (comma-separated for several)`,
    });
  const keys = text
    .split(",")
    .map((k) => k.trim())
    .filter(Boolean);
  for (const [i, k] of keys.entries()) {
    if (!isHex(k) || k.length !== 66) throw new HyphaError(`${name}[${i}]: must be 0x followed by 64 hex digits`);
  }
  return keys as Hex[];
}

function parseListen(text: string): { host: string; port: number } {
  let url: URL;
  try {
    url = new URL(/^https?:\/\//.test(text) ? text : `http://${text}`);
  } catch {
    throw new HyphaError(`--listen: expected host:port or a URL, got ${text}`);
  }
  return { host: url.hostname, port: parseIntIn("--listen port", url.port || "80", 0, 65535) };
}

/** Registers `hypha watcher`, `hypha node run`, `hypha api` and `hypha store serve`. */
export function registerServices(program: Command, ctx: CliContext): void {
  program
    .command("watcher")
    .description("run the orchestrator: follow the chain, place replicas, report lost nodes, settle finished jobs")
    .option("--log-format <format>", LOG_FORMAT_HELP)
    .option("--data-dir <dir>", "LevelDB state (cursor, observed state, outbox)", ".hypha/watcher")
    .option(
      "--db <url>",
      "keep state, outbox and nonces in PostgreSQL instead (postgres://…; or HYPHA_DATABASE_URL); watchers sharing it elect one active, the others stand by",
    )
    .option("--poll-interval-ms <ms>", "chain poll interval", "150")
    .option("--node-lost-after-ms <ms>", "a node not answering this long is lost", "5000")
    .option("--status-port <port>", "status API port (GET /healthz, /v1/status)", "7790")
    .option("--stale-after-ms <ms>", "/healthz answers 503 when the chain has not answered for this long", "10000")
    .addHelpText(
      "after",
      "\nOrchestrator keys come from HYPHA_ORCHESTRATOR_KEYS (comma-separated 0x keys).\n\nExample:\n  $ HYPHA_ORCHESTRATOR_KEYS=0x… hypha watcher --rpc http://127.0.0.1:8545",
    )
    .action(async (o: Record<string, string>) => {
      const logger = serviceLogger("watcher", chooseLogFormat(o.logFormat as string | undefined, ctx.env.HYPHA_LOG_FORMAT, process.stdout.isTTY === true));
      const { runWatcher } = require("../../watcher") as typeof import("../../watcher");
      const handle = await runWatcher(
        {
          rpcUrl: ctx.config.rpcUrl,
          deploymentFile: existingDeploymentFile(ctx.config.deploymentFile),
          senderPrivateKeys: privateKeys("HYPHA_ORCHESTRATOR_KEYS", ctx.env.HYPHA_ORCHESTRATOR_KEYS),
          dataDir: o.dataDir,
          databaseUrl: o.db ?? ctx.env.HYPHA_DATABASE_URL,
          pollIntervalMs: parseIntIn("--poll-interval-ms", o.pollIntervalMs, 10, 600_000),
          nodeLostAfterMs: parseIntIn("--node-lost-after-ms", o.nodeLostAfterMs, 0, 3_600_000),
          statusPort: parseIntIn("--status-port", o.statusPort, 0, 65535),
          staleAfterMs: parseIntIn("--stale-after-ms", o.staleAfterMs, 1, 3_600_000),
        },
        logger,
      );
      logger.info({ status: handle.statusUrl }, "watcher running");
      const lost = await Promise.race([untilSignal().then(() => undefined), handle.stopped]);
      await handle.close();
      if (lost) process.exitCode = 1; // lost the watcher lease: a supervisor restarts it as a standby
    });

  const node = program.commands.find((c) => c.name() === "node") ?? program.command("node").description("node operator actions");
  node
    .command("run")
    .description("run this node's agent: run what the chain assigned to it, verified, and attest on-chain")
    .option("--log-format <format>", LOG_FORMAT_HELP)
    .requiredOption("--node-id <id>", "this node's on-chain id")
    .option("--listen <host:port>", "HTTP API address (the endpoint registered on-chain)", "127.0.0.1:7801")
    .option("--data-dir <dir>", "images, replica files and logs", ".hypha/node")
    .option("--runtime <driver>", "auto (the strongest sandbox here: bwrap, else unshare), bwrap, unshare, or process (UNISOLATED, development only)", "auto")
    .option("--poll-interval-ms <ms>", "chain poll interval", "300")
    .option("--reverify-interval-ms <ms>", "re-verify running replicas' files every", "2000")
    .option("--restart-backoff-ms <ms>", "restart backoff base (Kubernetes: 10000)", "10000")
    .option("--cache-max <quantity>", "most the chunk cache may hold, e.g. 4Gi (0: no limit)", "4Gi")
    .option("--min-free <quantity>", "under this much free disk the node reports DiskPressure and takes no new replicas (default: 5% of the disk, at most 1Gi)")
    .option(
      "--lease-ms <ms>",
      "replicas stop when the chain has not confirmed them for this long; keep it under the watcher's --node-lost-after-ms minus its probe interval (0: fencing off)",
      "2500",
    )
    .addHelpText(
      "after",
      "\nThe agent key comes from HYPHA_AGENT_KEY (0x + 64 hex).\n\nExample:\n  $ HYPHA_AGENT_KEY=0x… hypha node run --node-id 1 --listen 127.0.0.1:7801 --store http://127.0.0.1:7700",
    )
    .action(async (o: Record<string, string | boolean>) => {
      const logger = serviceLogger(
        `agent-${o.nodeId}`,
        chooseLogFormat(o.logFormat as string | undefined, ctx.env.HYPHA_LOG_FORMAT, process.stdout.isTTY === true),
      );
      const [agentPrivateKey] = privateKeys("HYPHA_AGENT_KEY", ctx.env.HYPHA_AGENT_KEY);
      const { runAgent } = require("../../agent/runAgent") as typeof import("../../agent/runAgent");
      const handle = await runAgent(
        {
          rpcUrl: ctx.config.rpcUrl,
          deploymentFile: existingDeploymentFile(ctx.config.deploymentFile),
          nodeId: parseIntIn("--node-id", String(o.nodeId), 1, 2 ** 32 - 1),
          agentPrivateKey,
          listen: parseListen(String(o.listen)),
          storeMirrors: ctx.config.storeUrl.split(","),
          dataDir: path.resolve(String(o.dataDir)),
          runtime: parseRuntimeChoice(String(o.runtime), "--runtime"),
          pollIntervalMs: parseIntIn("--poll-interval-ms", String(o.pollIntervalMs), 10, 600_000),
          reverifyIntervalMs: parseIntIn("--reverify-interval-ms", String(o.reverifyIntervalMs), 10, 86_400_000),
          restartBackoffMs: parseIntIn("--restart-backoff-ms", String(o.restartBackoffMs), 1, 3_600_000),
          cacheMaxBytes: String(o.cacheMax) === "0" ? 0 : parseMiB("--cache-max", String(o.cacheMax)) * 2 ** 20,
          minFreeBytes: o.minFree === undefined ? undefined : parseMiB("--min-free", String(o.minFree)) * 2 ** 20,
          leaseMs: String(o.leaseMs) === "0" ? 0 : parseIntIn("--lease-ms", String(o.leaseMs), 200, 3_600_000),
        },
        logger,
      );
      logger.info({ url: handle.url }, "agent running");
      await untilSignal();
      await handle.close();
    });

  program
    .command("api")
    .description("serve the REST API and dashboard: deployments, nodes, audits, metrics, and relaying signed intents")
    .option("--log-format <format>", LOG_FORMAT_HELP)
    .option("--listen <host:port>", "HTTP address", "127.0.0.1:7780")
    .option("--relay-for <addresses>", "relay intents only for these deployers (comma-separated), or `any`", "any")
    .option("--relay-per-minute <n>", "most intents one client address may submit a minute", "60")
    .option("--db <url>", "keep the deployment index in PostgreSQL (postgres://…; or HYPHA_DATABASE_URL), shared by API replicas")
    .addHelpText(
      "after",
      "\nWith HYPHA_RELAYER_KEY (0x + 64 hex) set, POST /v1/intents relays deployers' signed intents and that key pays the gas;" +
        " without it the API is read-only.\n\nExample:\n  $ hypha api --rpc http://127.0.0.1:8545 --store http://127.0.0.1:7700 --listen 127.0.0.1:7780",
    )
    .action(async (o: Record<string, string>) => {
      const logger = serviceLogger("api", chooseLogFormat(o.logFormat as string | undefined, ctx.env.HYPHA_LOG_FORMAT, process.stdout.isTTY === true));
      const { startApiServer } = require("../../api/server") as typeof import("../../api/server");
      const { loadContracts, makePublicClient, makeWalletClient } = require("../../chain/clients") as typeof import("../../chain/clients");
      const { privateKeyToAccount } = require("viem/accounts") as typeof import("viem/accounts");
      const publicClient = makePublicClient(ctx.config.rpcUrl);
      const addresses = await loadContracts(publicClient, existingDeploymentFile(ctx.config.deploymentFile));
      const relayerKey = ctx.env.HYPHA_RELAYER_KEY ? privateKeys("HYPHA_RELAYER_KEY", ctx.env.HYPHA_RELAYER_KEY)[0] : undefined;
      const relayer = relayerKey ? privateKeyToAccount(relayerKey) : undefined;
      const listen = parseListen(o.listen);
      const relayFor = o.relayFor === "any" ? undefined : o.relayFor.split(",").map((a, i) => parseAddress(`--relay-for[${i}]`, a.trim()));
      if (relayer && !relayFor)
        logger.warn("relaying intents for any deployer: the relayer key pays the gas of every valid intent (limit it with --relay-for)");
      const api = await startApiServer({
        publicClient,
        addresses,
        storeUrl: ctx.config.storeUrl.split(",")[0],
        relayer: relayer ? makeWalletClient(ctx.config.rpcUrl, relayer) : undefined,
        relayFor,
        relayPerMinute: parseIntIn("--relay-per-minute", o.relayPerMinute, 1, 1_000_000),
        indexDatabaseUrl: o.db ?? ctx.env.HYPHA_DATABASE_URL,
        host: listen.host,
        port: listen.port,
        logger,
      });
      logger.info({ url: api.url, relayer: relayer?.address ?? null }, "api serving");
      await untilSignal();
      await api.close();
    });

  const store = program.command("store").description("the content-addressed blob and image store");
  store
    .command("serve")
    .description("serve chunks, blobs and the image catalog over HTTP")
    .option("--log-format <format>", LOG_FORMAT_HELP)
    .option("--dir <dir>", "store directory", ".hypha/store")
    .option("--host <host>", "listen address", "127.0.0.1")
    .option("--port <port>", "listen port", "7700")
    .option("--max <quantity>", "refuse uploads past this much stored, e.g. 50Gi (default: only the free-space reserve)")
    .option("--min-free <quantity>", "free space the store's disk always keeps, e.g. 2Gi (default: 5% of the disk, at most 1Gi)")
    .option("--max-upload <quantity>", "largest object accepted", "64Mi")
    .option("--max-in-flight <n>", "uploads streamed to disk at once (more wait; past 64 waiting, 503)", "4")
    .addHelpText(
      "after",
      "\nWith HYPHA_STORE_TOKEN set, changing a catalog name needs that token (hypha image push sends it from the same variable);" +
        " reads and content-addressed uploads stay open.\n\nExample:\n  $ hypha store serve --dir .hypha/store --port 7700",
    )
    .action(async (o: Record<string, string>) => {
      const logger = serviceLogger("store", chooseLogFormat(o.logFormat as string | undefined, ctx.env.HYPHA_LOG_FORMAT, process.stdout.isTTY === true));
      const { startStoreServer } = require("../../image") as typeof import("../../image");
      const token = ctx.env.HYPHA_STORE_TOKEN;
      if (token !== undefined && token.length < 16) throw new HyphaError("HYPHA_STORE_TOKEN: use at least 16 characters");
      const maxStoreBytes = o.max === undefined ? undefined : parseMiB("--max", o.max) * 2 ** 20;
      const minFreeBytes = o.minFree === undefined ? undefined : parseMiB("--min-free", o.minFree) * 2 ** 20;
      const server = await startStoreServer({
        dir: o.dir,
        host: o.host,
        port: parseIntIn("--port", o.port, 0, 65535),
        catalogToken: token,
        maxStoreBytes,
        minFreeBytes,
        maxUploadBytes: parseMiB("--max-upload", o.maxUpload) * 2 ** 20,
        maxInFlight: parseIntIn("--max-in-flight", o.maxInFlight, 1, 1024),
      });
      logger.info(
        {
          url: server.url,
          dir: o.dir,
          catalog: token ? "token required to change names" : "open",
          maxStoreBytes: maxStoreBytes ?? null,
          minFreeBytes: server.gate.minFreeBytes,
        },
        "store serving",
      );
      await untilSignal();
      await server.close();
    });
  registerStoreGc(store, ctx);
}
