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
  const walk = async (rel: string): Promise<void> => {
    const abs = rel === "" ? root : path.join(root, rel);
    const names = (await fsp.readdir(abs)).sort(comparePaths);
    for (const name of names) {
      const p = rel === "" ? name : `${rel}/${name}`;
      const full = path.join(root, p);
      const st = await fsp.lstat(full);
      if (st.isDirectory()) {
        builder.addDir(p, owner(st));
        await walk(p);
      } else if (st.isSymbolicLink()) {
        builder.addSymlink(p, owner(st), await fsp.readlink(full));
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? seenInodes.get(key) : undefined;
        if (first !== undefined) {
          builder.addHardlink(p, owner(st), first);
          continue;
        }
        if (st.nlink > 1) seenInodes.set(key, p);
        const content = st.size <= READ_WHOLE_FILE_LIMIT ? await fsp.readFile(full) : createReadStream(full, { highWaterMark: 1 << 20 });
        await builder.addFile(p, owner(st), content);
      } else {
        builder.skipped++;
      }
    }
  };
  const st = await fsp.stat(root).catch((cause) => {
    throw new ImageError(`import path "${root}": cannot read it`, { code: "BAD_INPUT", cause, path: root });
  });
  if (!st.isDirectory()) throw new ImageError(`import path "${root}": not a directory`, { code: "BAD_INPUT", path: root });
  await walk("");
}
