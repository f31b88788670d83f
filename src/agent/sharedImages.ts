/**
 * One verified image tree per image root on a node, shared by every replica run of that image,
 * as container runtimes share read-only layers. The runtime never writes to it (the sandboxes bind each
 * top-level entry read-only, see runtime/bwrapArgs.ts and unshareArgs.ts), so a second replica of an image starts
 * without materializing anything: on 2 cores a per-replica tree of the 74-entry demo image cost
 * about 86 ms of agent time per replica, the largest share of a trivial job's cost.
 *
 * - Each run's `<runDir>/rootfs` is a symlink to the shared tree (for people and tools).
 * - Re-verification is shared: concurrent verify() calls of one tree hash it once. Drift taints
 *   the tree: every run on it reports the drift (they all run on changed files and are Tampered),
 *   and the next run of that image gets a fresh tree, materialized and verified again.
 * - A tree no run uses is kept for reuse (the `keepIdle` most recently used), then removed.
 * - A tree whose fetch failed part way (a full disk, a mirror gone) is never handed out again:
 *   the next run of that image fetches a fresh one, so one bad fetch does not fail every later
 *   replica of the image. `onError` hears of each failure (the agent's disk-pressure check).
 */
import { promises as fs, mkdirSync, rmSync, symlinkSync } from "node:fs";
import path from "node:path";
import type { Hex } from "viem";
import type { ImageProvider, MaterializedImage, MaterializeOptions } from "./imageProvider";

interface Tree {
  key: string;
  dir: string;
  /** The first user's materialization (lazy or full). */
  image: Promise<MaterializedImage>;
  refs: number;
  lastUsed: number;
  /** Drift found by verification: the tree is no longer handed out. */
  drift: string[] | null;
  verifying: Promise<string[]> | null;
}

export interface SharedImageOptions {
  /** Directory holding the shared trees (`<dir>/<imageRoot>-<generation>`). */
  dir: string;
  /** Unused trees kept for the next run of the same image (default 4). */
  keepIdle?: number;
  /** Called with every materialization or background-fetch error. */
  onError?: (err: unknown) => void;
}

/**
 * Wraps `inner` so that runs of one image root share one tree.
 * @example const images = createSharedImageProvider(createZeroImageProvider({ mirrors, cacheDir }), { dir: ".hypha/nodes/1/images" });
 */
export function createSharedImageProvider(inner: ImageProvider, opts: SharedImageOptions): ImageProvider {
  const keepIdle = opts.keepIdle ?? 4;
  const live = new Map<string, Tree>(); // image root -> the tree new runs get
  const all = new Set<Tree>();
  let generation = 0;
  let cleaned: Promise<void> | null = null;

  const removeTree = async (tree: Tree) => {
    all.delete(tree);
    if (live.get(tree.key) === tree) live.delete(tree.key);
    const image = await tree.image.catch(() => null);
    await (image ? image.remove() : fs.rm(tree.dir, { recursive: true, force: true }));
  };

  const evictIdle = async (keep = keepIdle): Promise<number> => {
    const idle = [...all].filter((t) => t.refs === 0).sort((a, b) => b.lastUsed - a.lastUsed);
    let removed = 0;
    for (const t of idle.filter((t) => t.drift).concat(idle.filter((t) => !t.drift).slice(keep))) {
      if (t.refs === 0 && all.has(t)) {
        await removeTree(t); // a run may have taken it meanwhile
        removed++;
      }
    }
    return removed;
  };

  /** A tree whose fetch failed is tainted: no new run gets it, and it goes when its last run does. */
  const taint = (tree: Tree, why: string) => {
    tree.drift ??= [why];
    if (live.get(tree.key) === tree) live.delete(tree.key);
  };

  const verifyTree = (tree: Tree): Promise<string[]> => {
    if (tree.drift) return Promise.resolve(tree.drift);
    if (!tree.verifying) {
      tree.verifying = tree.image
        .then((image) => image.verify())
        .then((drift) => {
          if (drift.length > 0) {
            tree.drift = drift;
            if (live.get(tree.key) === tree) live.delete(tree.key);
          }
          return drift;
        })
        .finally(() => {
          tree.verifying = null;
        });
    }
    return tree.verifying;
  };

  const provider: ImageProvider = {
    evictIdle: () => evictIdle(0),
    async materialize(imageRoot: Hex, targetDir: string, how: MaterializeOptions = {}): Promise<MaterializedImage> {
      // Trees left by an earlier agent process are not trusted: start from an empty directory.
      cleaned ??= fs.rm(opts.dir, { recursive: true, force: true }).then(() => fs.mkdir(opts.dir, { recursive: true }).then(() => undefined));
      await cleaned;
      const key = imageRoot.toLowerCase();
      let tree = live.get(key);
      const created = !tree;
      if (!tree) {
        const dir = path.join(opts.dir, `${key}-${++generation}`);
        const t: Tree = { key, dir, image: inner.materialize(imageRoot, dir, how), refs: 0, lastUsed: Date.now(), drift: null, verifying: null };
        tree = t;
        live.set(key, t);
        all.add(t);
        // A lazy tree's background fetch may fail after the first run started on it.
        void t.image.then(
          (image) =>
            image.complete.then(() => {
              const err = image.fetchError?.();
              if (err) {
                taint(t, `background fetch: ${err.message}`);
                opts.onError?.(err);
              }
            }),
          (err: unknown) => opts.onError?.(err),
        );
      }
      const mine = tree;
      mine.refs++;
      mine.lastUsed = Date.now();
      let image: MaterializedImage;
      try {
        image = await mine.image;
        // The first run chose what to fetch first; any other run waits for the whole image.
        if (!created) {
          await image.complete;
          if (image.fetchError?.()) {
            // Someone else's fetch of this tree failed: this run gets a fresh tree instead.
            mine.refs--;
            taint(mine, `background fetch: ${image.fetchError()!.message}`);
            return provider.materialize(imageRoot, targetDir, how);
          }
        }
      } catch (err) {
        mine.refs--;
        if (created || live.get(key) === mine) await removeTree(mine).catch(() => undefined);
        throw err;
      }
      // Synchronous: a link in the run's own directory, made for every run (see logClock.ts sample).
      rmSync(targetDir, { recursive: true, force: true });
      mkdirSync(path.dirname(targetDir), { recursive: true });
      symlinkSync(image.dir, targetDir);
      let released = false;
      return {
        dir: image.dir,
        bytesFetched: created ? image.bytesFetched : 0,
        bytesTotal: image.bytesTotal,
        complete: image.complete,
        defaults: image.defaults,
        verify: () => verifyTree(mine),
        async remove() {
          if (released) return;
          released = true;
          mine.refs--;
          mine.lastUsed = Date.now();
          rmSync(targetDir, { force: true });
          await evictIdle();
        },
      };
    },
  };
  return provider;
}
