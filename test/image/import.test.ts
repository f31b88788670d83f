import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { promises as fsp, readdirSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import canonicalize from "canonicalize";
import * as tar from "tar-stream";
import { beforeAll, describe, expect, it, afterAll } from "vitest";
import { ChunkStore } from "../../src/image/chunkStore";
import { ImageError } from "../../src/image/imageError";
import { importImage } from "../../src/image/importImage";
import { decodeManifest } from "../../src/image/manifest";
import { listFiles, seededBytes, tempDir, writeTree, cleanupTempDirs } from "./helpers";

afterAll(cleanupTempDirs);

type Member = { name: string; type?: "file" | "directory" | "symlink" | "link"; content?: string | Buffer; mode?: number; linkname?: string };

/** A tar made with tar-stream's packer (an independent writer from our reader's point of view). */
async function makeTar(members: Member[]): Promise<Buffer> {
  const pack = tar.pack();
  const parts: Buffer[] = [];
  const done = (async () => {
    for await (const p of pack as AsyncIterable<Buffer>) parts.push(p);
  })();
  for (const m of members) {
    const type = m.type ?? "file";
    const body = type === "file" ? Buffer.from(m.content ?? "") : undefined;
    await new Promise<void>((resolve, reject) =>
      body
        ? pack.entry({ name: m.name, type, mode: m.mode ?? 0o644, uid: 0, gid: 0, size: body.length }, body, (e) => (e ? reject(e) : resolve()))
        : pack.entry({ name: m.name, type, mode: m.mode ?? 0o755, uid: 0, gid: 0, linkname: m.linkname }, (e) => (e ? reject(e) : resolve())),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(parts);
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("importImage: determinism", () => {
  let base: string;
  beforeAll(() => {
    base = tempDir();
  });
  const big = seededBytes(300_000, "big");

  async function makeTree(dir: string, order: "forward" | "reverse", mtime: number) {
    const files: [string, string | Buffer, number][] = [
      ["bin/tool", big, 0o755],
      ["etc/conf", "a=1\n", 0o644],
      ["etc/empty", "", 0o600],
      ["z/deep/file", "deep\n", 0o644],
    ];
    for (const [p, c, mode] of order === "forward" ? files : [...files].reverse()) {
      await writeTree(dir, { [p]: c }, { [p]: mode });
      await fsp.utimes(path.join(dir, p), mtime, mtime);
    }
    await fsp.symlink("tool", path.join(dir, "bin/alias"));
    await fsp.link(path.join(dir, "etc/conf"), path.join(dir, "etc/conf.hard"));
  }

  it("the same tree from different paths, mtimes and creation order gives the same root; edits change it", async () => {
    const a = path.join(base, "one/rootfs");
    const b = path.join(base, "elsewhere/x/y");
    await makeTree(a, "forward", 1_000_000);
    await makeTree(b, "reverse", 2_000_000_000);
    const ra = await importImage(a, null);
    const rb = await importImage(b, new ChunkStore(path.join(base, "store")));
    expect(rb.root.toString()).toBe(ra.root.toString());
    expect(ra.stats).toMatchObject({ files: 4, symlinks: 1, hardlinks: 1 });
    // The root is CIDv1(json, sha256(RFC 8785 JSON)), recomputed here with canonicalize + node:crypto.
    const jcs = canonicalize(decodeManifest(ra.manifestBytes))!;
    expect(Buffer.from(ra.manifestBytes).toString()).toBe(jcs);
    expect(ra.rootHex).toBe("0x" + sha(Buffer.from(jcs)));

    const roots = new Set([ra.root.toString()]);
    const variant = async (name: string, edit: (dir: string) => Promise<void>) => {
      const d = path.join(base, name);
      await makeTree(d, "forward", 1_000_000);
      await edit(d);
      const r = await importImage(d, null);
      expect(roots.has(r.root.toString()), name).toBe(false);
      roots.add(r.root.toString());
    };
    await variant("flip", async (d) => {
      const b2 = Buffer.from(big);
      b2[123_456] ^= 1;
      await fsp.writeFile(path.join(d, "bin/tool"), b2);
    });
    await variant("mode", (d) => fsp.chmod(path.join(d, "etc/conf"), 0o640));
    await variant("rename", (d) => fsp.rename(path.join(d, "z/deep/file"), path.join(d, "z/deep/file2")));
  });

  it("a tar of a tree (made by GNU tar) gives the same root as the tree itself", async () => {
    const d = path.join(base, "fortar");
    await makeTree(d, "forward", 5);
    const tarFile = path.join(base, "tree.tar");
    execFileSync("tar", ["--numeric-owner", "--owner=0", "--group=0", "-cf", tarFile, "-C", d, "."]);
    const fromDir = await importImage(d, null);
    const fromTar = await importImage(tarFile, null);
    expect(fromTar.stats.format).toBe("tar");
    expect(fromTar.root.toString()).toBe(fromDir.root.toString());
    execFileSync("gzip", ["-k", tarFile]);
    expect((await importImage(tarFile + ".gz", null)).root.toString()).toBe(fromDir.root.toString());
  });
});

describe("importImage: OCI image layout and docker save", () => {
  async function layers() {
    const l1 = await makeTar([
      { name: "etc/", type: "directory" },
      { name: "etc/os-release", content: "ID=base\n" },
      { name: "etc/removed", content: "gone soon\n" },
      { name: "var/", type: "directory" },
      { name: "var/cache/", type: "directory" },
      { name: "var/cache/a", content: "a" },
      { name: "var/cache/b", content: "b" },
      { name: "bin/", type: "directory" },
      { name: "bin/busybox", content: "#!fake busybox\n", mode: 0o755 },
      { name: "bin/sh", type: "symlink", linkname: "busybox" },
    ]);
    const l2 = await makeTar([
      { name: "etc/.wh.removed" }, // whiteout: removes etc/removed from layer 1
      { name: "var/cache/.wh..wh..opq" }, // opaque: hides a and b
      { name: "var/cache/c", content: "c" },
      { name: "etc/os-release", content: "ID=app\n" },
      { name: "app/run", content: "echo hi\n", mode: 0o755 },
    ]);
    return [l1, gzipSync(l2)];
  }

  const expected = ["app", "app/run", "bin", "bin/busybox", "bin/sh", "etc", "etc/os-release", "var", "var/cache", "var/cache/c"];

  it("applies two layers in order with a whiteout and an opaque directory (OCI layout tarball)", async () => {
    const [l1, l2] = await layers();
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${sha(config)}`, size: config.length },
        layers: [
          { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: `sha256:${sha(l1)}`, size: l1.length },
          { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: `sha256:${sha(l2)}`, size: l2.length },
        ],
      }),
    );
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${sha(manifest)}`, size: manifest.length }],
      }),
    );
    const archive = await makeTar([
      { name: "oci-layout", content: '{"imageLayoutVersion":"1.0.0"}' },
      { name: "index.json", content: index },
      { name: "blobs/", type: "directory" },
      { name: "blobs/sha256/", type: "directory" },
      ...[config, manifest, l1, l2].map((b) => ({ name: `blobs/sha256/${sha(b)}`, content: b })),
    ]);
    const dir = tempDir();
    await fsp.writeFile(path.join(dir, "image.tar"), archive);
    const store = new ChunkStore(path.join(dir, "store"));
    const r = await importImage(path.join(dir, "image.tar"), store);
    expect(r.stats.format).toBe("oci-layout");
    expect(r.stats.layers).toBe(2);
    expect(r.manifest.entries.map((e) => e.path)).toEqual(expected);
    const osRelease = r.manifest.entries.find((e) => e.path === "etc/os-release")!;
    expect(await store.get(osRelease.chunks![0])).toEqual(Buffer.from("ID=app\n"));

    // The same image as a docker-save tarball gives the same root.
    const docker = await makeTar([
      { name: "manifest.json", content: JSON.stringify([{ Config: "config.json", RepoTags: ["demo:latest"], Layers: ["l1/layer.tar", "l2/layer.tar"] }]) },
      { name: "config.json", content: config },
      { name: "l1/layer.tar", content: l1 },
      { name: "blobs/l2.tar", content: l2 },
      { name: "l2/layer.tar", type: "symlink", linkname: "../blobs/l2.tar" }, // docker save links shared layers
    ]);
    await fsp.writeFile(path.join(dir, "docker.tar"), docker);
    const d = await importImage(path.join(dir, "docker.tar"), null);
    expect(d.stats.format).toBe("docker-save");
    expect(d.root.toString()).toBe(r.root.toString());

    // The same layout unpacked into a directory (what `skopeo copy oci:DIR` leaves) gives the same root.
    const layoutDir = path.join(dir, "layout");
    await fsp.mkdir(layoutDir);
    execFileSync("tar", ["-xf", path.join(dir, "image.tar"), "-C", layoutDir]);
    const fromDir = await importImage(layoutDir, null);
    expect(fromDir.stats.format).toBe("oci-layout");
    expect(fromDir.root.toString()).toBe(r.root.toString());

    // A layer blob whose bytes do not match its digest is refused.
    const corrupt = Buffer.from(archive);
    const at = corrupt.indexOf(Buffer.from("ID=base"));
    corrupt[at] = "X".charCodeAt(0);
    await fsp.writeFile(path.join(dir, "corrupt.tar"), corrupt);
    await expect(importImage(path.join(dir, "corrupt.tar"), store)).rejects.toMatchObject({ code: "TAMPERED" });

    // Members spooled to temporary files (as large layers are) give the same roots and the same
    // refusal, and leave no temporary file behind.
    const spools = () => readdirSync(os.tmpdir()).filter((n) => n.startsWith("hypha-import-")).length;
    const spoolsBefore = spools();
    const spooled = { spoolAboveBytes: 16 };
    expect((await importImage(path.join(dir, "image.tar"), null, spooled)).root.toString()).toBe(r.root.toString());
    expect((await importImage(path.join(dir, "docker.tar"), null, spooled)).root.toString()).toBe(r.root.toString());
    await expect(importImage(path.join(dir, "corrupt.tar"), null, spooled)).rejects.toMatchObject({ code: "TAMPERED" });
    expect(spools()).toBe(spoolsBefore);
  });
});

