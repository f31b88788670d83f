/**
 * Store garbage collection on a real store directory: what is reachable from the catalog and the
 * roots and blobs in use stays (every chunk of it still verifies), the rest goes, young objects
 * stay, and a dry run changes nothing. The chain side (which deployments are active) is tested
 * through the CLI in test/cli/storeGc.test.ts.
 */
import * as path from "node:path";
import { promises as fsp } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { Catalog } from "../../src/image/catalog";
import { ChunkStore } from "../../src/image/chunkStore";
import { importImage } from "../../src/image/importImage";
import { decodeManifest } from "../../src/image/manifest";
import { collectGarbage, planGc } from "../../src/image/storeGc";
import { cleanupTempDirs, listFiles, seededBytes, tempDir, writeTree } from "./helpers";

afterAll(cleanupTempDirs);

async function chunksOf(store: ChunkStore, root: string): Promise<string[]> {
  return decodeManifest((await store.getVerified(root))!).entries.flatMap((e) => e.chunks ?? []);
}

describe("planGc", () => {
  it("removes what is unreachable and old enough, sorted, and counts the rest", () => {
    const objects = [
      { cid: "c", size: 3, mtimeMs: 0 },
      { cid: "a", size: 1, mtimeMs: 0 },
      { cid: "b", size: 2, mtimeMs: 950 },
      { cid: "d", size: 4, mtimeMs: 0 },
    ];
    const plan = planGc(objects, new Set(["d"]), 1000, 100);
    expect(plan.remove.map((o) => o.cid)).toEqual(["a", "c"]);
    expect(plan).toMatchObject({ removeBytes: 4, keep: 2, keepBytes: 6, young: 1 });
    expect(planGc(objects, new Set(), 1000, 0).remove.length).toBe(4);
  });
});

describe("collectGarbage", () => {
  it("keeps named images, images in use and blobs in use; removes the rest only when not a dry run", async () => {
    const root = tempDir();
    const dir = path.join(root, "store");
    const store = new ChunkStore(dir);
    const catalog = new Catalog(dir);
    const image = async (name: string) => {
      await writeTree(path.join(root, name), { "shared.txt": "the same in every image\n", "own.bin": seededBytes(300_000, name) });
      return (await importImage(path.join(root, name), store)).root.toString();
    };
    const named = await image("named");
    const inUse = await image("in-use");
    const orphan = await image("orphan");
    const spec = (await store.put(Buffer.from('{"spec":1}'))).toString();
    const junk = (await store.put(Buffer.from("nobody wants this"))).toString();
    await catalog.set("app:1", named);

    const keepers = [named, inUse, spec, ...(await chunksOf(store, named)), ...(await chunksOf(store, inUse))];
    const orphanOnly = [orphan, ...(await chunksOf(store, orphan))].filter((c) => !keepers.includes(c));
    expect(orphanOnly.length).toBeGreaterThan(1); // its manifest and its own chunks

    // everything is younger than the default grace period: nothing goes
    const young = await collectGarbage(store, catalog, { roots: [inUse], blobs: [spec], dryRun: false });
    expect(young.remove).toEqual([]);
    expect(young.young).toBe(orphanOnly.length + 1);

    const before = await listFiles(root);
    const dry = await collectGarbage(store, catalog, { roots: [inUse], blobs: [spec], dryRun: true, minAgeMs: 0 });
    expect(dry.remove.map((o) => o.cid)).toEqual([...orphanOnly, junk].sort());
    expect(dry.removed).toBe(0);
    expect(await listFiles(root)).toEqual(before);

    const real = await collectGarbage(store, catalog, { roots: [inUse], blobs: [spec], dryRun: false, minAgeMs: 0 });
    expect(real.removed).toBe(dry.remove.length);
    expect(real.removeBytes).toBe(dry.removeBytes);
    expect(await store.list()).toEqual([...new Set(keepers)].sort());
    for (const c of keepers) expect(await store.getVerified(c)).toBeDefined();

    // a second run finds nothing more
    expect((await collectGarbage(store, catalog, { roots: [inUse], blobs: [spec], dryRun: false, minAgeMs: 0 })).remove).toEqual([]);
  });

  it("names a root in use whose manifest is missing, and refuses a bad grace period", async () => {
    const dir = path.join(tempDir(), "store");
    const store = new ChunkStore(dir);
    await fsp.mkdir(dir, { recursive: true });
    const absent = "bagaaieraqun4bijhkhyrgfmhrxmgqe3cfl42owdeyhbpxkwd7jqbt3vgfn6a";
    const r = await collectGarbage(store, new Catalog(dir), { roots: [absent], blobs: [], dryRun: true });
    expect(r.missingRoots).toEqual([absent]);
    await expect(collectGarbage(store, new Catalog(dir), { roots: [], blobs: [], dryRun: true, minAgeMs: -1 })).rejects.toThrow(
      /minAge: expected a duration of 0 or more, got -1/,
    );
  });
});
