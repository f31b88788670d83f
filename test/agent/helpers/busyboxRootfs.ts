/**
 * Test helper: a small, real root filesystem built from Debian's busybox-static (the same way
 * the demo builds its images), for sandbox and agent tests.
 */
import { promises as fs } from "node:fs";
import path from "node:path";

export const BUSYBOX = "/usr/bin/busybox";
const APPLETS = ["sh", "echo", "cat", "ls", "sleep", "head", "tr", "wget", "hostname", "ps", "id", "env", "pwd", "true", "false", "nc", "wc", "ip", "mkdir"];

/** Create `dir` with bin/busybox, applet symlinks, etc/ and an empty home. Returns dir. */
export async function makeBusyboxRootfs(dir: string): Promise<string> {
  await fs.mkdir(path.join(dir, "bin"), { recursive: true });
  await fs.copyFile(BUSYBOX, path.join(dir, "bin", "busybox"));
  await fs.chmod(path.join(dir, "bin", "busybox"), 0o755);
  for (const a of APPLETS) await fs.symlink("busybox", path.join(dir, "bin", a));
  await fs.mkdir(path.join(dir, "etc"), { recursive: true });
  await fs.writeFile(path.join(dir, "etc", "hostname"), "image\n");
  await fs.mkdir(path.join(dir, "home"), { recursive: true });
  await fs.symlink("bin", path.join(dir, "sbin"));
  return dir;
}
