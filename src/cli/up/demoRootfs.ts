/**
 * buildDemoRootfs: a small but real root filesystem for the demo, made from Debian's busybox-static
 * (/bin/busybox) with applet symlinks, /etc/os-release, passwd/group and empty mount points. It
 * stands in for "ubuntu:latest" / "ubuntu-latest": no container registry is reachable here.
 */
import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { ImageError } from "../../image";
import { buildHostRootfs, HOST_TOOLS } from "./hostRootfs";

/** Applets linked in /bin (all exist in Debian's busybox 1.35): the host fallback's tools and three only busybox brings. */
export const DEMO_APPLETS = [...HOST_TOOLS, "ash", "ps", "["] as const;

export interface DemoRootfs {
  dir: string;
  /** What the tree is made of: Debian's busybox-static, or (without it) this host's own tools. */
  source: "busybox" | "host";
  /** sha256 of the busybox binary copied in (which busybox the image holds). */
  busyboxSha256: string;
  applets: readonly string[];
}

const OS_RELEASE = `PRETTY_NAME="Hypha demo rootfs (busybox stand-in for ubuntu:latest)"
NAME="Hypha demo rootfs"
ID=hypha-busybox
ID_LIKE=debian
VERSION_ID="1"
HOME_URL="https://example.invalid/hypha"
`;

/**
 * Build the demo root filesystem in `targetDir` (created; must be absent or empty).
 * @example const { dir } = await buildDemoRootfs("/tmp/rootfs"); await importImage(dir, store)
 */
export async function buildDemoRootfs(targetDir: string, opts: { busybox?: string } = {}): Promise<DemoRootfs> {
  const busybox = opts.busybox ?? "/bin/busybox";
  if (
    opts.busybox === undefined &&
    !(await fsp.stat(busybox).then(
      (st) => st.isFile(),
      () => false,
    ))
  ) {
    // A fresh machine with only Node: build the same kind of tree from the host's own tools.
    const host = await buildHostRootfs(targetDir);
    return { dir: host.dir, source: "host", busyboxSha256: "", applets: host.tools };
  }
  const bin = await fsp.readFile(busybox).catch((cause) => {
    throw new ImageError(`busybox: cannot read "${busybox}" (install Debian's busybox-static)`, { code: "NOT_FOUND", cause, path: busybox });
  });
  await fsp.mkdir(targetDir, { recursive: true });
  if ((await fsp.readdir(targetDir)).length > 0) throw new ImageError(`demo rootfs target "${targetDir}": not empty`, { code: "CONFLICT", path: targetDir });
  const dir = (p: string, mode = 0o755) => mkdirMode(path.join(targetDir, p), mode);
  const file = async (p: string, content: string | Buffer, mode = 0o644) => {
    await fsp.writeFile(path.join(targetDir, p), content);
    await fsp.chmod(path.join(targetDir, p), mode);
  };
  for (const d of ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "home", "proc", "sys", "dev", "run", "var", "app", "lib"])
    await dir(d, d === "root" ? 0o700 : 0o755);
  await dir("tmp", 0o1777);
  await dir("var/tmp", 0o1777);
  await file("bin/busybox", bin, 0o755);
  for (const a of DEMO_APPLETS) await fsp.symlink("busybox", path.join(targetDir, "bin", a));
  await fsp.symlink("../../bin/busybox", path.join(targetDir, "usr/bin/env"));
  await file("etc/os-release", OS_RELEASE);
  await file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  await file("etc/group", "root:x:0:\nnogroup:x:65534:\n");
  await file("etc/hostname", "hypha\n");
  await file("etc/hosts", "127.0.0.1 localhost\n");
  return { dir: path.resolve(targetDir), source: "busybox", busyboxSha256: createHash("sha256").update(bin).digest("hex"), applets: DEMO_APPLETS };
}

async function mkdirMode(p: string, mode: number): Promise<void> {
  await fsp.mkdir(p, { recursive: true });
  await fsp.chmod(p, mode);
}
