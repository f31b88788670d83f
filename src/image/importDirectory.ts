/**
 * Import a directory tree into a TreeBuilder: lstat walk (symlinks are recorded, never followed),
 * hard links detected by inode, special files skipped, owners normalized to root unless asked to
 * keep them (so the same tree gives the same root on any machine).
 */
import { createReadStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import { ImageError } from "./imageError";
import { comparePaths } from "./manifest";
import type { TreeBuilder } from "./treeBuilder";

export interface DirectoryImportOptions {
  /** Keep the files' uid/gid (default false: everything owned by 0:0). */
  preserveOwner?: boolean;
}

const READ_WHOLE_FILE_LIMIT = 8 * 1024 * 1024;
const READ_AHEAD = 8;
const MAX_PENDING_ADDS = 16;

/**
 * @example await addDirectory(builder, "./rootfs")
 */
export async function addDirectory(builder: TreeBuilder, root: string, opts: DirectoryImportOptions = {}): Promise<void> {
  const seenInodes = new Map<string, string>(); // "dev:ino" -> first entry path
  const owner = (st: { mode: number; uid: number; gid: number }) => ({
    mode: st.mode,
    uid: opts.preserveOwner ? st.uid : 0,
    gid: opts.preserveOwner ? st.gid : 0,
  });
  // Pass 1: lstat the whole tree in sorted order. Pass 2: add entries in that order, reading a few
  // files ahead so disk reads overlap with chunking and hashing.
  type Item = { p: string; full: string; st: import("node:fs").Stats };
  const items: Item[] = [];
  const walk = async (rel: string): Promise<void> => {
    const abs = rel === "" ? root : path.join(root, rel);
    const names = (await fsp.readdir(abs)).sort(comparePaths);
    for (const name of names) {
      const p = rel === "" ? name : `${rel}/${name}`;
      const full = path.join(root, p);
      const st = await fsp.lstat(full);
      items.push({ p, full, st });
      if (st.isDirectory()) await walk(p);
    }
  };
  const st = await fsp.stat(root).catch((cause) => {
    throw new ImageError(`import path "${root}": cannot read it`, { code: "BAD_INPUT", cause, path: root });
  });
  if (!st.isDirectory()) throw new ImageError(`import path "${root}": not a directory`, { code: "BAD_INPUT", path: root });
  await walk("");

  const reads = new Map<number, Promise<Buffer>>();
  const wholeRead = (i: number) => {
    const it = items[i];
    if (!it || !it.st.isFile() || it.st.size > READ_WHOLE_FILE_LIMIT || reads.has(i)) return;
    const r = fsp.readFile(it.full);
    r.catch(() => undefined);
    reads.set(i, r);
  };
  // Up to MAX_PENDING_ADDS files are chunked and written at once (their store writes overlap).
  const adding: Promise<unknown>[] = [];
  for (let i = 0; i < items.length; i++) {
    const { p, full, st: s } = items[i];
    for (let j = i; j < i + READ_AHEAD; j++) wholeRead(j);
    if (s.isDirectory()) builder.addDir(p, owner(s));
    else if (s.isSymbolicLink()) builder.addSymlink(p, owner(s), await fsp.readlink(full));
    else if (s.isFile()) {
      const key = `${s.dev}:${s.ino}`;
      const first = s.nlink > 1 ? seenInodes.get(key) : undefined;
      if (first !== undefined) {
        reads.delete(i);
        await Promise.all(adding.splice(0)); // the link's target must be recorded first
        builder.addHardlink(p, owner(s), first);
        continue;
      }
      if (s.nlink > 1) seenInodes.set(key, p);
      const pending = reads.get(i);
      reads.delete(i);
      const content = pending ? await pending : createReadStream(full, { highWaterMark: 1 << 20 });
      const add = builder.addFile(p, owner(s), content);
      add.catch(() => undefined);
      adding.push(add);
      if (adding.length >= MAX_PENDING_ADDS) await adding.shift();
    } else builder.skipped++;
  }
  await Promise.all(adding);
}
