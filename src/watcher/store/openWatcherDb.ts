/**
 * Opens the watcher's LevelDB and checks every record before anything trusts it. The database is a
 * cache of the chain, so nothing in it is worth an exit: a directory LevelDB cannot read (a missing
 * CURRENT file, a truncated table) is moved aside, kept for a post-mortem, and replaced by an empty
 * one; an unreadable record or a cursor behind the state is reported so the caller rebuilds the
 * state from the chain. Every such case is logged as an error naming the directory, the key and
 * what happens next. Only a database another process holds open is fatal (two watchers must not
 * share one outbox).
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, rename } from "node:fs/promises";
import { WatcherError } from "../errors";
import { checkCursor, checkRecord, STATE_PREFIXES, type StateProblem } from "./checkState";
import { decodeRecord } from "./codec";
import type { KvStore } from "./kvStore";
import { LevelKv } from "./levelKv";
import type { Logger } from "../../logger";

export interface OpenedWatcherDb<K extends KvStore = KvStore> {
  db: K;
  /** State problems found (empty: the stored state can be used). */
  problems: StateProblem[];
  /** Outbox records that could not be read (their transactions are unknown now). */
  unreadableOutboxKeys: string[];
  /** Set when the old directory could not be read at all and was moved here. */
  movedAside?: string;
}

/**
 * @example const { db, problems } = await openWatcherDb(".hypha/watcher", logger)
 */
export async function openWatcherDb(dir: string, logger: Pick<Logger, "error">): Promise<OpenedWatcherDb<LevelKv>> {
  await mkdir(dir, { recursive: true });
  const files = await readdir(dir);
  // Without CURRENT, LevelDB would silently create an empty database AND delete the old tables.
  if (!files.includes("CURRENT") && files.some((f) => /\.(ldb|sst|log)$/.test(f) || f.startsWith("MANIFEST-"))) {
    const movedAside = await moveAside(dir, "its CURRENT file is missing", logger);
    return {
      db: await openLevel(dir),
      problems: [{ kind: "unreadable", key: "CURRENT", reason: "the LevelDB CURRENT file is missing" }],
      unreadableOutboxKeys: ["*"],
      movedAside,
    };
  }
  let db: LevelKv;
  try {
    db = await openLevel(dir);
  } catch (err) {
    if (isLocked(err)) throw new WatcherError(`dataDir ${dir}: cannot open the watcher database: another process (a watcher?) holds it open`, { cause: err });
    const movedAside = await moveAside(dir, `LevelDB cannot open it (${causeLine(err)})`, logger);
    return { db: await openLevel(dir), problems: [{ kind: "unreadable", reason: causeLine(err) }], unreadableOutboxKeys: ["*"], movedAside };
  }
  try {
    return { db, ...(await checkStoredState(db)) };
  } catch (err) {
    // A damaged table shows when it is read, not at open: the rest of the directory cannot be trusted.
    const lastKey = (err as { lastKey?: string }).lastKey;
    await db.close().catch(() => undefined);
    const where = lastKey === undefined ? "before the first key" : `after key ${JSON.stringify(lastKey)}`;
    const movedAside = await moveAside(dir, `LevelDB failed reading it ${where} (${causeLine(err)})`, logger);
    return {
      db: await openLevel(dir),
      problems: [{ kind: "unreadable", key: lastKey, reason: `reading ${where}: ${causeLine(err)}` }],
      unreadableOutboxKeys: ["*"],
      movedAside,
    };
  }
}

/**
 * Reads every record of a watcher store (either backend) and checks it (checkState.ts): the state
 * problems found and the outbox keys that cannot be read. A read error is thrown with `lastKey`,
 * the last key read before it.
 * @example const { problems } = await checkStoredState(kv)
 */
export async function checkStoredState(db: KvStore): Promise<{ problems: StateProblem[]; unreadableOutboxKeys: string[] }> {
  const problems: StateProblem[] = [];
  const unreadableOutboxKeys: string[] = [];
  const hashBlocks: bigint[] = [];
  const undoBlocks: bigint[] = [];
  let cursor: { number: bigint; hash: string } | undefined;
  let cursorRaw: string | undefined;
  const hashes = new Map<bigint, string>();
  let hasState = false;
  let lastKey: string | undefined;
  try {
    for await (const [key, value] of db.entries()) {
      lastKey = key;
      const problem = checkRecord(key, value);
      if (problem) {
        if (key.startsWith(STATE_PREFIXES.outbox)) unreadableOutboxKeys.push(key);
        else problems.push(problem);
        continue;
      }
      if (key.startsWith(STATE_PREFIXES.state)) hasState = true;
      else if (key.startsWith(STATE_PREFIXES.hash)) {
        const n = BigInt(key.slice(2));
        hashBlocks.push(n);
        hashes.set(n, value);
      } else if (key.startsWith(STATE_PREFIXES.undo)) undoBlocks.push(BigInt(key.slice(2)));
      else if (key === STATE_PREFIXES.cursor) cursorRaw = value;
    }
  } catch (err) {
    throw Object.assign(err as object, { lastKey });
  }
  if (cursorRaw !== undefined) cursor = decodeRecord(cursorRaw);
  if (problems.length === 0) {
    const c = checkCursor(cursor, hashBlocks, undoBlocks, cursor ? hashes.get(cursor.number) : undefined, hasState);
    if (c) problems.push(c);
  }
  return { problems, unreadableOutboxKeys };
}

function openLevel(dir: string): Promise<LevelKv> {
  return LevelKv.open(dir);
}

function isLocked(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code === "LEVEL_LOCKED" || e?.cause?.code === "LEVEL_LOCKED";
}

function causeLine(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } };
  return [e?.message, e?.cause?.message].filter(Boolean).join(": ") || String(err);
}

/** Renames the directory to `<dir>.broken-<time>` and says so; returns the new name. */
async function moveAside(dir: string, reason: string, logger: Pick<Logger, "error">): Promise<string> {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  let target = `${dir}.broken-${stamp}`;
  for (let i = 1; existsSync(target); i++) target = `${dir}.broken-${stamp}-${i}`;
  await rename(dir, target);
  await mkdir(dir, { recursive: true });
  logger.error(
    { dataDir: dir, movedTo: target, reason },
    `watcher database ${dir} is unreadable: ${reason}. Moved it to ${target} (delete it when done looking) and starting an empty one: the state is rebuilt from the chain, and no transaction is sent until this watcher's pending ones are mined`,
  );
  return target;
}
