/**
 * What a node can delete to make room that nothing needs: partial chunk files (`*.part`) a failed
 * write left in the chunk cache's temp directory. A full disk leaves them behind (the write that
 * failed never reached its rename), and they would otherwise fill the disk for good.
 */
import { promises as fsp } from "node:fs";
import path from "node:path";

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
        if (await fsp.rm(p).then(() => true, () => false)) {
          out.files++;
          out.bytes += size;
        }
      }
    }
  };
  await walk(path.join(cacheDir, "tmp"));
  return out;
}
