/**
 * Shared image trees: runs of one image root share one verified tree, drift taints it for every
 * run on it and the next run gets a fresh one, idle trees are kept or removed, a failed
 * materialization leaves nothing behind. Real zero-image store server, importer and materializer.
 */
import { existsSync, promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSharedImageProvider } from "../../src/agent/sharedImages";
import { createZeroImageProvider } from "../../src/agent/zeroImageProvider";
import type { ImageProvider } from "../../src/agent/imageProvider";
import { importImage } from "../../src/image/importImage";
import { startStoreServer, type StoreServer } from "../../src/image/storeServer";

let tmp: string;
let store: StoreServer;
let rootA: Hex;
let rootB: Hex;

async function tree(dir: string, text: string): Promise<string> {
  await fs.mkdir(path.join(dir, "etc"), { recursive: true });
  await fs.writeFile(path.join(dir, "etc", "hostname"), text);
  await fs.writeFile(path.join(dir, "data.bin"), Buffer.alloc(300_000, text));
  await fs.symlink("etc/hostname", path.join(dir, "name"));
  return dir;
}

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "hypha-shared-"));
  store = await startStoreServer({ dir: path.join(tmp, "store") });
  rootA = (await importImage(await tree(path.join(tmp, "a"), "image a\n"), store.store)).rootHex;
  rootB = (await importImage(await tree(path.join(tmp, "b"), "image b\n"), store.store)).rootHex;
});
afterAll(async () => {
  await store?.close();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

/** The real zero-image provider, counting how often it materializes and verifies. */
function counted(cacheDir: string) {
  const inner = createZeroImageProvider({ mirrors: [store.url], cacheDir });
  const counts = { materialize: 0, verify: 0 };
  const provider: ImageProvider = {
    async materialize(root, dir, how) {
      counts.materialize++;
      const image = await inner.materialize(root, dir, how);
      return { ...image, verify: () => (counts.verify++, image.verify()) };
    },
  };
  return { provider, counts };
}

describe("shared image trees", () => {
  it("two runs of one image share one tree; the second fetches nothing; verification runs once for both", async () => {
    const base = path.join(tmp, "node1");
    const { provider, counts } = counted(path.join(base, "cache"));
    const images = createSharedImageProvider(provider, { dir: path.join(base, "images") });
    const run1 = path.join(base, "replicas", "r1", "rootfs");
    const run2 = path.join(base, "replicas", "r2", "rootfs");
    const [one, two] = await Promise.all([images.materialize(rootA, run1), images.materialize(rootA, run2)]);
    expect(counts.materialize).toBe(1);
    expect(two.dir).toBe(one.dir);
    expect(one.bytesFetched + two.bytesFetched).toBe(one.bytesFetched);
    expect(one.bytesFetched).toBeGreaterThan(300_000);
    expect(await fs.readlink(run1)).toBe(one.dir);
    expect(await fs.readFile(path.join(run2, "etc", "hostname"), "utf8")).toBe("image a\n");
    expect(await fs.readdir(path.join(base, "images"))).toHaveLength(1);
    expect(await Promise.all([one.verify(), two.verify()])).toEqual([[], []]);
    expect(counts.verify).toBe(1);
    await one.remove();
    expect(existsSync(run1)).toBe(false);
    expect(await two.verify()).toEqual([]); // still there for the other run
    await two.remove();
  });

  it("drift taints the tree for every run on it; the next run gets a fresh, verified tree", async () => {
    const base = path.join(tmp, "node2");
    const { provider, counts } = counted(path.join(base, "cache"));
    const images = createSharedImageProvider(provider, { dir: path.join(base, "images") });
    const one = await images.materialize(rootA, path.join(base, "replicas", "r1", "rootfs"));
    const two = await images.materialize(rootA, path.join(base, "replicas", "r2", "rootfs"));
    await fs.appendFile(path.join(base, "replicas", "r1", "rootfs", "etc", "hostname"), "evil\n");
    expect(await one.verify()).toEqual(["etc/hostname (size)"]);
    expect(await two.verify()).toEqual(["etc/hostname (size)"]);
    expect(counts.verify).toBe(1); // the drift is remembered, not re-hashed
    const three = await images.materialize(rootA, path.join(base, "replicas", "r3", "rootfs"));
    expect(three.dir).not.toBe(one.dir);
    expect(counts.materialize).toBe(2);
    expect(await three.verify()).toEqual([]);
    expect(await fs.readFile(path.join(three.dir, "etc", "hostname"), "utf8")).toBe("image a\n");
    // the tainted tree goes as soon as no run uses it
    await one.remove();
    expect(existsSync(one.dir)).toBe(true);
    await two.remove();
    expect(existsSync(one.dir)).toBe(false);
    await three.remove();
  });

  it("keeps the most recently used idle trees for reuse and removes the rest", async () => {
    const base = path.join(tmp, "node3");
    const { provider, counts } = counted(path.join(base, "cache"));
    const images = createSharedImageProvider(provider, { dir: path.join(base, "images"), keepIdle: 1 });
    const a = await images.materialize(rootA, path.join(base, "replicas", "a1", "rootfs"));
    await a.remove();
    expect(existsSync(a.dir)).toBe(true); // idle, kept
    const again = await images.materialize(rootA, path.join(base, "replicas", "a2", "rootfs"));
    expect(again.dir).toBe(a.dir);
    expect(counts.materialize).toBe(1);
    await again.remove();
    const b = await images.materialize(rootB, path.join(base, "replicas", "b1", "rootfs"));
    await b.remove(); // two idle trees, one kept: the older (a) goes
    expect(existsSync(a.dir)).toBe(false);
    expect(existsSync(b.dir)).toBe(true);
  });

  it("a failed materialization leaves no tree and the next attempt starts over", async () => {
    const base = path.join(tmp, "node4");
    const { provider, counts } = counted(path.join(base, "cache"));
    const images = createSharedImageProvider(provider, { dir: path.join(base, "images") });
    const missing = ("0x" + "ab".repeat(32)) as Hex;
    await expect(images.materialize(missing, path.join(base, "replicas", "x", "rootfs"))).rejects.toThrow();
    expect(await fs.readdir(path.join(base, "images"))).toEqual([]);
    await expect(images.materialize(missing, path.join(base, "replicas", "y", "rootfs"))).rejects.toThrow();
    expect(counts.materialize).toBe(2);
  });
});
