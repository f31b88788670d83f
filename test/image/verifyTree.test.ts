import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { describe, expect, it, afterAll } from "vitest";
import { ChunkStore } from "../../src/image/chunkStore";
import { importImage } from "../../src/image/importImage";
import { materializeImage } from "../../src/image/materialize";
import { startStoreServer } from "../../src/image/storeServer";
import { verifyTree } from "../../src/image/verifyTree";
import { seededBytes, tempDir, writeTree, cleanupTempDirs } from "./helpers";

afterAll(cleanupTempDirs);

describe("verifyTree", () => {
  it("reports content, mode, missing, extra, type and symlink-target drift", async () => {
    const dir = tempDir();
    await writeTree(path.join(dir, "src"), { "bin/app": seededBytes(200_000, "app"), "etc/a": "a\n", "etc/b": "b\n", "etc/c": "c\n" }, { "bin/app": 0o755 });
    await fsp.symlink("app", path.join(dir, "src/bin/link"));
    const storeDir = path.join(dir, "store");
    const { root } = await importImage(path.join(dir, "src"), new ChunkStore(storeDir));
    const srv = await startStoreServer({ dir: storeDir });
    try {
      const m = await materializeImage({ root, mirrors: [srv.url], cacheDir: path.join(dir, "cache"), targetDir: path.join(dir, "t") });
      await m.ready;
      const t = m.dir;
      expect(await verifyTree(t, m.manifest)).toEqual([]);
      const app = await fsp.readFile(path.join(t, "bin/app"));
      app[150_000] ^= 0x40; // same size, one flipped bit
      await fsp.writeFile(path.join(t, "bin/app"), app);
      await fsp.chmod(path.join(t, "etc/a"), 0o666);
      await fsp.rm(path.join(t, "etc/b"));
      await fsp.writeFile(path.join(t, "etc/extra"), "x");
      await fsp.rm(path.join(t, "etc/c"));
      await fsp.mkdir(path.join(t, "etc/c"));
      await fsp.rm(path.join(t, "bin/link"));
      await fsp.symlink("/etc/a", path.join(t, "bin/link"));
      const drift = await verifyTree(t, m.manifest);
      expect(drift.map((d) => `${d.path}:${d.kind}`)).toEqual([
        "bin/app:content",
        "bin/link:target",
        "etc/a:mode",
        "etc/b:missing",
        "etc/c:type",
        "etc/extra:extra",
      ]);
      expect(drift.find((d) => d.kind === "mode")).toMatchObject({ expected: "0o644", actual: "0o666" });
    } finally {
      await srv.close();
    }
  });
});
