/**
 * The zero-image manifest: every path of an image with its type, mode, owner, size, link target and,
 * for regular files, the CIDs of its content-defined chunks. Encoded as RFC 8785 (JCS) canonical
 * JSON, so the same tree always gives the same bytes and the same root CID, and validated strictly
 * on decode (a manifest comes from untrusted mirrors and deployers).
 */
import canonicalize from "canonicalize";
import { type CID, JSON_CODEC, RAW_CODEC, cidForBytes, parseCid } from "./cid";
import { ImageError } from "./imageError";
import { checkEntryPath, checkSymlinkTarget, parentPath } from "./entryPath";

export type EntryType = "file" | "dir" | "symlink" | "hardlink";

/** One path of the image. `path` is relative, "/"-separated, without "." or ".." components. */
export interface Entry {
  path: string;
  type: EntryType;
  /** Permission bits incl. setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Content size in bytes (0 for dirs, symlink target length for symlinks, 0 for hardlinks). */
  size: number;
  /** Symlink target (any string, interpreted inside the image), or the image path a hardlink points at. */
  target?: string;
  /** Chunk CIDs (raw, sha256) of a regular file, in order. */
  chunks?: string[];
}

/** An image: a sorted list of entries. No timestamps: they are normalized away. */
export interface ImageManifest {
  version: 1;
  /** Sorted by path (UTF-8 byte order), unique; every parent directory is listed. */
  entries: Entry[];
}

/** Default upper bound on an encoded manifest (and on what materialize accepts): 64 MiB. */
export const DEFAULT_MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/** Compare paths by UTF-8 bytes (what JCS and every machine agree on). */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * Deterministic bytes of a manifest (validates it first; entries are sorted here).
 * @example const bytes = encodeManifest({ version: 1, entries }); manifestRoot(bytes)
 */
export function encodeManifest(m: ImageManifest, opts: { maxBytes?: number } = {}): Uint8Array {
  const entries = [...m.entries].sort((a, b) => comparePaths(a.path, b.path)).map(normalizeEntry);
  const normalized: ImageManifest = { version: 1, entries };
  validateManifest(normalized);
  const text = canonicalize(normalized);
  if (text === undefined) throw new ImageError("manifest: cannot be canonicalized", { code: "BAD_MANIFEST" });
  const bytes = new Uint8Array(Buffer.from(text, "utf8"));
  const max = opts.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
  if (bytes.length > max)
    throw new ImageError(`manifest: ${bytes.length} bytes is over the limit of ${max} bytes`, { code: "TOO_LARGE", details: `${entries.length} entries` });
  return bytes;
}

/**
 * Root CID of encoded manifest bytes: CIDv1(json, sha256).
 * @example manifestRoot(encodeManifest(m)).toString() // "bagaaiera..."
 */
export function manifestRoot(bytes: Uint8Array): CID {
  return cidForBytes(bytes, JSON_CODEC);
}

/**
 * Parse and validate manifest bytes (which must already be verified against their root).
 * @example const m = decodeManifest(bytes)
 */
export function decodeManifest(bytes: Uint8Array, opts: { maxBytes?: number } = {}): ImageManifest {
  const max = opts.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
  if (bytes.length > max) throw new ImageError(`manifest: ${bytes.length} bytes is over the limit of ${max} bytes`, { code: "TOO_LARGE" });
  let value: unknown;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("utf8");
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new ImageError("manifest: not valid JSON", { code: "BAD_MANIFEST", cause });
  }
  const m = value as ImageManifest;
  validateManifest(m);
  // One image, one root: only the RFC 8785 form is accepted (no duplicate keys, spacing or key order games).
  if (canonicalize(m) !== text) throw new ImageError("manifest: not in RFC 8785 (JCS) canonical form", { code: "BAD_MANIFEST" });
  return m;
}

function normalizeEntry(e: Entry): Entry {
  const out: Entry = { path: e.path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.size };
  if (e.target !== undefined) out.target = e.target;
  if (e.chunks !== undefined) out.chunks = [...e.chunks];
  return out;
}

const ENTRY_KEYS = new Set(["path", "type", "mode", "uid", "gid", "size", "target", "chunks"]);

/**
 * Throws ImageError BAD_MANIFEST naming the entry and field unless `m` is a well-formed manifest:
 * sorted unique safe paths, every parent a listed directory, hardlinks to listed files, symlinks
 * that do not climb out of the root, raw sha256 chunk CIDs.
 */
