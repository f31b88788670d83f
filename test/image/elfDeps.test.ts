import { execFileSync } from "node:child_process";
import { existsSync, promises as fsp, readFileSync, realpathSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it, afterAll } from "vitest";
import { ChunkStore } from "../../src/image/chunkStore";
import { parseElfDeps } from "../../src/image/elfDeps";
import { importImage } from "../../src/image/importImage";
import { materializeImage } from "../../src/image/materialize";
import { startStoreServer } from "../../src/image/storeServer";
import { seededBytes, tempDir, cleanupTempDirs } from "./helpers";

afterAll(cleanupTempDirs);

const hasReadelf = ["/usr/bin/readelf", "/bin/readelf"].some((p) => existsSync(p));
if (!hasReadelf) console.warn("elfDeps.test: readelf (binutils) is not installed: the readelf comparison is skipped; the ldd one runs");
const isRoot = process.getuid?.() === 0;
const chroot = ["/usr/sbin/chroot", "/usr/bin/chroot", "/sbin/chroot"].find((p) => existsSync(p)) ?? "chroot";

/** The ELF as if linked statically: its PT_INTERP and PT_DYNAMIC program headers turned into PT_NULL. */
function staticVariant(elf: Buffer): Buffer {
  const b = Buffer.from(elf);
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  for (let i = 0; i < b.readUInt16LE(0x38); i++) {
    const type = b.readUInt32LE(phoff + i * phentsize);
    if (type === 2 || type === 3) b.writeUInt32LE(0, phoff + i * phentsize);
  }
  return b;
}

/** Shared libraries of a host binary according to ldd (an independent tool). */
function lddPaths(bin: string): string[] {
  return execFileSync("ldd", [bin])
    .toString()
    .split("\n")
    .map((l) => /(\/[^\s]+) \(0x/.exec(l)?.[1])
    .filter((x): x is string => !!x);
}

describe("ELF dependencies for lazy start", () => {
  // readelf (binutils) is not on every machine: where it is missing, the ldd check below still runs.
  it.skipIf(!hasReadelf)("parses PT_INTERP and DT_NEEDED like readelf does", () => {
    for (const bin of ["/bin/ls", process.execPath]) {
      const readelf = execFileSync("readelf", ["-dlW", bin]).toString();
      const needed = [...readelf.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
      const interp = /Requesting program interpreter: ([^\]]+)\]/.exec(readelf)?.[1];
      expect(parseElfDeps(readFileSync(bin))).toEqual({ interp, needed });
    }
  });

  it("finds what ldd finds (interpreter and direct libraries), and nothing in static or non-ELF files", () => {
    for (const bin of ["/bin/ls", process.execPath]) {
      const deps = parseElfDeps(readFileSync(bin));
      const ldd = execFileSync("ldd", [bin]).toString();
      expect(deps.interp && ldd.includes(deps.interp)).toBeTruthy();
      expect(deps.needed.length).toBeGreaterThan(0);
      for (const lib of deps.needed) expect(ldd).toContain(lib);
    }
    expect(parseElfDeps(staticVariant(readFileSync("/bin/ls")))).toEqual({ needed: [] }); // static
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
      // The tree alone is the whole file system the process sees (chroot needs root, as the agent has).
      if (isRoot) expect(execFileSync(chroot, [m.dir, "/bin/ls", "/bin"]).toString().trim()).toBe("ls");
      const s = await m.ready;
      expect(s.bytesFetched).toBeGreaterThan(needed + 3_000_000);
    } finally {
      await srv.close();
    }
  });
});