describe("importImage: bad input changes nothing", () => {
  async function expectRejected(members: Member[] | Buffer, pattern: RegExp, code: string) {
    const dir = tempDir();
    const file = path.join(dir, "in.tar");
    await fsp.writeFile(file, Buffer.isBuffer(members) ? members : await makeTar(members));
    const storeDir = path.join(dir, "store");
    const store = new ChunkStore(storeDir);
    await store.put(Buffer.from("pre-existing")); // the store has something in it already
    const before = await listFiles(dir);
    const err = await importImage(file, store).catch((e) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect(err.shortMessage).toMatch(pattern);
    expect(err.code).toBe(code);
    expect(await listFiles(dir)).toEqual(before); // nothing staged or half-written is left, nothing outside
  }

  it("rejects ../ and absolute entries", async () => {
    await expectRejected(
      [
        { name: "ok", content: "x" },
        { name: "../escape", content: "x" },
      ],
      /"\.\.\/escape".*"\.\." components are not allowed/,
      "BAD_PATH",
    );
    await expectRejected([{ name: "a/../../b", content: "x" }], /"\.\." components are not allowed/, "BAD_PATH");
    await expectRejected([{ name: "/etc/passwd", content: "x" }], /absolute paths are not allowed/, "BAD_PATH");
  });

  it("rejects symlinks pointing outside the root and hardlinks to nothing", async () => {
    await expectRejected([{ name: "a/link", type: "symlink", linkname: "../../etc/passwd" }], /symlink "a\/link".*points outside the image root/, "BAD_PATH");
    await expectRejected([{ name: "h", type: "link", linkname: "../../etc/shadow" }], /"\.\." components are not allowed/, "BAD_PATH");
    await expectRejected([{ name: "h", type: "link", linkname: "missing" }], /hardlink "h" -> "missing": target is not a regular file/, "BAD_PATH");
  });

  it("rejects a corrupt and a truncated tar", async () => {
    const good = await makeTar([{ name: "f", content: seededBytes(5000, "t") }]);
    const corrupt = Buffer.from(good);
    corrupt[100] ^= 0xff; // header checksum no longer matches
    await expectRejected(corrupt, /corrupt or unsupported tar/, "BAD_ARCHIVE");
    await expectRejected(good.subarray(0, 2048), /corrupt or unsupported tar/, "BAD_ARCHIVE");
    await expectRejected(Buffer.from("definitely not a tar file at all, just text".repeat(20)), /corrupt or unsupported tar/, "BAD_ARCHIVE");
  });

  it("rejects an oversize manifest", async () => {
    const dir = tempDir();
    await writeTree(path.join(dir, "tree"), Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${i}`, `content ${i}`])));
    const store = new ChunkStore(path.join(dir, "store"));
    const err = await importImage(path.join(dir, "tree"), store, { maxManifestBytes: 2000 }).catch((e) => e);
    expect(err).toMatchObject({ code: "TOO_LARGE" });
    expect(err.shortMessage).toMatch(/manifest: \d+ bytes is over the limit of 2000 bytes/);
    expect(await store.list()).toEqual([]);
  });

  it("rejects a directory with an escaping symlink, and a missing path", async () => {
    const dir = tempDir();
    await writeTree(path.join(dir, "tree"), { "a/f": "x" });
    await fsp.symlink("../../outside", path.join(dir, "tree/a/bad"));
    await expect(importImage(path.join(dir, "tree"), null)).rejects.toThrow(/symlink "a\/bad".*points outside the image root/);
    await expect(importImage(path.join(dir, "nope"), null)).rejects.toThrow(/import path ".*nope": does not exist/);
  });
});
