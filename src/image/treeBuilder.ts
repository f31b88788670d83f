/**
 * Builds an image manifest from entries added in any order (a directory walk, tar members, OCI
 * layers applied one over another): file contents are chunked and put into a sink as they arrive,
 * later entries replace earlier ones, whiteouts remove subtrees, and missing parent directories are
 * filled in, so the result depends only on the final tree.
 */
import { chunkFile, chunkStream } from "./chunker";
import type { ChunkSink } from "./chunkStore";
import { cidForBytes } from "./cid";
import { ImageError } from "./imageError";
import { checkEntryPath, checkSymlinkTarget, parentPath } from "./entryPath";
import { type Entry, type ImageManifest, comparePaths } from "./manifest";

export interface Owner {
  mode: number;
  uid: number;
  gid: number;
}

export interface TreeStats {
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  /** Content bytes of files. */
  bytes: number;
  /** Chunk references (with repeats) and distinct chunks. */
  chunks: number;
  uniqueChunks: number;
  /** Entries skipped (devices, fifos, sockets). */
  skipped: number;
}

/** A sink that only hashes: for computing a root without storing anything. */
export const hashOnlySink: ChunkSink = {
  async has() {
    return false;
  },
  async put(bytes, codec) {
    return cidForBytes(bytes, codec);
  },
};

const DEFAULT_DIR_MODE = 0o755;

export class TreeBuilder {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly sink: ChunkSink) {}

  /** Chunk `content` into the sink and record a regular file. */
  async addFile(path: string, owner: Owner, content: Uint8Array | AsyncIterable<Uint8Array>): Promise<Entry> {
    checkEntryPath(path);
    const chunks: string[] = [];
    let size = 0;
    if (content instanceof Uint8Array) {
      // Hashing is synchronous; the writes of one file's chunks may overlap.
      const cids = await Promise.all(chunkFile(content).map((c) => this.sink.put(c)));
      for (const c of cids) chunks.push(c.toString());
      size = content.length;
    } else {
      for await (const c of chunkStream(content)) {
        chunks.push((await this.sink.put(c)).toString());
        size += c.length;
      }
    }
    return this.set({ path, type: "file", ...perm(owner), size, chunks });
  }

  addDir(path: string, owner: Owner): void {
    checkEntryPath(path);
    const old = this.entries.get(path);
    // A directory over a directory keeps the children (tar/overlay semantics).
    if (old?.type === "dir") this.entries.set(path, { ...old, ...perm(owner) });
    else this.set({ path, type: "dir", ...perm(owner), size: 0 });
  }

  addSymlink(path: string, owner: Owner, target: string): void {
    checkEntryPath(path);
    checkSymlinkTarget(path, target);
    this.set({ path, type: "symlink", ...perm(owner), size: Buffer.byteLength(target), target });
  }

  /** A hard link to an earlier regular file (links to links are resolved to the file). */
  addHardlink(path: string, owner: Owner, target: string): void {
    checkEntryPath(path);
    checkEntryPath(target);
    let t = this.entries.get(target);
    if (t?.type === "hardlink") t = this.entries.get(t.target!);
    if (!t || t.type !== "file")
      throw new ImageError(`hardlink "${path}" -> "${target}": target is not a regular file earlier in the image`, { code: "BAD_PATH", path });
    if (t.path === path) return; // a link to itself: nothing to do
    this.set({ path, type: "hardlink", ...perm(owner), size: 0, target: t.path });
  }

  /** Remove a path and everything below it (an OCI whiteout). */
  remove(path: string): void {
    this.entries.delete(path);
    this.removeChildren(path);
  }

  /** Remove everything below a directory, keeping it (an OCI opaque whiteout). */
  removeChildren(dir: string): void {
    const prefix = dir === "" ? "" : dir + "/";
    for (const p of [...this.entries.keys()]) if (p.startsWith(prefix) && p !== dir) this.entries.delete(p);
  }

  get(path: string): Entry | undefined {
    return this.entries.get(path);
  }

  /** The manifest: sorted, with implicit parents (0755, root-owned) and dangling hardlinks checked. */
  finish(): { manifest: ImageManifest; stats: TreeStats } {
    for (const p of [...this.entries.keys()]) {
      for (let q = parentPath(p); q !== ""; q = parentPath(q)) {
        const e = this.entries.get(q);
        if (e?.type === "dir") break;
        if (e) throw new ImageError(`path "${p}": its parent "${q}" is a ${e.type}, not a directory`, { code: "BAD_PATH", path: p });
        this.entries.set(q, { path: q, type: "dir", mode: DEFAULT_DIR_MODE, uid: 0, gid: 0, size: 0 });
      }
    }
    const entries = [...this.entries.values()].sort((a, b) => comparePaths(a.path, b.path));
    const stats: TreeStats = { files: 0, dirs: 0, symlinks: 0, hardlinks: 0, bytes: 0, chunks: 0, uniqueChunks: 0, skipped: this.skipped };
    const unique = new Set<string>();
    for (const e of entries) {
      if (e.type === "file") {
        stats.files++;
        stats.bytes += e.size;
        stats.chunks += e.chunks!.length;
        for (const c of e.chunks!) unique.add(c);
      } else if (e.type === "dir") stats.dirs++;
      else if (e.type === "symlink") stats.symlinks++;
      else {
        stats.hardlinks++;
        const t = this.entries.get(e.target!);
        if (!t || t.type !== "file") throw new ImageError(`hardlink "${e.path}": its target "${e.target}" was removed`, { code: "BAD_PATH", path: e.path });
      }
    }
    stats.uniqueChunks = unique.size;
    return { manifest: { version: 1, entries }, stats };
  }

  /** Count of skipped special files (set by importers). */
  skipped = 0;

  private set(e: Entry): Entry {
    const old = this.entries.get(e.path);
    if (old?.type === "dir") this.removeChildren(e.path); // a non-directory hides what was below
    this.entries.set(e.path, e);
    return e;
  }
}

function perm(o: Owner): { mode: number; uid: number; gid: number } {
  return { mode: o.mode & 0o7777, uid: o.uid, gid: o.gid };
}
