import { execFileSync } from "node:child_process";
import { promises as fsp, readFileSync, realpathSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it, afterAll } from "vitest";
import { ChunkStore } from "../../src/image/chunkStore";
import { parseElfDeps } from "../../src/image/elfDeps";
import { importImage } from "../../src/image/importImage";
import { materializeImage } from "../../src/image/materialize";
import { startStoreServer } from "../../src/image/storeServer";
import { seededBytes, tempDir, cleanupTempDirs } from "./helpers";

afterAll(cleanupTempDirs);

/** Shared libraries of a host binary according to ldd (an independent tool). */
function lddPaths(bin: string): string[] {
  return execFileSync("ldd", [bin])
    .toString()
    .split("\n")
    .map((l) => /(\/[^\s]+) \(0x/.exec(l)?.[1])
    .filter((x): x is string => !!x);
}

describe("ELF dependencies for lazy start", () => {
  it("parses PT_INTERP and DT_NEEDED like readelf does", () => {
    const readelf = execFileSync("readelf", ["-dl", "/bin/ls"]).toString();
    const needed = [...readelf.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
    const interp = /Requesting program interpreter: ([^\]]+)\]/.exec(readelf)?.[1];
    expect(parseElfDeps(readFileSync("/bin/ls"))).toEqual({ interp, needed });
    expect(parseElfDeps(readFileSync("/bin/busybox"))).toEqual({ needed: [] }); // static
    expect(parseElfDeps(Buffer.from("#!/bin/sh\necho hi\n"))).toEqual({ needed: [] });
    expect(parseElfDeps(readFileSync("/bin/ls").subarray(0, 100))).toEqual({ needed: [] }); // truncated: no crash
  });

  it("priority /bin/ls brings its interpreter and libraries (transitively) before returning, and it runs", async () => {
    const dir = tempDir();
    const tree = path.join(dir, "tree");
    const put = async (p: string, bytes: Buffer, mode = 0o755) => {
      await fsp.mkdir(path.dirname(path.join(tree, p)), { recursive: true });
      await fsp.writeFile(path.join(tree, p), bytes, { mode });
    };
    await put("bin/ls", readFileSync("/bin/ls"));
    const libs = lddPaths("/bin/ls");
    expect(libs.length).toBeGreaterThanOrEqual(3);
    for (const l of libs) await put(l.slice(1), readFileSync(realpathSync(l)));
    for (const d of ["proc", "dev"]) await fsp.mkdir(path.join(tree, d)); // mount points for the sandbox
    await put("usr/share/filler.bin", seededBytes(3_000_000, "filler"), 0o644);
    const storeDir = path.join(dir, "store");
    const { root, manifest } = await importImage(tree, new ChunkStore(storeDir));
    const srv = await startStoreServer({ dir: storeDir });
    try {
      const m = await materializeImage({ root, mirrors: [srv.url], cacheDir: path.join(dir, "cache"), targetDir: path.join(dir, "t"), priority: ["/bin/ls"] });
      const needed = manifest.entries.filter((e) => e.path === "bin/ls" || libs.includes("/" + e.path)).reduce((n, e) => n + e.size, 0);
      const manifestBytes = (await new ChunkStore(storeDir).size(root))!;
      expect(m.bytesFetched).toBe(needed + manifestBytes); // exactly ls + every lib ldd lists, not the filler
      const out = execFileSync("bwrap", ["--ro-bind", m.dir, "/", "--proc", "/proc", "--dev", "/dev", "--unshare-all", "/bin/ls", "/bin"]).toString();
      expect(out.trim()).toBe("ls");
      const s = await m.ready;
      expect(s.bytesFetched).toBeGreaterThan(needed + 3_000_000);
    } finally {
      await srv.close();
    }
  });
});
