/**
 * The chunk cache limit: the objects written longest ago go first until the cache fits, and an
 * image whose chunks were pruned still materializes (fetched again, verified) from the store.
 */
import { promises as fsp, utimesSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ChunkStore } from "../../src/image/chunkStore";
import { importImage } from "../../src/image/importImage";
import { materializeImage } from "../../src/image/materialize";
import { pruneChunkCache } from "../../src/image/pruneChunkCache";
import { startStoreServer } from "../../src/image/storeServer";
import { cleanupTempDirs, tempDir, writeTree } from "./helpers";

afterAll(cleanupTempDirs);

describe("pruneChunkCache", () => {
  it("removes the oldest objects until the cache fits", async () => {
    const dir = tempDir();
    const cache = new ChunkStore(dir);
    const cids = [];
    for (let i = 0; i < 5; i++) {
      const cid = await cache.put(Buffer.alloc(1000, i));
      utimesSync(cache.pathFor(cid), 1_000 + i, 1_000 + i); // written in order 0..4
      cids.push(cid.toString());
    }
    expect(await pruneChunkCache(dir, 10_000)).toEqual({ removed: 0, bytesRemoved: 0, bytesKept: 5000 });
    expect(await pruneChunkCache(dir, 2500)).toEqual({ removed: 3, bytesRemoved: 3000, bytesKept: 2000 });
    expect((await cache.list()).sort()).toEqual(cids.slice(3).sort());
    expect(await pruneChunkCache(path.join(dir, "absent"), 0)).toEqual({ removed: 0, bytesRemoved: 0, bytesKept: 0 });
  });

  it("an image whose cached chunks were pruned materializes again from the store", async () => {
    const dir = tempDir();
    await writeTree(path.join(dir, "tree"), { "bin/app": "#!/bin/sh\necho hi\n", "data.bin": "x".repeat(200_000) });
    const srv = await startStoreServer({ dir: path.join(dir, "store"), port: 0 });
    try {
      const { root } = await importImage(path.join(dir, "tree"), srv.store);
      const cacheDir = path.join(dir, "cache");
      const first = await materializeImage({ root, mirrors: [srv.url], cacheDir, targetDir: path.join(dir, "one") });
      expect((await first.ready).bytesFetched).toBeGreaterThan(200_000);
      expect((await pruneChunkCache(cacheDir, 0)).removed).toBeGreaterThan(0);
      const again = await materializeImage({ root, mirrors: [srv.url], cacheDir, targetDir: path.join(dir, "two") });
      expect((await again.ready).bytesFetched).toBeGreaterThan(200_000); // fetched again, not from the cache
      expect(await fsp.readFile(path.join(dir, "two", "data.bin"), "utf8")).toBe("x".repeat(200_000));
    } finally {
      await srv.close();
    }
  });
});
