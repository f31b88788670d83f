/**
 * What the watcher's database must look like to be trusted, as pure checks over its keys and
 * values: every record decodes, and the cursor is the newest block the state remembers (no block
 * hash and no undo log after it: if there is one, the cursor was moved back behind the state, and
 * replaying from it would apply those blocks' events twice, e.g. reserve capacity twice). The
 * database is a cache of the chain; a failed check means "rebuild from the chain", never "exit".
 */
import { decodeRecord } from "./codec";

/** Why the stored state cannot be used as it is. `key` names the record to blame, when one is. */
export interface StateProblem {
  kind: "unreadable" | "inconsistent";
  key?: string;
  reason: string;
}

/** Key prefixes (as stateStore.ts and outbox.ts write them). */
export const STATE_PREFIXES = { state: "s:", undo: "u:", hash: "h:", cursor: "m:cursor", outbox: "o:" } as const;

const HASH_RE = /^0x[0-9a-fA-F]{64}$/;

/**
 * Whether one stored record can be read back. Undefined when it can.
 * @example checkRecord("s:node:0000000001", "garbage{not json") // { kind: "unreadable", key: "s:node:0000000001", reason: "not valid JSON: …" }
 */
export function checkRecord(key: string, value: string): StateProblem | undefined {
  const bad = (reason: string): StateProblem => ({ kind: "unreadable", key, reason });
  const parse = (): unknown => {
    try {
      return decodeRecord(value);
    } catch (err) {
      throw bad(`not valid JSON: ${(err as Error).message}`);
    }
  };
  try {
    if (key.startsWith(STATE_PREFIXES.state)) {
      const v = parse();
      if (v === null || (typeof v !== "object" && typeof v !== "boolean")) return bad("expected a record (an object)");
    } else if (key.startsWith(STATE_PREFIXES.undo)) {
      if (!/^\d{16}$/.test(key.slice(2))) return bad("an undo log key must end in a 16-digit block number");
      const v = parse();
      if (!Array.isArray(v) || !v.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === "string" && (e[1] === null || typeof e[1] === "string")))
        return bad("expected an undo log: a list of [key, previous value or null]");
    } else if (key.startsWith(STATE_PREFIXES.hash)) {
      if (!/^\d{16}$/.test(key.slice(2))) return bad("a block hash key must end in a 16-digit block number");
      if (!HASH_RE.test(value)) return bad("expected a block hash (0x and 64 hex digits)");
    } else if (key === STATE_PREFIXES.cursor) {
      const v = parse() as { number?: unknown; hash?: unknown } | null;
      if (!v || typeof v.number !== "bigint" || typeof v.hash !== "string" || !HASH_RE.test(v.hash)) return bad("expected a cursor {number, hash}");
    } else if (key.startsWith("o:op:") || key.startsWith("o:tx:")) {
      const v = parse();
      if (!v || typeof v !== "object") return bad("expected an outbox record (an object)");
    } else if (key.startsWith("o:nonce:")) {
      if (!/^\d+$/.test(value)) return bad("expected a nonce (a whole number)");
    }
  } catch (problem) {
    return problem as StateProblem;
  }
  return undefined;
}

/**
 * Whether the cursor agrees with the rest of the state. `hashBlocks` and `undoBlocks` are the
 * block numbers that have a stored hash / undo log; `cursorHash` the stored hash of the cursor's
 * block; `hasState` whether any state record exists.
 * @example checkCursor({ number: 10n, hash: h }, [10n, 12n], [], h, true) // inconsistent: block 12 is after the cursor
 */
export function checkCursor(
  cursor: { number: bigint; hash: string } | undefined,
  hashBlocks: bigint[],
  undoBlocks: bigint[],
  cursorHash: string | undefined,
  hasState: boolean,
): StateProblem | undefined {
  if (!cursor) {
    if (hasState || hashBlocks.length || undoBlocks.length)
      return { kind: "inconsistent", key: STATE_PREFIXES.cursor, reason: "state records exist but the cursor is missing" };
    return undefined;
  }
  const after = [...hashBlocks, ...undoBlocks].filter((n) => n > cursor.number).sort((a, b) => (a < b ? -1 : 1));
  if (after.length)
    return {
      kind: "inconsistent",
      key: STATE_PREFIXES.cursor,
      reason: `the cursor (block ${cursor.number}) is behind the state, which already holds block ${after[after.length - 1]}: replaying from the cursor would apply those blocks twice`,
    };
  if (cursorHash !== undefined && cursorHash.toLowerCase() !== cursor.hash.toLowerCase())
    return {
      kind: "inconsistent",
      key: STATE_PREFIXES.cursor,
      reason: `the cursor's hash ${cursor.hash} differs from the stored hash of block ${cursor.number} (${cursorHash})`,
    };
  return undefined;
}
