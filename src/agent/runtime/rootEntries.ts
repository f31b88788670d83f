/**
 * The top-level entries of an image tree, which every sandbox launch binds one by one (bwrapArgs.ts,
 * unshareArgs.ts): read once per tree and reused while the tree's directory is unchanged, so a
 * replica of an image already launched here costs one stat instead of a readdir and a stat per
 * entry. A listing is reused only when the directory had not changed for a while when it was read
 * (a lazily fetched tree may still be gaining top-level files, and a change within the same
 * timestamp tick as the listing would not show in its mtime).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { RootEntry } from "./bwrapArgs";

/** How long a directory must have been unchanged before its listing is cached (ms). */
export const SETTLED_MS = 1000;

/** Read the top-level entries of an image rootfs. */
export async function readRootEntries(rootfs: string): Promise<RootEntry[]> {
  const names = await fs.readdir(rootfs);
  const out: RootEntry[] = [];
  for (const name of names) {
    const st = await fs.lstat(path.join(rootfs, name));
    if (st.isSymbolicLink()) out.push({ name, type: "symlink", target: await fs.readlink(path.join(rootfs, name)) });
    else if (st.isDirectory()) out.push({ name, type: "dir" });
    else if (st.isFile()) out.push({ name, type: "file" });
  }
  return out;
}

/**
 * A cache of `readRootEntries` keyed by tree path and validated by the directory's mtime.
 * @example const entries = createRootEntriesCache(); await entries.read(request.image.rootfs)
 */
export function createRootEntriesCache(opts: { maxTrees?: number; now?: () => number } = {}): { read(rootfs: string): Promise<RootEntry[]> } {
  const maxTrees = opts.maxTrees ?? 64;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { mtimeMs: number; entries: RootEntry[] }>();
  return {
    async read(rootfs) {
      // Stat first: a change after it gives another mtime, so the listing is never newer than the key.
      const { mtimeMs } = await fs.stat(rootfs);
      const hit = cache.get(rootfs);
      if (hit && hit.mtimeMs === mtimeMs) return hit.entries;
      const entries = await readRootEntries(rootfs);
      if (now() - mtimeMs >= SETTLED_MS) {
        if (cache.size >= maxTrees) cache.delete(cache.keys().next().value!);
        cache.set(rootfs, { mtimeMs, entries });
      } else cache.delete(rootfs);
      return entries;
    },
  };
}
