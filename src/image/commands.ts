/**
 * The data behind `hypha image import|ls|inspect|push`: each function takes a typed options object,
 * does the work against a local store directory, and returns plain data for the CLI to print.
 */
import { Catalog, normalizeImageName } from "./catalog";
import { ChunkStore } from "./chunkStore";
import { CID, JSON_CODEC, bytes32ToRoot, parseCid, rootToBytes32 } from "./cid";
import { ImageError } from "./imageError";
import { type ImportOptions, type ImportStats, importImage } from "./importImage";
import { type ImageManifest, decodeManifest, manifestSize } from "./manifest";
import { StoreClient } from "./storeClient";

export interface ImageStoreOptions {
  /** Local store directory (e.g. .hypha/store). */
  storeDir: string;
}

/**
 * Resolve an image reference: a root CID, an on-chain 0x digest, a catalog name or zero-image://name.
 * @example await resolveImageRef("zero-image://ubuntu-latest", { storeDir: ".hypha/store" })
 */
export async function resolveImageRef(ref: string, opts: ImageStoreOptions): Promise<CID> {
  if (typeof ref !== "string" || ref === "") throw new ImageError("image: expected a name, root CID or 0x root", { code: "BAD_INPUT" });
  if (/^0x[0-9a-fA-F]{64}$/.test(ref)) return bytes32ToRoot(ref);
  if (/^baga[a-z2-7]+$/.test(ref)) {
    const cid = parseCid(ref, "root");
    if (cid.code !== JSON_CODEC) throw new ImageError(`root ${ref}: not an image manifest CID`, { code: "BAD_INPUT" });
    return cid;
  }
  return parseCid(await new Catalog(opts.storeDir).resolve(ref), "catalog root");
}

async function loadManifest(store: ChunkStore, root: CID): Promise<ImageManifest> {
  const bytes = await store.getVerified(root);
  if (!bytes) throw new ImageError(`image ${root}: manifest is not in the local store ${store.dir}`, { code: "NOT_FOUND", cid: root.toString() });
  return decodeManifest(bytes);
}

/**
 * `hypha image import PATH --name NAME`
 * @example await imageImport({ storeDir: ".hypha/store", path: "./rootfs", name: "ubuntu-latest" })
 */
export async function imageImport(
  opts: ImageStoreOptions & ImportOptions & { path: string; name?: string | string[] },
): Promise<{ root: string; rootHex: `0x${string}`; names: string[]; stats: ImportStats }> {
  const names = (opts.name === undefined ? [] : Array.isArray(opts.name) ? opts.name : [opts.name]).map(normalizeImageName);
  const store = new ChunkStore(opts.storeDir);
  const r = await importImage(opts.path, store, opts);
  const catalog = new Catalog(opts.storeDir);
  for (const n of names) await catalog.set(n, r.root.toString());
  return { root: r.root.toString(), rootHex: r.rootHex, names, stats: r.stats };
}

export interface ImageSummary {
  root: string;
  rootHex: `0x${string}`;
  names: string[];
  files: number;
  totalSize: number;
  chunks: number;
}

/** `hypha image ls`: every image manifest in the store, with its names. */
export async function imageList(opts: ImageStoreOptions): Promise<ImageSummary[]> {
  const store = new ChunkStore(opts.storeDir);
  const names = invertCatalog(await new Catalog(opts.storeDir).list());
  const out: ImageSummary[] = [];
  for (const root of await manifestRoots(store)) {
    const m = await loadManifest(store, root);
    out.push({
      root: root.toString(),
      rootHex: rootToBytes32(root),
      names: names.get(root.toString()) ?? [],
      files: countFiles(m),
      totalSize: manifestSize(m),
      chunks: chunkSet(m).size,
    });
  }
  return out.sort((a, b) => (a.names[0] ?? "~" + a.root).localeCompare(b.names[0] ?? "~" + b.root));
}