export function validateManifest(m: ImageManifest): void {
  const bad = (msg: string, path?: string): never => {
    throw new ImageError(`manifest: ${msg}`, { code: "BAD_MANIFEST", path });
  };
  if (typeof m !== "object" || m === null || Array.isArray(m)) bad("not an object");
  for (const k of Object.keys(m)) if (k !== "version" && k !== "entries") bad(`unknown field "${k}"`);
  if (m.version !== 1) bad(`version: expected 1, got ${JSON.stringify(m.version)}`);
  if (!Array.isArray(m.entries)) bad("entries: expected an array");
  const types = new Map<string, EntryType>();
  let prev: string | undefined;
  m.entries.forEach((e, i) => {
    const where = `entries[${i}]`;
    if (typeof e !== "object" || e === null || Array.isArray(e)) bad(`${where}: not an object`);
    for (const k of Object.keys(e)) if (!ENTRY_KEYS.has(k)) bad(`${where}: unknown field "${k}"`, e.path);
    try {
      checkEntryPath(e.path);
    } catch (err) {
      bad(`${where}.path: ${(err as ImageError).shortMessage}`, String(e.path));
    }
    if (prev !== undefined && comparePaths(prev, e.path) >= 0)
      bad(`${where}.path: "${e.path}" is not after "${prev}" (entries must be sorted and unique)`, e.path);
    prev = e.path;
    const parent = parentPath(e.path);
    if (parent !== "" && types.get(parent) !== "dir") bad(`${where}.path: parent "${parent}" of "${e.path}" is not a directory listed before it`, e.path);
    if (!["file", "dir", "symlink", "hardlink"].includes(e.type)) bad(`${where}.type: ${JSON.stringify(e.type)} is not file, dir, symlink or hardlink`, e.path);
    for (const f of ["mode", "uid", "gid", "size"] as const) {
      const v = e[f];
      if (!Number.isSafeInteger(v) || v < 0) bad(`${where}.${f}: expected a non-negative integer, got ${JSON.stringify(v)}`, e.path);
    }
    if (e.mode > 0o7777) bad(`${where}.mode: ${e.mode} has bits beyond 0o7777`, e.path);
    if (e.uid > 0xffffffff || e.gid > 0xffffffff) bad(`${where}: uid/gid beyond 32 bits`, e.path);
    if (e.type === "file") {
      if (e.target !== undefined) bad(`${where}.target: only links have a target`, e.path);
      if (!Array.isArray(e.chunks)) bad(`${where}.chunks: a file needs a chunks array`, e.path);
      if (e.size === 0 && e.chunks!.length !== 0) bad(`${where}.chunks: an empty file has no chunks`, e.path);
      if (e.size > 0 && e.chunks!.length === 0) bad(`${where}.chunks: a ${e.size}-byte file needs chunks`, e.path);
      e.chunks!.forEach((c, j) => {
        let cid: CID | undefined;
        try {
          cid = parseCid(c, `${where}.chunks[${j}]`);
        } catch (err) {
          bad((err as ImageError).shortMessage, e.path);
        }
        if (cid!.code !== RAW_CODEC) bad(`${where}.chunks[${j}]: chunk CIDs must use the raw codec`, e.path);
        if (cid!.toString() !== c) bad(`${where}.chunks[${j}]: CID must be in canonical base32 form`, e.path);
      });
    } else {
      if (e.chunks !== undefined) bad(`${where}.chunks: only files have chunks`, e.path);
    }
    if (e.type === "dir" && e.size !== 0) bad(`${where}.size: a directory has size 0`, e.path);
    if (e.type === "dir" && e.target !== undefined) bad(`${where}.target: only links have a target`, e.path);
    if (e.type === "symlink") {
      if (typeof e.target !== "string") bad(`${where}.target: a symlink needs a target string`, e.path);
      try {
        checkSymlinkTarget(e.path, e.target!);
      } catch (err) {
        bad(`${where}.target: ${(err as ImageError).shortMessage}`, e.path);
      }
      if (e.size !== Buffer.byteLength(e.target!)) bad(`${where}.size: a symlink's size is its target's byte length`, e.path);
    }
    if (e.type === "hardlink") {
      if (typeof e.target !== "string") bad(`${where}.target: a hardlink needs a target path`, e.path);
      if (e.size !== 0) bad(`${where}.size: a hardlink has size 0 (its target carries the content)`, e.path);
    }
    types.set(e.path, e.type);
  });
  for (const e of m.entries) {
    if (e.type === "hardlink" && types.get(e.target!) !== "file") bad(`hardlink "${e.path}": target "${e.target}" is not a regular file of this image`, e.path);
  }
}

/** Total content bytes of an image (sum of file sizes). */
export function manifestSize(m: ImageManifest): number {
  let n = 0;
  for (const e of m.entries) if (e.type === "file") n += e.size;
  return n;
}
