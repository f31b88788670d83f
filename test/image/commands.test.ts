import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imageImport, imageInspect, imageList, imagePush, resolveImageRef } from "../../src/image/commands";
import { buildDemoRootfs } from "../../src/cli/up/demoRootfs";
import { materializeImage } from "../../src/image/materialize";
import { type StoreServer, startStoreServer } from "../../src/image/storeServer";
import { seededBytes, tempDir, writeTree, cleanupTempDirs } from "./helpers";

afterAll(cleanupTempDirs);

describe("image commands", () => {
  let dir: string;
  let remote: StoreServer;
  beforeAll(async () => {
    dir = tempDir();
    remote = await startStoreServer({ dir: path.join(dir, "remote") });
  });
  afterAll(() => remote.close());

  it("import with names, ls, inspect (shared chunks), push to a store, then materialize from it", async () => {
    const storeDir = path.join(dir, "local");
    const rootfs = await buildDemoRootfs(path.join(dir, "rootfs"));
    const base = await imageImport({ storeDir, path: rootfs.dir, name: ["ubuntu-latest", "ubuntu:latest"] });
    await writeTree(rootfs.dir, { "app/data": seededBytes(100_000, "d") });
    const app = await imageImport({ storeDir, path: rootfs.dir, name: "app" });
    expect((await resolveImageRef("zero-image://ubuntu-latest", { storeDir })).toString()).toBe(base.root);
    expect((await resolveImageRef(base.rootHex, { storeDir })).toString()).toBe(base.root);

    const ls = await imageList({ storeDir });
    expect(ls.map((i) => i.names)).toEqual([["app"], ["ubuntu-latest", "ubuntu:latest"]]);
    const info = await imageInspect({ storeDir, ref: "app" });
    expect(info.files).toBe(base.stats.files + 1);
    expect(info.totalSize).toBe(base.stats.bytes + 100_000);
    expect(info.sharedChunks).toBe(base.stats.uniqueChunks); // every base chunk is reused by the app image
    expect(info.sharedWith).toEqual([{ root: base.root, names: ["ubuntu-latest", "ubuntu:latest"], sharedChunks: base.stats.uniqueChunks }]);

    const p1 = await imagePush({ storeDir, ref: "ubuntu-latest", url: remote.url });
    expect(p1).toMatchObject({ root: base.root, pushedChunks: base.stats.uniqueChunks, skippedChunks: 0, name: "ubuntu-latest" });
    const p2 = await imagePush({ storeDir, ref: "app", url: remote.url });
    expect(p2.skippedChunks).toBe(base.stats.uniqueChunks); // only the new chunks travel
    expect(p2.pushedChunks).toBe(app.stats.uniqueChunks - base.stats.uniqueChunks);
    const m = await materializeImage({ root: app.rootHex, mirrors: [remote.url], cacheDir: path.join(dir, "cache"), targetDir: path.join(dir, "t") });
    await m.ready;
    await expect(imageInspect({ storeDir, ref: "missing-name" })).rejects.toThrow(/image name "missing-name": not in the catalog/);
    await expect(imageImport({ storeDir, path: rootfs.dir, name: "Bad Name!" })).rejects.toThrow(/image name "Bad Name!"/);
  });
});
