import { execFileSync } from "node:child_process";
import { existsSync, promises as fsp } from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChunkStore } from "../../src/image/chunkStore";
import { buildDemoRootfs } from "../../src/cli/up/demoRootfs";
import { ImageError } from "../../src/image/imageError";
import { type ImportResult, importImage } from "../../src/image/importImage";
import { materializeImage } from "../../src/image/materialize";
import { type StoreServer, startStoreServer } from "../../src/image/storeServer";
import { verifyTree } from "../../src/image/verifyTree";
import { seededBytes, tempDir, writeTree, cleanupTempDirs } from "./helpers";

afterAll(cleanupTempDirs);

const isRoot = process.getuid?.() === 0;
const chroot = ["/usr/sbin/chroot", "/usr/bin/chroot", "/sbin/chroot"].find((p) => existsSync(p)) ?? "chroot";

describe("materializeImage", () => {
  let dir: string;
  let good: StoreServer;
  let base: ImportResult;
  let app: ImportResult;
  const lib = seededBytes(600_000, "lib");

  beforeAll(async () => {
    dir = tempDir();
    const goodDir = path.join(dir, "good");
    const rootfs = await buildDemoRootfs(path.join(dir, "rootfs"));
    await writeTree(rootfs.dir, { "lib/libbig.so": lib });
    base = await importImage(rootfs.dir, new ChunkStore(goodDir));
    await writeTree(rootfs.dir, { "app/main.sh": "#!/bin/sh\necho app\n" }, { "app/main.sh": 0o755 });
    app = await importImage(rootfs.dir, new ChunkStore(goodDir));
    good = await startStoreServer({ dir: goodDir });
  });
  afterAll(() => good.close());

  it("materializes a runnable tree that verifies clean, and reuses cached chunks across images", async () => {
    const cacheDir = path.join(dir, "cache1");
    const a = await materializeImage({ root: base.rootHex, mirrors: [good.url], cacheDir, targetDir: path.join(dir, "t1") });
    const cold = await a.ready;
    // cold: every distinct chunk once (identical files of the host-tools tree share chunks)
    expect(cold.chunksFetched).toBe(new Set(a.manifest.entries.flatMap((e) => (e.chunks ?? []).map(String))).size);
    expect(await verifyTree(a.dir, a.manifest, { checkOwner: true })).toEqual([]);
    // It runs with the tree as its whole file system (chroot needs root, as the agent has; CI runs as root).
    if (isRoot) {
      const out = execFileSync(chroot, [a.dir, "/bin/sh", "-c", "echo Running on zero-image; head -c 4 /lib/libbig.so | od -An -tx1"]).toString();
      expect(out).toContain("Running on zero-image");
      expect(out.replace(/\s/g, "")).toBe("Runningonzero-image" + lib.subarray(0, 4).toString("hex"));
    }
    // The app image differs from the base by one small file: only it and the manifest are fetched.
    const b = await materializeImage({ root: app.root, mirrors: [good.url], cacheDir, targetDir: path.join(dir, "t2") });
    const done = await b.ready;
    expect(done.bytesFetched).toBeLessThan(0.05 * done.bytesTotal);
    expect(done.chunksFetched).toBe(1);
    expect(await fsp.readFile(path.join(b.dir, "app/main.sh"), "utf8")).toContain("echo app");
  });

  it("lazy start: priority files are in place when it returns, the rest follow in ready", async () => {
    const progress: string[] = [];
    const m = await materializeImage({
      root: base.root,
      mirrors: [good.url],
      cacheDir: path.join(dir, "cache2"),
      targetDir: path.join(dir, "t3"),
      priority: ["/bin/sh"],
      onProgress: (p) => progress.push(p.phase),
    });
    expect((await fsp.stat(path.join(m.dir, "bin/sh"))).mode & 0o777).toBe(0o755);
    expect(m.bytesFetched).toBeLessThan(m.bytesTotal);
    await m.ready;
    expect(progress.at(-1)).toBe("done");
    expect(await verifyTree(m.dir, m.manifest)).toEqual([]);
  });

  it("a mirror serving a corrupted chunk is always detected; the next mirror is used; with no good mirror: TAMPERED naming the CID and the file never appears", async () => {
    const badDir = path.join(dir, "bad");
    const bad = await startStoreServer({ dir: badDir });
    const badStore = new ChunkStore(badDir);
    const goodStore = new ChunkStore(path.join(dir, "good"));
    try {
      // The bad mirror holds a full copy of the image (manifest included).
      for (const cid of await goodStore.list()) await badStore.putVerified(cid, (await goodStore.get(cid))!);
      const libEntry = base.manifest.entries.find((e) => e.path === "lib/libbig.so")!;
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: libEntry.chunks!.length - 1 }), fc.nat(), fc.integer({ min: 1, max: 255 }), async (which, at, flip) => {
          run++;
          const cid = libEntry.chunks![which];
          const file = badStore.pathFor(cid);
          const orig = await fsp.readFile(file);
          const corrupted = Buffer.from(orig);
          corrupted[at % orig.length] ^= flip;
          await fsp.writeFile(file, corrupted);
          try {
            // Bad mirror alone: refused, named, and the file is never written.
            const target = path.join(dir, `tamper-${run}`);
            const err = await materializeImage({ root: base.root, mirrors: [bad.url], cacheDir: path.join(dir, `tc-${run}`), targetDir: target }).catch(
              (e) => e,
            );
            expect(err).toBeInstanceOf(ImageError);
            expect(err.code).toBe("TAMPERED");
            expect(err.cid).toBe(cid);
            expect(err.shortMessage).toContain(cid);
            await expect(fsp.access(path.join(target, "lib/libbig.so"))).rejects.toThrow();
            await expect(fsp.access(path.join(target, "lib/libbig.so.hypha-part"))).rejects.toThrow();
            // Bad mirror first, good second: succeeds with the right bytes.
            const ok = await materializeImage({
              root: base.root,
              mirrors: [bad.url, good.url],
              cacheDir: path.join(dir, `tc2-${run}`),
              targetDir: path.join(dir, `ok-${run}`),
            });
            await ok.ready;
            expect((await fsp.readFile(path.join(ok.dir, "lib/libbig.so"))).equals(lib)).toBe(true);
          } finally {
            await fsp.writeFile(file, orig);
          }
        }),
        { numRuns: 12 },
      );
    } finally {
      await bad.close();
    }
  }, 180_000); // 24 materializations; generous for a loaded 2-core CI machine

  it("lazy start with a tampered background chunk: start files are good, `ready` rejects TAMPERED and the bad file never appears", async () => {
    const badDir = path.join(dir, "lazy-bad");
    const goodStore = new ChunkStore(path.join(dir, "good"));
    const badStore = new ChunkStore(badDir);
    for (const cid of await goodStore.list()) await badStore.putVerified(cid, (await goodStore.get(cid))!);
    const victim = base.manifest.entries.find((e) => e.path === "lib/libbig.so")!.chunks![1];
    const b = await fsp.readFile(badStore.pathFor(victim));
    b[b.length - 1] ^= 1;
    await fsp.writeFile(badStore.pathFor(victim), b);
    const bad = await startStoreServer({ dir: badDir });
    try {
      const m = await materializeImage({
        root: base.root,
        mirrors: [bad.url],
        cacheDir: path.join(dir, "lazy-cache"),
        targetDir: path.join(dir, "lazy-t"),
        priority: ["sh"],
      });
      expect((await fsp.stat(path.join(m.dir, "bin/sh"))).isFile()).toBe(true);
      await expect(m.ready).rejects.toMatchObject({ code: "TAMPERED", cid: victim });
      await expect(fsp.access(path.join(m.dir, "lib/libbig.so"))).rejects.toThrow();
    } finally {
      await bad.close();
    }
  });

  it("a chunk corrupted in the node's own cache is re-fetched, not used", async () => {
    const cacheDir = path.join(dir, "cache3");
    const first = await materializeImage({ root: base.root, mirrors: [good.url], cacheDir, targetDir: path.join(dir, "c1") });
    await first.ready;
    const cache = new ChunkStore(cacheDir);
    const cid = base.manifest.entries.find((e) => e.path === "lib/libbig.so")!.chunks![0];
    const p = cache.pathFor(cid);
    const b = await fsp.readFile(p);
    b[0] ^= 1;
    await fsp.writeFile(p, b);
    const second = await materializeImage({ root: base.root, mirrors: [good.url], cacheDir, targetDir: path.join(dir, "c2") });
    const s = await second.ready;
    expect(s.chunksFetched).toBe(1);
    expect((await fsp.readFile(path.join(second.dir, "lib/libbig.so"))).equals(lib)).toBe(true);
  });

  it("a file larger than one fetch group is fetched window by window, with failover past a tampered chunk", async () => {
    const big = seededBytes(12 * 1024 * 1024, "large");
    const src = path.join(dir, "large-src");
    await writeTree(src, { "data/big.bin": big, "small.txt": "s\n" });
    const goodDir = path.join(dir, "large-good");
    const badDir = path.join(dir, "large-bad");
    const r = await importImage(src, new ChunkStore(goodDir));
    await importImage(src, new ChunkStore(badDir));
    const entry = r.manifest.entries.find((e) => e.path === "data/big.bin")!;
    expect(entry.chunks!.length).toBeGreaterThan(100); // more than one window
    const victim = entry.chunks![150];
    const victimFile = new ChunkStore(badDir).pathFor(victim);
    const bytes = await fsp.readFile(victimFile);
    bytes[7] ^= 0x80;
    await fsp.writeFile(victimFile, bytes);
    const g = await startStoreServer({ dir: goodDir });
    const b = await startStoreServer({ dir: badDir });
    try {
      const m = await materializeImage({
        root: r.root,
        mirrors: [b.url, g.url],
        cacheDir: path.join(dir, "large-cache"),
        targetDir: path.join(dir, "large-t"),
      });
      await m.ready;
      expect((await fsp.readFile(path.join(m.dir, "data/big.bin"))).equals(big)).toBe(true);
      const err = await materializeImage({
        root: r.root,
        mirrors: [b.url],
        cacheDir: path.join(dir, "large-cache2"),
        targetDir: path.join(dir, "large-t2"),
      }).catch((e) => e);
      expect(err).toMatchObject({ code: "TAMPERED", cid: victim });
      await expect(fsp.access(path.join(dir, "large-t2/data/big.bin"))).rejects.toThrow();
    } finally {
      await g.close();
      await b.close();
    }
  });

  it("bad input: a malformed root, no mirrors, a non-empty target", async () => {
    const common = { mirrors: [good.url], cacheDir: path.join(dir, "cache4") };
    await expect(materializeImage({ ...common, root: "0x12", targetDir: path.join(dir, "x1") })).rejects.toThrow(
      /imageRoot: expected 0x followed by 64 hex digits/,
    );
    await expect(materializeImage({ ...common, mirrors: [], root: base.root, targetDir: path.join(dir, "x2") })).rejects.toThrow(
      /mirrors: give at least one store URL/,
    );
    await writeTree(path.join(dir, "x3"), { keep: "me" });
    await expect(materializeImage({ ...common, root: base.root, targetDir: path.join(dir, "x3") })).rejects.toThrow(/target dir .*x3": not empty/);
    expect(await fsp.readFile(path.join(dir, "x3/keep"), "utf8")).toBe("me");
    const unknown = "0x" + "ab".repeat(32);
    await expect(materializeImage({ ...common, root: unknown, targetDir: path.join(dir, "x4") })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
