/**
 * Opens the watcher's store from its configuration: the LevelDB directory (openWatcherDb.ts, the
 * default) or, given a databaseUrl, the shared PostgreSQL table. With PostgreSQL this is also the
 * leader election: the store is handed over only once this process holds the watcher's lease for
 * these contracts (a row with an expiry, renewed on the store's own connection, as Chainlink's
 * node's lease lock), so of several watchers sharing the database one is active and the others
 * wait here as standbys. When the active one dies a standby takes over at its next poll; when it
 * is cut off, once its lease has expired (it stops itself before that). The new active watcher
 * takes over the state, the outbox and the nonces where the old one left them.
 */
import type { Address } from "viem";
import { checkStoredState, openWatcherDb, type OpenedWatcherDb } from "./openWatcherDb";
import { PostgresKv } from "./postgresKv";
import type { Logger } from "../../logger";

/** Table the watcher keeps its keys in. */
export const WATCHER_TABLE = "hypha_watcher";

/**
 * @example const { db } = await openWatcherStore({ dataDir: ".hypha/watcher" }, deploymentRegistry, logger)
 */
export async function openWatcherStore(
  cfg: { dataDir: string; databaseUrl?: string; standbyPollMs: number; leaderLeaseMs: number },
  deploymentRegistry: Address,
  logger: Pick<Logger, "info" | "error">,
  signal?: AbortSignal,
): Promise<OpenedWatcherDb & { waitedMs: number }> {
  if (cfg.databaseUrl === undefined) return { ...(await openWatcherDb(cfg.dataDir, logger)), waitedMs: 0 };
  const db = await PostgresKv.open(cfg.databaseUrl, { table: WATCHER_TABLE, applicationName: "hypha-watcher" });
  const lockName = `hypha-watcher:${deploymentRegistry.toLowerCase()}`;
  const started = Date.now();
  const held = await db.acquireLease(lockName, {
    leaseMs: cfg.leaderLeaseMs,
    pollMs: cfg.standbyPollMs,
    signal,
    onWait: () => logger.info({ database: db.location, lock: lockName }, "another watcher is active: standing by"),
  });
  if (!held) {
    await db.close();
    throw new Error("stopped while standing by");
  }
  const waitedMs = Date.now() - started;
  logger.info({ database: db.location, lock: lockName, waitedMs }, "holding the watcher lease: active");
  return { db, ...(await checkStoredState(db)), waitedMs };
}
