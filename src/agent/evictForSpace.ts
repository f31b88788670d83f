/**
 * What a node deletes to make room under DiskPressure: only what can be rebuilt. Image trees no run
 * uses (and half-fetched ones), partial chunk files (`*.part`) a failed write left in the chunk
 * cache's temp directory (the write never reached its rename, and they would fill the disk for
 * good), and the older half of the chunk cache (every chunk comes back verified from the store).
 */
import { promises as fsp } from "node:fs";
import path from "node:path";
import { pruneChunkCache } from "../image/pruneChunkCache";
import type { ImageProvider } from "./imageProvider";

/**
 * @example await evictForSpace(imageProvider, ".hypha/node/cache") // { bytes: 1048576, what: "2 idle image tree(s), …" }
 */
export async function evictForSpace(images: ImageProvider, cacheDir: string): Promise<{ bytes: number; what: string }> {
  const trees = (await images.evictIdle?.()) ?? 0;
  const parts = await removePartialChunks(cacheDir);
  const size = (await pruneChunkCache(cacheDir, Number.MAX_SAFE_INTEGER)).bytesKept;
  const pruned = await pruneChunkCache(cacheDir, Math.floor(size / 2));
  return {
    bytes: parts.bytes + pruned.bytesRemoved,
    what: `${trees} idle image tree(s), ${parts.files} partial chunk file(s), ${pruned.removed} cached chunk(s)`,
  };
}

/**
 * @example await removePartialChunks(".hypha/node/cache") // { files: 3, bytes: 786432 }
 */
export async function removePartialChunks(cacheDir: string): Promise<{ files: number; bytes: number }> {
  const out = { files: 0, bytes: 0 };
  const walk = async (dir: string): Promise<void> => {
    for (const e of await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith(".part")) {
        const size = (await fsp.stat(p).catch(() => undefined))?.size ?? 0;
        if (
          await fsp.rm(p).then(
            () => true,
            () => false,
          )
        ) {
          out.files++;
          out.bytes += size;
        }
      }
    }
  };
  await walk(path.join(cacheDir, "tmp"));
  return out;
}
