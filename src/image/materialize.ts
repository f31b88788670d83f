/**
 * materializeImage: make an image's tree real in a target directory on a node. The manifest and the
 * files a workload needs first (priority paths) are fetched, verified and written before it
 * returns; the rest follow in the background (`ready`). Every chunk is verified on arrival (and
 * re-verified when read back from the node's cache); a chunk no mirror serves correctly fails
 * with ImageError TAMPERED naming it, and a file is renamed into place only once all its bytes
 * are verified, so a workload never sees bad bytes. Chunks already in the cache, from any image,
 * are never fetched again.
 *
 * Priority ELF files pull in their interpreter and shared libraries (parsed from PT_INTERP and
 * DT_NEEDED). Lazy start is done by prefetching in priority order, not by FUSE: /dev/fuse and fuse3 exist here,
 * but a Node FUSE binding needs a native build, and the sandbox binds a plain directory anyway.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { CID, JSON_CODEC, bytes32ToRoot, parseCid } from "./cid";
import { ChunkStore } from "./chunkStore";
import { ImageError } from "./imageError";
import { type Entry, type ImageManifest, decodeManifest, manifestSize } from "./manifest";
import { prefetchOrder } from "./prefetchOrder";
import { libraryPaths, parseElfDeps } from "./elfDeps";
import { StoreClient } from "./storeClient";

export interface MaterializeProgress {
  phase: "manifest" | "priority" | "background" | "done";
  bytesFetched: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
}

export interface MaterializeOptions {
  /** Image root: CID string/CID, or the on-chain 0x digest. */
  root: string | CID;
  mirrors: string[];
  /** The node's chunk cache (a ChunkStore directory shared by all images). */
  cacheDir: string;
  /** Where the tree is made; must not exist or be empty. */
  targetDir: string;
  /** Paths to have before returning (e.g. entrypoint + libraries). Absent: everything before returning. */
  priority?: string[];
  onProgress?: (p: MaterializeProgress) => void;
  /** Apply the manifest's uid/gid (default: when running as root). */
  chown?: boolean;
  maxManifestBytes?: number;
  /** With priority: also fetch first the interpreter and shared libraries the priority ELF files need (default true). */
  followElfDeps?: boolean;
  /** Parallel batch requests (default 4). */
  concurrency?: number;
}

export interface MaterializeSummary {
  bytesFetched: number;
  bytesTotal: number;
  bytesFromCache: number;
  chunksFetched: number;
  files: number;
}

export interface MaterializeResult {
  dir: string;
  root: CID;
  manifest: ImageManifest;
  /** Bytes fetched from mirrors (manifest + chunks) before this returned. */
  bytesFetched: number;
  /** Content size of the image (sum of file sizes). */
  bytesTotal: number;
  /** Resolves when every file is in place (rejects with ImageError, e.g. TAMPERED). */
  ready: Promise<MaterializeSummary>;
  progress(): MaterializeProgress;
}

const GROUP_BYTES = 8 * 1024 * 1024;
/** Chunks fetched ahead while writing a large file (at most ~25 MiB in memory). */
const WINDOW_CHUNKS = 100;
const PART_SUFFIX = ".hypha-part";

/**
 * @example
 * const img = await materializeImage({ root, mirrors: [storeUrl], cacheDir, targetDir, priority: ["/bin/sh"] });
 * console.log(`fetched ${img.bytesFetched} of ${img.bytesTotal} bytes`); await img.ready;
 */