export interface ImageInspection extends ImageSummary {
  dirs: number;
  symlinks: number;
  hardlinks: number;
  manifestBytes: number;
  /** Chunks of this image also used by other images in the store. */
  sharedChunks: number;
  sharedWith: { root: string; names: string[]; sharedChunks: number }[];
  entries?: ImageManifest["entries"];
}

/** `hypha image inspect ROOT|NAME`: counts, size, chunks and chunks shared with other images. */
export async function imageInspect(opts: ImageStoreOptions & { ref: string; entries?: boolean }): Promise<ImageInspection> {
  const store = new ChunkStore(opts.storeDir);
  const root = await resolveImageRef(opts.ref, opts);
  const m = await loadManifest(store, root);
  const mine = chunkSet(m);
  const names = invertCatalog(await new Catalog(opts.storeDir).list());
  const shared = new Set<string>();
  const sharedWith: ImageInspection["sharedWith"] = [];
  for (const other of await manifestRoots(store)) {
    if (other.equals(root)) continue;
    const theirs = chunkSet(await loadManifest(store, other));
    let n = 0;
    for (const c of theirs) if (mine.has(c)) n++, shared.add(c);
    if (n > 0) sharedWith.push({ root: other.toString(), names: names.get(other.toString()) ?? [], sharedChunks: n });
  }
  const count = (t: string) => m.entries.filter((e) => e.type === t).length;
  return {
    root: root.toString(),
    rootHex: rootToBytes32(root),
    names: names.get(root.toString()) ?? [],
    files: count("file"),
    dirs: count("dir"),
    symlinks: count("symlink"),
    hardlinks: count("hardlink"),
    totalSize: manifestSize(m),
    chunks: mine.size,
    manifestBytes: (await store.size(root)) ?? 0,
    sharedChunks: shared.size,
    sharedWith: sharedWith.sort((a, b) => b.sharedChunks - a.sharedChunks),
    ...(opts.entries ? { entries: m.entries } : {}),
  };
}

/**
 * `hypha image push ROOT|NAME --to URL [--name NAME]`: send the manifest and the chunks the remote
 * store lacks, then (optionally) set the name there.
 */
export async function imagePush(
  opts: ImageStoreOptions & { ref: string; url: string; name?: string; token?: string },
): Promise<{ root: string; pushedChunks: number; pushedBytes: number; skippedChunks: number; name?: string }> {
  const store = new ChunkStore(opts.storeDir);
  const root = await resolveImageRef(opts.ref, opts);
  const m = await loadManifest(store, root);
  const client = new StoreClient([opts.url], { token: opts.token });
  const all = [...chunkSet(m)];
  const missing = await client.missing(all);
  let pushedBytes = 0;
  for (const c of missing) {
    const bytes = await store.getVerified(c);
    if (!bytes) throw new ImageError(`chunk ${c}: missing or corrupt in the local store`, { code: "NOT_FOUND", cid: c });
    await client.put(c, bytes);
    pushedBytes += bytes.length;
  }
  const manifestBytes = (await store.getVerified(root))!;
  await client.put(root, manifestBytes);
  pushedBytes += manifestBytes.length;
  const name = opts.name ?? (/^0x|^baga/.test(opts.ref) ? undefined : normalizeImageName(opts.ref));
  if (name) await client.setName(name, root);
  return { root: root.toString(), pushedChunks: missing.length, pushedBytes, skippedChunks: all.length - missing.length, ...(name ? { name } : {}) };
}

async function manifestRoots(store: ChunkStore): Promise<CID[]> {
  return (await store.list()).map((c) => CID.parse(c)).filter((c) => c.code === JSON_CODEC);
}

function chunkSet(m: ImageManifest): Set<string> {
  const s = new Set<string>();
  for (const e of m.entries) for (const c of e.chunks ?? []) s.add(c);
  return s;
}

function countFiles(m: ImageManifest): number {
  return m.entries.filter((e) => e.type === "file" || e.type === "hardlink").length;
}

function invertCatalog(cat: Record<string, string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, root] of Object.entries(cat)) out.set(root, [...(out.get(root) ?? []), name]);
  return out;
}
