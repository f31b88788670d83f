/**
 * The watcher's one typed configuration object, its defaults, and the check that turns a partial
 * config from the CLI (flags, env, file) into a complete, validated one. Nothing below this reads
 * process.env.
 */
import { isAddress, isHex, type Address, type Hex } from "viem";
import { WatcherConfigError } from "./errors";

/** Where the contracts are. `startBlock` is where ingest begins (the deployment block, or 0). */
export interface WatcherAddresses {
  nodeRegistry: Address;
  deploymentRegistry: Address;
  startBlock?: bigint;
}

/** What `runWatcher` needs. Either `deploymentFile` (deployments/<chainId>.json) or `addresses`. */
export interface WatcherConfig {
  rpcUrl: string;
  deploymentFile?: string;
  addresses?: WatcherAddresses;
  /** Orchestrator keys (ORCHESTRATOR_ROLE); each is one sequential sender. */
  senderPrivateKeys: Hex[];
  /** LevelDB state, outbox and cursor live here (default .hypha/watcher), unless databaseUrl is set. */
  dataDir?: string;
  /**
   * A PostgreSQL URL (postgres://user@host:port/db): state, outbox and nonces live there instead,
   * and watchers sharing it elect one active watcher (the others wait as standbys).
   */
  databaseUrl?: string;
  /** How often a standby tries to take the lead (default 1000 ms). */
  standbyPollMs?: number;
  /**
   * With databaseUrl: how long the active watcher's lease lasts unless renewed (default 5000 ms).
   * It bounds a standby's wait when the active one is cut off (a dead process is seen at once), and
   * an active watcher that cannot renew within it stops itself first.
   */
  leaderLeaseMs?: number;
  /** How often ingest polls for new blocks (default 150 ms). */
  pollIntervalMs?: number;
  /** How often the full level-triggered reconcile runs, even without new events (default 2000 ms). */
  reconcileIntervalMs?: number;
  /** A node whose /healthz fails for this long is lost (default 5000 ms; 0 disables liveness probes). */
  nodeLostAfterMs?: number;
  /** How often nodes are probed (default 1000 ms). */
  probeIntervalMs?: number;
  /** How often active deployments' replica views are re-read from the chain (default 10000 ms; 0 disables). */
  chainRereadIntervalMs?: number;
  /** Status API port (0 = any free port); omitted = no status server. */
  statusPort?: number;
  statusHost?: string;
  /** Most placements per scheduleMany transaction (default 100, ~5M gas). */
  maxBatchSize?: number;
  /** Largest getLogs block range (default 2000); ingest starts at `initialBlockRange` (default 10) and sizes replies to ~2000 logs. */
  maxBlockRange?: number;
  initialBlockRange?: number;
  /** Recent block hashes kept for reorg detection (default 256). */
  reorgDepth?: number;
  /** /healthz turns 503 when the chain has not answered ingest for this long (default 10000 ms). */
  staleAfterMs?: number;
  /** After outbox records were lost, how long to wait for this watcher's pending transactions before sending (default 60000 ms). */
  outboxLostWaitMs?: number;
}

export type ResolvedWatcherConfig = Required<Omit<WatcherConfig, "deploymentFile" | "addresses" | "statusPort" | "databaseUrl">> & {
  addresses: WatcherAddresses;
  statusPort?: number;
  databaseUrl?: string;
};

export const WATCHER_DEFAULTS = {
  dataDir: ".hypha/watcher",
  pollIntervalMs: 150,
  reconcileIntervalMs: 2000,
  nodeLostAfterMs: 5000,
  probeIntervalMs: 1000,
  chainRereadIntervalMs: 10_000,
  statusHost: "127.0.0.1",
  maxBatchSize: 100,
  maxBlockRange: 2000,
  initialBlockRange: 10, // grows fast on a quiet chain; a busy history's first reply stays small
  reorgDepth: 256,
  outboxLostWaitMs: 60_000,
  staleAfterMs: 10_000,
  standbyPollMs: 1000,
  leaderLeaseMs: 5000,
} as const;

function nonNegativeInt(field: string, value: number | undefined, fallback: number, min = 0): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new WatcherConfigError(field, `must be an integer >= ${min}, got ${String(value)}`);
  return v;
}

/**
 * Check a watcher config and fill in defaults. `addresses` must already be known (the caller reads
 * `deploymentFile` at the edge). Throws WatcherConfigError naming the bad field.
 * @example resolveWatcherConfig({ rpcUrl: "http://127.0.0.1:8545", addresses, senderPrivateKeys: [devPrivateKey(1)] })
 */
