/**
 * buildHostRootfs: the demo root filesystem when Debian's busybox-static is not installed (a fresh
 * machine with only Node). It copies this host's own shell and core tools (dash, coreutils, grep,
 * sed, ...) with every shared library `ldd` names, at the same paths, so the tree runs on its own
 * under bubblewrap or chroot. Like the busybox tree, it stands in for "ubuntu:latest".
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { promises as fsp, existsSync, realpathSync } from "node:fs";
import * as path from "node:path";
import { ImageError } from "../../image";

/** Tools copied when the host has them; `sh` is required. */
export const HOST_TOOLS = [
  "sh",
  "echo",
  "cat",
  "sleep",
  "ls",
  "true",
  "false",
  "printf",
  "env",
  "head",
  "tail",
  "wc",
  "mkdir",
  "rm",
  "cp",
  "mv",
  "seq",
  "date",
  "uname",
  "hostname",
  "id",
  "sha256sum",
  "md5sum",
  "sort",
  "uniq",
  "tr",
  "cut",
  "tee",
  "touch",
  "grep",
  "sed",
  "awk",
  "find",
  "xargs",
  "expr",
  "test",
  "basename",
  "dirname",
  "pwd",
  "whoami",
  "stat",
  "od",
  "dd",
  "chmod",
  "ln",
  "kill",
  "yes",
] as const;

const SEARCH_PATH = ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"];

/** The absolute path of `tool` on this host, or undefined. */
function findTool(tool: string): string | undefined {
  for (const dir of SEARCH_PATH) {
    const p = path.join(dir, tool);
    if (existsSync(p)) return realpathSync(p);
  }
  return undefined;
}

/** Shared libraries and the ELF interpreter a binary needs, by `ldd` (empty for static binaries). */
export function sharedLibraries(binary: string): string[] {
  let out: string;
  try {
    out = execFileSync("ldd", [binary], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return []; // "not a dynamic executable"
  }
  const libs: string[] = [];
  for (const line of out.split("\n")) {
    const m = /=>\s+(\/\S+)\s+\(/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

/**
 * Build the host-tools root filesystem in `targetDir` (created; must be absent or empty).
 * @example const { dir } = await buildHostRootfs("/tmp/rootfs")
 */
export async function buildHostRootfs(targetDir: string): Promise<{ dir: string; shSha256: string; tools: string[] }> {
  const sh = findTool("sh");
  if (!sh) throw new ImageError("sh: this host has no /bin/sh to build the demo image from", { code: "NOT_FOUND", path: "/bin/sh" });
  await fsp.mkdir(targetDir, { recursive: true });
  if ((await fsp.readdir(targetDir)).length > 0) throw new ImageError(`demo rootfs target "${targetDir}": not empty`, { code: "CONFLICT", path: targetDir });
  for (const d of ["bin", "usr/bin", "etc", "root", "tmp", "proc", "sys", "dev", "run", "var/tmp", "app", "out"]) {
    await fsp.mkdir(path.join(targetDir, d), { recursive: true });
  }
  await fsp.chmod(path.join(targetDir, "tmp"), 0o1777);
  await fsp.chmod(path.join(targetDir, "var/tmp"), 0o1777);
  const libs = new Set<string>();
  const tools: string[] = [];
  for (const tool of HOST_TOOLS) {
    const src = findTool(tool);
    if (!src) continue;
    await fsp.copyFile(src, path.join(targetDir, "bin", tool));
    await fsp.chmod(path.join(targetDir, "bin", tool), 0o755);
    for (const lib of sharedLibraries(src)) libs.add(lib);
    tools.push(tool);
  }
  for (const lib of libs) {
    const dest = path.join(targetDir, lib);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    await fsp.copyFile(realpathSync(lib), dest);
    await fsp.chmod(dest, 0o755);
  }
  await fsp.writeFile(
    path.join(targetDir, "etc/os-release"),
    'PRETTY_NAME="Hypha demo rootfs (host tools stand-in for ubuntu:latest)"\nNAME="Hypha demo rootfs"\nID=hypha-host\n',
  );
  await fsp.writeFile(path.join(targetDir, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  await fsp.writeFile(path.join(targetDir, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  await fsp.writeFile(path.join(targetDir, "etc/hostname"), "hypha\n");
  const shSha256 = createHash("sha256")
    .update(await fsp.readFile(sh))
    .digest("hex");
  return { dir: path.resolve(targetDir), shSha256, tools };
}
