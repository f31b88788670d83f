/**
 * Continuous verification: compare a materialized tree on disk with its manifest and list every
 * drift (missing, extra, changed type, mode, owner, size, content or link target). The comparison
 * of one path is a pure function (compareEntry); verifyTree does the disk reads around it.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { chunkFile } from "./chunker";
import { cidForBytes } from "./cid";
import { type Entry, type EntryType, type ImageManifest, comparePaths } from "./manifest";

export type DriftKind = "missing" | "extra" | "type" | "mode" | "owner" | "size" | "content" | "target";

export interface Drift {
  path: string;
  kind: DriftKind;
  expected?: string | number;
  actual?: string | number;
}

/** What was found on disk at one path. `chunks` only for regular files when content is checked. */
export interface Observed extends Pick<Entry, "mode" | "uid" | "gid" | "size" | "target" | "chunks"> {
  type: "file" | "dir" | "symlink" | "other";
}

export interface VerifyOptions {
  /** Compare uid/gid too (default false: a non-root agent cannot chown). */
  checkOwner?: boolean;
  /** Re-hash file contents (default true). */
  checkContent?: boolean;
}

/**
 * Pure: the drifts of one path. `expectedFile` is the file entry a hardlink points at.
 * @example compareEntry(entry, { type: "file", mode: 0o644, uid: 0, gid: 0, size: 3 }) // [{ kind: "mode", ... }]
 */
export function compareEntry(e: Entry, o: Observed, opts: VerifyOptions = {}, expectedFile?: Entry): Drift[] {
  const want: EntryType | "file" = e.type === "hardlink" ? "file" : e.type;
  if (o.type !== want) return [{ path: e.path, kind: "type", expected: want, actual: o.type }];
  const out: Drift[] = [];
  if (e.type !== "symlink" && (o.mode & 0o7777) !== e.mode)
    out.push({ path: e.path, kind: "mode", expected: "0o" + e.mode.toString(8), actual: "0o" + (o.mode & 0o7777).toString(8) });
  if (opts.checkOwner && (o.uid !== e.uid || o.gid !== e.gid))
    out.push({ path: e.path, kind: "owner", expected: `${e.uid}:${e.gid}`, actual: `${o.uid}:${o.gid}` });
  if (e.type === "symlink" && o.target !== e.target) out.push({ path: e.path, kind: "target", expected: e.target, actual: o.target });
  const file = e.type === "hardlink" ? expectedFile : e.type === "file" ? e : undefined;
  if (file) {
    if (o.size !== file.size) out.push({ path: e.path, kind: "size", expected: file.size, actual: o.size });
    else if (o.chunks && !sameList(o.chunks, file.chunks!)) {
      const i = o.chunks.findIndex((c, j) => c !== file.chunks![j]);
      out.push({ path: e.path, kind: "content", expected: file.chunks![i] ?? "(end)", actual: o.chunks[i] ?? "(end)" });
    }
  }
  return out;
}

/**
 * Every drift between `dir` and `manifest`, sorted by path. An empty list means the tree is intact.
 * @example const drift = await verifyTree("/var/hypha/replicas/x/rootfs", manifest); if (drift.length) attestTampered(drift)
 */
export async function verifyTree(dir: string, manifest: ImageManifest, opts: VerifyOptions = {}): Promise<Drift[]> {
  const checkContent = opts.checkContent ?? true;
  const byPath = new Map(manifest.entries.map((e) => [e.path, e]));
  const drifts: Drift[] = [];
  const seen = new Set<string>();
  for (const e of manifest.entries) {
    seen.add(e.path);
    const o = await observe(path.join(dir, e.path), checkContent && (e.type === "file" || e.type === "hardlink"));
    if (!o) {
      drifts.push({ path: e.path, kind: "missing" });
      continue;
    }
    drifts.push(...compareEntry(e, o, opts, e.type === "hardlink" ? byPath.get(e.target!) : undefined));
  }
  // Extra paths: walk the real tree without following symlinks.
  const walk = async (rel: string): Promise<void> => {
    let names: string[];
    try {
      names = await fsp.readdir(rel === "" ? dir : path.join(dir, rel));
    } catch {
      return;
    }
    for (const n of names) {
      const p = rel === "" ? n : `${rel}/${n}`;
      if (!seen.has(p)) {
        drifts.push({ path: p, kind: "extra" });
        continue;
      }
      if (byPath.get(p)?.type === "dir") await walk(p);
    }
  };
  await walk("");
  return drifts.sort((a, b) => comparePaths(a.path, b.path));
}

async function observe(abs: string, hash: boolean): Promise<Observed | undefined> {
  let st;
  try {
    st = await fsp.lstat(abs);
  } catch {
    return undefined;
  }
  const base = { mode: st.mode, uid: st.uid, gid: st.gid, size: st.size };
  if (st.isDirectory()) return { type: "dir", ...base, size: 0 };
  if (st.isSymbolicLink()) return { type: "symlink", ...base, target: await fsp.readlink(abs) };
  if (!st.isFile()) return { type: "other", ...base };
  if (!hash) return { type: "file", ...base };
  const bytes = await fsp.readFile(abs);
  return { type: "file", ...base, size: bytes.length, chunks: chunkFile(bytes).map((c) => cidForBytes(c).toString()) };
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
