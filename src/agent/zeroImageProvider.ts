/**
 * The default ImageProvider, on src/image's zero-image: materialize the tree named by the
 * on-chain imageRoot from the store mirrors into the run's directory (every chunk verified on
 * arrival, the node's chunk cache shared by all images), wait until every file is in place
 * before the workload starts, and re-verify with verifyTree (content re-hashed).
 *
 * Lazy start (no FUSE: a Node FUSE binding needs a native build, and bubblewrap binds a plain
 * directory anyway): with `lazy`, the entrypoint and what it loads are fetched and verified first,
 * the workload starts, and the rest arrives verified in the background into the same directory.
 * Re-verification waits for the background fetch, and a bad chunk there is reported as drift.
 *
 * Chunks come from the node's cache, so a second tree of the same image fetches nothing; the
 * agent shares one tree per image among its replica runs (sharedImages.ts).
 */
import { promises as fs } from "node:fs";
import type { Hex } from "viem";
import { materializeImage } from "../image/materialize";
import { verifyTree, type Drift } from "../image/verifyTree";
import type { ImageProvider, MaterializedImage, MaterializeOptions } from "./imageProvider";

/** One line per drift, for logs and the Tampered message (pure). @example describeDrift({ path: "bin/sh", kind: "content" }) // "bin/sh (content)" */
export function describeDrift(d: Drift): string {
  return `${d.path} (${d.kind})`;
}

/**
 * @example const images = createZeroImageProvider({ mirrors: ["http://127.0.0.1:7700"], cacheDir: ".hypha/nodes/1/cache" });
 */
export function createZeroImageProvider(opts: { mirrors: string[]; cacheDir: string }): ImageProvider {
  return {
    async materialize(imageRoot: Hex, targetDir: string, how: MaterializeOptions = {}): Promise<MaterializedImage> {
      // A leftover from an earlier agent process for the same run is not trusted: start clean.
      await fs.rm(targetDir, { recursive: true, force: true });
      const result = await materializeImage({
        root: imageRoot,
        mirrors: opts.mirrors,
        cacheDir: opts.cacheDir,
        targetDir,
        ...(how.lazy && how.priority?.length ? { priority: how.priority } : {}),
      });
      if (!how.lazy) await result.ready;
      let backgroundError: Error | undefined;
      const complete = result.ready.then(
        () => undefined,
        (err: Error) => {
          backgroundError = err;
        },
      );
      return {
        dir: result.dir,
        bytesFetched: how.lazy ? result.bytesFetched : (await result.ready).bytesFetched,
        bytesTotal: result.bytesTotal,
        complete,
        defaults: {},
        async verify() {
          await complete;
          if (backgroundError) return [`background fetch: ${backgroundError.message}`];
          return (await verifyTree(result.dir, result.manifest)).map(describeDrift);
        },
        async remove() {
          await fs.rm(result.dir, { recursive: true, force: true });
        },
        fetchError: () => backgroundError,
      };
    },
  };
}
