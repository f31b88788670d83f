/**
 * The demo image without busybox-static (a fresh machine with only Node): the host's own tools and
 * the shared libraries ldd names must make a tree that runs on its own, checked by really running
 * its shell inside it with chroot (the tree is the whole filesystem the process sees).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildHostRootfs, sharedLibraries } from "../../../src/cli/up/hostRootfs";
import { buildDemoRootfs } from "../../../src/cli/up/demoRootfs";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), "hypha-hostfs-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const isRoot = process.getuid?.() === 0;
const chroot = ["/usr/sbin/chroot", "/usr/bin/chroot", "/sbin/chroot"].find((p) => existsSync(p)) ?? "chroot";

describe("host-tools demo rootfs", () => {
  it("copies sh and the libraries ldd names for it", async () => {
    const root = path.join(tmp(), "fs");
    const built = await buildHostRootfs(root);
    expect(built.tools).toContain("sh");
    expect(existsSync(path.join(root, "bin/sh"))).toBe(true);
    for (const lib of sharedLibraries("/bin/sh")) expect(existsSync(path.join(root, lib)), lib).toBe(true);
  });

  // chroot needs root (CI runs as root); as another user this cannot be checked here.
  it.skipIf(!isRoot)("runs on its own: the shell and coreutils work inside the tree with chroot", async () => {
    const root = path.join(tmp(), "fs");
    await buildHostRootfs(root);
    const out = execFileSync(
      chroot,
      [root, "/bin/sh", "-c", 'i=0; s=0; while [ "$i" -lt 10 ]; do i=$((i + 1)); s=$((s + i * i)); done; echo "sum $s"; echo hi | cat; ls /bin/sh'],
      { encoding: "utf8" },
    );
    expect(out).toBe("sum 385\nhi\n/bin/sh\n");
  });

  it("buildDemoRootfs falls back to it only when busybox is absent, and says which it built", async () => {
    const demo = await buildDemoRootfs(path.join(tmp(), "fs"));
    expect(demo.source).toBe(existsSync("/bin/busybox") ? "busybox" : "host");
  });
});