export function resolveWatcherConfig(config: WatcherConfig & { addresses: WatcherAddresses }): ResolvedWatcherConfig {
  let url: URL;
  try {
    url = new URL(config.rpcUrl);
  } catch {
    throw new WatcherConfigError("rpcUrl", `not a URL: ${JSON.stringify(config.rpcUrl)}`);
  }
  if (!/^(https?|wss?):$/.test(url.protocol)) throw new WatcherConfigError("rpcUrl", `unsupported protocol ${url.protocol}`);
  const { addresses } = config;
  if (!isAddress(addresses.nodeRegistry, { strict: false })) throw new WatcherConfigError("addresses.nodeRegistry", "not an address");
  if (!isAddress(addresses.deploymentRegistry, { strict: false })) throw new WatcherConfigError("addresses.deploymentRegistry", "not an address");
  if (addresses.startBlock !== undefined && (typeof addresses.startBlock !== "bigint" || addresses.startBlock < 0n))
    throw new WatcherConfigError("addresses.startBlock", "must be a non-negative bigint");
  if (!Array.isArray(config.senderPrivateKeys) || config.senderPrivateKeys.length === 0)
    throw new WatcherConfigError("senderPrivateKeys", "at least one orchestrator key is needed");
  config.senderPrivateKeys.forEach((k, i) => {
    if (!isHex(k) || k.length !== 66) throw new WatcherConfigError(`senderPrivateKeys[${i}]`, "must be a 32-byte 0x-hex private key");
  });
  if (new Set(config.senderPrivateKeys.map((k) => k.toLowerCase())).size !== config.senderPrivateKeys.length)
    throw new WatcherConfigError("senderPrivateKeys", "the same key is listed twice (one key = one sequential sender)");
  const dataDir = config.dataDir ?? WATCHER_DEFAULTS.dataDir;
  if (typeof dataDir !== "string" || dataDir.length === 0) throw new WatcherConfigError("dataDir", "must be a non-empty path");
  if (config.databaseUrl !== undefined) {
    let db: URL | undefined;
    try {
      db = new URL(config.databaseUrl);
    } catch {
      db = undefined;
    }
    if (!db || !/^postgres(ql)?:$/.test(db.protocol)) throw new WatcherConfigError("databaseUrl", "must be a postgres:// or postgresql:// URL");
  }
  if (config.statusPort !== undefined) nonNegativeInt("statusPort", config.statusPort, 0);
  if (config.statusPort !== undefined && config.statusPort > 65535) throw new WatcherConfigError("statusPort", "must be <= 65535");
  const maxBlockRange = nonNegativeInt("maxBlockRange", config.maxBlockRange, WATCHER_DEFAULTS.maxBlockRange, 1);
  const initialBlockRange = nonNegativeInt("initialBlockRange", config.initialBlockRange, Math.min(WATCHER_DEFAULTS.initialBlockRange, maxBlockRange), 1);
  if (initialBlockRange > maxBlockRange) throw new WatcherConfigError("initialBlockRange", `must be <= maxBlockRange (${maxBlockRange})`);
  return {
    rpcUrl: config.rpcUrl,
    addresses: { ...addresses, startBlock: addresses.startBlock ?? 0n },
    senderPrivateKeys: [...config.senderPrivateKeys],
    dataDir,
    databaseUrl: config.databaseUrl,
    standbyPollMs: nonNegativeInt("standbyPollMs", config.standbyPollMs, WATCHER_DEFAULTS.standbyPollMs, 1),
    leaderLeaseMs: nonNegativeInt("leaderLeaseMs", config.leaderLeaseMs, WATCHER_DEFAULTS.leaderLeaseMs, 300),
    pollIntervalMs: nonNegativeInt("pollIntervalMs", config.pollIntervalMs, WATCHER_DEFAULTS.pollIntervalMs, 1),
    reconcileIntervalMs: nonNegativeInt("reconcileIntervalMs", config.reconcileIntervalMs, WATCHER_DEFAULTS.reconcileIntervalMs, 1),
    nodeLostAfterMs: nonNegativeInt("nodeLostAfterMs", config.nodeLostAfterMs, WATCHER_DEFAULTS.nodeLostAfterMs),
    probeIntervalMs: nonNegativeInt("probeIntervalMs", config.probeIntervalMs, WATCHER_DEFAULTS.probeIntervalMs, 1),
    chainRereadIntervalMs: nonNegativeInt("chainRereadIntervalMs", config.chainRereadIntervalMs, WATCHER_DEFAULTS.chainRereadIntervalMs),
    statusPort: config.statusPort,
    statusHost: config.statusHost ?? WATCHER_DEFAULTS.statusHost,
    maxBatchSize: nonNegativeInt("maxBatchSize", config.maxBatchSize, WATCHER_DEFAULTS.maxBatchSize, 1),
    maxBlockRange,
    initialBlockRange,
    reorgDepth: nonNegativeInt("reorgDepth", config.reorgDepth, WATCHER_DEFAULTS.reorgDepth, 1),
    staleAfterMs: nonNegativeInt("staleAfterMs", config.staleAfterMs, WATCHER_DEFAULTS.staleAfterMs, 1),
    outboxLostWaitMs: nonNegativeInt("outboxLostWaitMs", config.outboxLostWaitMs, WATCHER_DEFAULTS.outboxLostWaitMs),
  };
}
