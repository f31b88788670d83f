/**
 * Keeps a node's chunk cache under a size: the objects written longest ago are removed first until
 * the cache fits. Safe at any time: the cache only saves fetching again (a materialized image tree
 * does not read from it), and every object comes back verified from the store when needed.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";

export interface PruneResult {
  removed: number;
  bytesRemoved: number;
  bytesKept: number;
}

/**
 * Remove the oldest objects of the cache at `dir` (a ChunkStore directory) until it holds at most
 * `maxBytes`.
 * @example await pruneChunkCache(".hypha/nodes/1/cache", 4 * 2 ** 30) // { removed: 120, ... }
 */
export async function pruneChunkCache(dir: string, maxBytes: number): Promise<PruneResult> {
  const objects = path.join(dir, "objects");
  const files: { file: string; size: number; mtimeMs: number }[] = [];
  const shards = await fsp.readdir(objects).catch(() => [] as string[]);
  for (const shard of shards) {
    for (const name of await fsp.readdir(path.join(objects, shard)).catch(() => [] as string[])) {
      const file = path.join(objects, shard, name);
      const st = await fsp.stat(file).catch(() => null);
      if (st?.isFile()) files.push({ file, size: st.size, mtimeMs: st.mtimeMs });
    }
  }
  let total = files.reduce((n, f) => n + f.size, 0);
  const result: PruneResult = { removed: 0, bytesRemoved: 0, bytesKept: total };
  if (total <= maxBytes) return result;
  files.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.file < b.file ? -1 : 1));
  for (const f of files) {
    if (total <= maxBytes) break;
    const gone = await fsp.rm(f.file).then(
      () => true,
      () => false,
    );
    if (!gone) continue;
    total -= f.size;
    result.removed++;
    result.bytesRemoved += f.size;
  }
  result.bytesKept = total;
  return result;
}
