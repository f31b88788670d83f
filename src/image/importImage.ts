/**
 * importImage: turn a directory, a tar (optionally gzipped), an OCI image layout (directory or tar)
 * or a `docker save` tarball into a zero-image in a ChunkStore and return its root. All objects are
 * staged and committed only when the whole import succeeded, so a rejected input changes nothing.
 */
import { promises as fsp } from "node:fs";
import { type CID, JSON_CODEC, rootToBytes32 } from "./cid";
import type { ChunkSink, ChunkStore, StagedChunks } from "./chunkStore";
import { ImageError } from "./imageError";
import { addDirectory } from "./importDirectory";
import { addArchiveFile, addOciLayoutDirectory } from "./importArchive";
import { DEFAULT_MAX_MANIFEST_BYTES, type ImageManifest, encodeManifest, manifestRoot } from "./manifest";
import { TreeBuilder, type TreeStats, hashOnlySink } from "./treeBuilder";

export interface ImportOptions {
  /** Keep uid/gid of a directory's files (default: 0:0). Archives always keep their owners. */
  preserveOwner?: boolean;
  /** Reject manifests bigger than this (default 64 MiB). */
  maxManifestBytes?: number;
  /** Force the input kind instead of detecting it. */
  format?: "auto" | "dir" | "tar" | "oci";
  /** Members of an OCI or docker archive above this size are spooled to a temp file, not kept in memory (default 8 MiB). */
  spoolAboveBytes?: number;
}

export interface ImportStats extends TreeStats {
  /** What the input was detected as. */
  format: "dir" | "tar" | "oci-layout" | "docker-save";
  layers: number;
  manifestBytes: number;
  /** Objects (and their bytes) that were not in the store before. */
  newChunks: number;
  newBytes: number;
  durationMs: number;
}

export interface ImportResult {
  root: CID;
  rootHex: `0x${string}`;
  manifest: ImageManifest;
  manifestBytes: Uint8Array;
  stats: ImportStats;
}

/**
 * Import `path` into `store` (or, with store null, only compute the root).
 * @example const { root, rootHex } = await importImage("./rootfs", new ChunkStore(".hypha/store"))
 */
export async function importImage(path: string, store: ChunkStore | null, opts: ImportOptions = {}): Promise<ImportResult> {
  const started = performance.now();
  if (typeof path !== "string" || path === "") throw new ImageError("import path: expected a non-empty path", { code: "BAD_INPUT" });
  const st = await fsp.stat(path).catch((cause) => {
    throw new ImageError(`import path "${path}": does not exist or cannot be read`, { code: "BAD_INPUT", cause, path });
  });
  const staged: StagedChunks | undefined = store ? await store.stage() : undefined;
  const sink: ChunkSink = staged ?? hashOnlySink;
  try {
    const builder = new TreeBuilder(sink);
    let format: ImportStats["format"];
    let layers = 0;
    const wantDir = opts.format === "dir" || opts.format === "oci" || (opts.format ?? "auto") === "auto";
    if (st.isDirectory() && wantDir) {
      const isOci = opts.format === "oci" || (opts.format !== "dir" && (await exists(`${path}/oci-layout`)));
      if (isOci) {
        layers = await addOciLayoutDirectory(builder, path);
        format = "oci-layout";
      } else {
        await addDirectory(builder, path, { preserveOwner: opts.preserveOwner });
        format = "dir";
      }
    } else if (st.isFile() && opts.format !== "dir") {
      const r = await addArchiveFile(builder, path, { forceTar: opts.format === "tar", spoolAboveBytes: opts.spoolAboveBytes });
      format = r.format;
      layers = r.layers;
    } else {
      throw new ImageError(`import path "${path}": expected a directory or a tar/OCI/docker archive file`, { code: "BAD_INPUT", path });
    }
    const { manifest, stats } = builder.finish();
    const manifestBytes = encodeManifest(manifest, { maxBytes: opts.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES });
    const root = manifestRoot(manifestBytes);
    await sink.put(manifestBytes, JSON_CODEC);
    const newChunks = staged?.newChunks ?? 0;
    const newBytes = staged?.newBytes ?? 0;
    await staged?.commit();
    return {
      root,
      rootHex: rootToBytes32(root),
      manifest,
      manifestBytes,
      stats: { ...stats, format, layers, manifestBytes: manifestBytes.length, newChunks, newBytes, durationMs: performance.now() - started },
    };
  } catch (err) {
    await staged?.abort();
    throw err;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.access(p);
    return true;
  } catch {
    return false;
  }
}