export async function materializeImage(opts: MaterializeOptions): Promise<MaterializeResult> {
  const root = toRoot(opts.root);
  const cache = new ChunkStore(opts.cacheDir);
  const client = new StoreClient(opts.mirrors);
  const chown = opts.chown ?? process.getuid?.() === 0;
  const stats = { bytesFetched: 0, bytesFromCache: 0, chunksFetched: 0 };
  const progress: MaterializeProgress = { phase: "manifest", bytesFetched: 0, bytesTotal: 0, filesDone: 0, filesTotal: 0 };
  const report = () => {
    progress.bytesFetched = stats.bytesFetched;
    opts.onProgress?.({ ...progress });
  };

  let manifestBytes = await cache.getVerified(root);
  if (!manifestBytes) {
    const got = await client.get(root);
    stats.bytesFetched += got.length;
    await cache.putKnown(root, got);
    manifestBytes = Buffer.from(got);
  }
  const manifest = decodeManifest(manifestBytes, { maxBytes: opts.maxManifestBytes });
  progress.bytesTotal = manifestSize(manifest);
  const plan = prefetchOrder(manifest, opts.priority);
  progress.filesTotal = plan.first.length + plan.rest.length;

  const target = path.resolve(opts.targetDir);
  await prepareTarget(target);
  // Directories (owner-writable until the end) and symlinks first: they carry no content.
  for (const e of manifest.entries) {
    const abs = path.join(target, e.path);
    if (e.type === "dir") await fsp.mkdir(abs, { mode: 0o755 });
    else if (e.type === "symlink") {
      await fsp.symlink(e.target!, abs);
      if (chown) await fsp.lchown(abs, e.uid, e.gid);
      await fsp.lutimes(abs, 0, 0);
    }
  }

  const ctx: Ctx = { target, cache, client, chown, stats, concurrency: opts.concurrency ?? 4, onFile: () => (progress.filesDone++, report()) };
  progress.phase = "priority";
  report();
  await writeEntries(ctx, plan.first);
  const done = new Set(plan.first.map((e) => e.path));
  if (opts.priority !== undefined && opts.followElfDeps !== false) await writeElfDeps(ctx, manifest, plan.first, done);
  const bytesFetched = stats.bytesFetched;
  const rest = plan.rest.filter((e) => !done.has(e.path));

  const ready = (async (): Promise<MaterializeSummary> => {
    progress.phase = "background";
    await writeEntries(ctx, rest);
    // Directory modes and owners last (a read-only directory would block its children), deepest first.
    for (const e of [...manifest.entries].reverse()) {
      if (e.type !== "dir") continue;
      const abs = path.join(target, e.path);
      if (chown) await fsp.chown(abs, e.uid, e.gid);
      await fsp.chmod(abs, e.mode);
      await fsp.utimes(abs, 0, 0);
    }
    progress.phase = "done";
    report();
    return {
      bytesFetched: stats.bytesFetched,
      bytesTotal: progress.bytesTotal,
      bytesFromCache: stats.bytesFromCache,
      chunksFetched: stats.chunksFetched,
      files: progress.filesTotal,
    };
  })();
  ready.catch(() => undefined); // the caller may only look at it later

  return {
    dir: target,
    root,
    manifest,
    bytesFetched,
    bytesTotal: progress.bytesTotal,
    ready,
    progress: () => ({ ...progress, bytesFetched: stats.bytesFetched }),
  };
}

/**
 * Fetch the interpreter and DT_NEEDED libraries of every ELF among `written` (transitively), so an
 * entrypoint can start before the rest of the image arrives.
 */
async function writeElfDeps(ctx: Ctx, manifest: ImageManifest, written: Entry[], done: Set<string>): Promise<void> {
  const byPath = new Map(manifest.entries.map((e) => [e.path, e]));
  let frontier = written.filter((e) => e.type === "file");
  for (let round = 0; frontier.length > 0 && round < 16; round++) {
    const wanted: string[] = [];
    for (const e of frontier) {
      const bytes = await fsp.readFile(path.join(ctx.target, e.path));
      wanted.push(...libraryPaths(parseElfDeps(bytes), (p) => byPath.get(p)));
    }
    const plan = prefetchOrder(manifest, wanted).first.filter((e) => !done.has(e.path));
    await writeEntries(ctx, plan);
    for (const e of plan) done.add(e.path);
    frontier = plan.filter((e) => e.type === "file");
  }
}

interface Ctx {
  target: string;
  cache: ChunkStore;
  client: StoreClient;
  chown: boolean;
  stats: { bytesFetched: number; bytesFromCache: number; chunksFetched: number };
  concurrency: number;
  onFile: () => void;
}

/** Write files (and hardlinks) group by group: fetch a group's missing chunks in batches, then write its files. */
async function writeEntries(ctx: Ctx, entries: Entry[]): Promise<void> {
  let group: Entry[] = [];
  let groupBytes = 0;
  const flush = async () => {
    if (group.length === 0) return;
    const fetched = await fetchMissing(ctx, group);
    for (const e of group) await writeEntry(ctx, e, fetched);
    group = [];
    groupBytes = 0;
  };
  for (const e of entries) {
    if (e.size > GROUP_BYTES) {
      // A large file is fetched window by window inside writeEntry, keeping memory bounded.
      await flush();
      await writeEntry(ctx, e, new Map());
      continue;
    }
    group.push(e);
    groupBytes += e.size;
    if (groupBytes >= GROUP_BYTES) await flush();
  }
  await flush();
}

