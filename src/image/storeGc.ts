/**
 * Garbage collection of a store directory: keeps every object reachable from the catalog's names
 * and from the roots and blobs the caller says are in use (the images of active deployments and
 * the spec blobs of every deployment, read from the chain by the CLI), and removes the rest. An
 * object younger than `minAgeMs` is always kept: an upload in progress (an image pushed chunk by
 * chunk before its name is set, a spec published just before its intent) is not garbage yet.
 * `dryRun` reports what would go and removes nothing; run it first.
 */
import { promises as fsp } from "node:fs";
import type { Catalog } from "./catalog";
import type { ChunkStore } from "./chunkStore";
import { JSON_CODEC, parseCid } from "./cid";
import { ImageError } from "./imageError";
import { decodeManifest } from "./manifest";

export interface StoredObject {
  cid: string;
  size: number;
  mtimeMs: number;
}

export interface GcPlan {
  /** Objects to remove, sorted by CID. */
  remove: StoredObject[];
  removeBytes: number;
  keep: number;
  keepBytes: number;
  /** Unreachable objects kept only because they are younger than the grace period. */
  young: number;
}

export interface GcReport extends GcPlan {
  dryRun: boolean;
  /** Roots (catalog and in use) whose manifest is not in this store: nothing of them can be walked. */
  missingRoots: string[];
  /** Roots whose manifest is here but unreadable (tampered or invalid); kept, but named. */
  badRoots: string[];
  removed: number;
}

/**
 * The pure decision: what goes, given every stored object, the set to keep, and the time.
 * @example planGc([{ cid: "bafk…", size: 10, mtimeMs: 0 }], new Set(), Date.now(), 3_600_000).remove.length // 1
 */
export function planGc(objects: StoredObject[], reachable: ReadonlySet<string>, nowMs: number, minAgeMs: number): GcPlan {
  const plan: GcPlan = { remove: [], removeBytes: 0, keep: 0, keepBytes: 0, young: 0 };
  for (const o of [...objects].sort((a, b) => (a.cid < b.cid ? -1 : a.cid > b.cid ? 1 : 0))) {
    const young = nowMs - o.mtimeMs < minAgeMs;
    if (reachable.has(o.cid) || young) {
      plan.keep++;
      plan.keepBytes += o.size;
      if (!reachable.has(o.cid)) plan.young++;
    } else {
      plan.remove.push(o);
      plan.removeBytes += o.size;
    }
  }
  return plan;
}

/**
 * Walks the store: every root's manifest and its chunks, plus the given blobs.
 * @example const { reachable } = await reachableObjects(store, [root], [specCid])
 */
export async function reachableObjects(
  store: ChunkStore,
  roots: string[],
  blobs: string[],
): Promise<{ reachable: Set<string>; missingRoots: string[]; badRoots: string[] }> {
  const reachable = new Set<string>();
  const missingRoots: string[] = [];
  const badRoots: string[] = [];
  for (const b of blobs) reachable.add(parseCid(b, "blob").toString());
  for (const r of new Set(roots.map((x) => parseCid(x, "root").toString()))) {
    reachable.add(r);
    if (parseCid(r).code !== JSON_CODEC) continue;
    const bytes = await store.getVerified(r).catch(() => undefined);
    if (bytes === undefined) {
      missingRoots.push(r);
      continue;
    }
    try {
      for (const e of decodeManifest(bytes).entries) for (const c of e.chunks ?? []) reachable.add(c);
    } catch {
      badRoots.push(r);
    }
  }
  return { reachable, missingRoots, badRoots };
}

/**
 * Collects a store's garbage (or, with dryRun, only says what it would collect).
 * @example const r = await collectGarbage(store, catalog, { roots: [], blobs: [], dryRun: true })
 */
export async function collectGarbage(
  store: ChunkStore,
  catalog: Catalog,
  opts: { roots: string[]; blobs: string[]; dryRun: boolean; minAgeMs?: number; nowMs?: number },
): Promise<GcReport> {
  const minAgeMs = opts.minAgeMs ?? 3_600_000;
  if (!Number.isFinite(minAgeMs) || minAgeMs < 0) throw new ImageError(`minAge: expected a duration of 0 or more, got ${minAgeMs}`, { code: "BAD_INPUT" });
  const named = Object.values(await catalog.list());
  const { reachable, missingRoots, badRoots } = await reachableObjects(store, [...named, ...opts.roots], opts.blobs);
  const objects: StoredObject[] = [];
  for (const cid of await store.list()) {
    const st = await fsp.stat(store.pathFor(cid)).catch(() => undefined);
    if (st) objects.push({ cid, size: st.size, mtimeMs: st.mtimeMs });
  }
  const plan = planGc(objects, reachable, opts.nowMs ?? Date.now(), minAgeMs);
  let removed = 0;
  if (!opts.dryRun) {
    for (const o of plan.remove) {
      await store.delete(o.cid);
      removed++;
    }
  }
  return { ...plan, dryRun: opts.dryRun, missingRoots, badRoots, removed };
}