async function fetchMissing(ctx: Ctx, group: Entry[]): Promise<Map<string, Uint8Array>> {
  const wanted = new Set<string>();
  for (const e of group) for (const c of e.chunks ?? []) wanted.add(c);
  return fetchChunks(ctx, await missingFromCache(ctx, [...wanted]));
}

async function missingFromCache(ctx: Ctx, cids: string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const c of new Set(cids)) if (!(await ctx.cache.has(c))) missing.push(c);
  return missing;
}

/** Fetch chunks from the mirrors (verified by the client), batches of 100 over a few parallel requests, into the cache. */
async function fetchChunks(ctx: Ctx, missing: string[]): Promise<Map<string, Uint8Array>> {
  const fetched = new Map<string, Uint8Array>();
  const batches: string[][] = [];
  for (let i = 0; i < missing.length; i += 100) batches.push(missing.slice(i, i + 100));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      await ctx.client.getMany(batch, async (cid, bytes) => {
        ctx.stats.bytesFetched += bytes.length;
        ctx.stats.chunksFetched++;
        fetched.set(cid, bytes);
        await ctx.cache.putKnown(CID.parse(cid), bytes);
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(ctx.concurrency, batches.length) }, worker));
  return fetched;
}

async function writeEntry(ctx: Ctx, e: Entry, fetched: Map<string, Uint8Array>): Promise<void> {
  const abs = path.join(ctx.target, e.path);
  if (e.type === "hardlink") {
    await fsp.link(path.join(ctx.target, e.target!), abs);
    ctx.onFile();
    return;
  }
  const part = abs + PART_SUFFIX;
  const fh = await fsp.open(part, "wx", 0o600);
  let written = 0;
  try {
    const chunks = e.chunks!;
    let window = new Map<string, Uint8Array>();
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i];
      let bytes: Uint8Array | undefined = fetched.get(c) ?? window.get(c);
      if (!bytes) {
        bytes = await ctx.cache.getVerified(c);
        if (bytes) ctx.stats.bytesFromCache += bytes.length;
      }
      if (!bytes) {
        // not prefetched (a large file), or evicted/corrupted in the cache: fetch the next window
        window = await fetchChunks(ctx, await missingFromCache(ctx, [c, ...chunks.slice(i + 1, i + WINDOW_CHUNKS)]));
        bytes = window.get(c) ?? (await ctx.cache.getVerified(c));
        if (!bytes) throw new ImageError(`chunk ${c}: vanished from the cache while writing "${e.path}"`, { code: "NOT_FOUND", cid: c });
      }
      await fh.write(bytes);
      written += bytes.length;
    }
  } catch (err) {
    await fh.close();
    await fsp.rm(part, { force: true });
    throw err;
  }
  await fh.close();
  if (written !== e.size) {
    await fsp.rm(part, { force: true });
    throw new ImageError(`manifest: file "${e.path}" is ${e.size} bytes in the manifest but its chunks hold ${written}`, {
      code: "BAD_MANIFEST",
      path: e.path,
    });
  }
  if (ctx.chown) await fsp.chown(part, e.uid, e.gid);
  await fsp.chmod(part, e.mode);
  await fsp.utimes(part, 0, 0);
  await fsp.rename(part, abs);
  ctx.onFile();
}

function toRoot(root: string | CID): CID {
  const cid = typeof root === "string" && root.startsWith("0x") ? bytes32ToRoot(root) : parseCid(root, "root");
  if (cid.code !== JSON_CODEC) throw new ImageError(`root ${cid}: not an image manifest CID (codec must be json)`, { code: "BAD_INPUT", cid: cid.toString() });
  return cid;
}

async function prepareTarget(target: string): Promise<void> {
  try {
    const names = await fsp.readdir(target);
    if (names.length > 0) throw new ImageError(`target dir "${target}": not empty`, { code: "CONFLICT", path: target });
  } catch (err) {
    if (err instanceof ImageError) throw err;
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    await fsp.mkdir(target, { recursive: true });
  }
}
