/**
 * Runtime driver `process`: runs the image's binaries straight from the materialized rootfs on
 * the host, WITHOUT any isolation (only when chosen by name, `--runtime process`, for development;
 * `auto` never picks it, and the agent warns loudly). Limits
 * still apply through cgroups when available. argv[0] is resolved inside the rootfs (symlinks
 * re-rooted), the working directory is the rootfs path of the spec's working dir, the
 * environment is exactly the spec's. Declared writable directories are not remapped (there is
 * no mount namespace): workloads see only the host paths.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { RuntimeDriver } from "./driver";
import { createHostDriver, type HostDriverOptions, type HostSandbox } from "./hostDriver";
import { RuntimeError } from "../errors";

/**
 * Resolve `name` to an executable host path inside `rootfs`, following symlinks with absolute
 * targets re-rooted at rootfs.
 * @example await resolveInRootfs("/srv/rootfs", "echo", "/bin:/usr/bin") // "/srv/rootfs/bin/busybox"
 */
export async function resolveInRootfs(rootfs: string, name: string, pathVar: string): Promise<string | null> {
  const candidates = name.includes("/")
    ? [name]
    : pathVar
        .split(":")
        .filter(Boolean)
        .map((d) => path.posix.join(d, name));
  for (const c of candidates) {
    const resolved = await followInside(rootfs, path.posix.resolve("/", c));
    if (resolved) {
      const st = await fs.stat(resolved).catch(() => null);
      if (st?.isFile() && st.mode & 0o111) return resolved;
    }
  }
  return null;
}

async function followInside(rootfs: string, inside: string, hops = 0): Promise<string | null> {
  if (hops > 40) return null;
  const parts = inside.split("/").filter(Boolean);
  let cur = "/";
  for (let i = 0; i < parts.length; i++) {
    const next = path.posix.join(cur, parts[i]);
    const st = await fs.lstat(path.join(rootfs, next)).catch(() => null);
    if (!st) return null;
    if (st.isSymbolicLink()) {
      const target = await fs.readlink(path.join(rootfs, next));
      const base = target.startsWith("/") ? target : path.posix.join(cur, target);
      return followInside(rootfs, path.posix.resolve("/", base, ...parts.slice(i + 1)), hops + 1);
    }
    cur = next;
  }
  return path.join(rootfs, cur);
}

/** Running the image's binaries on the host, as a host-driver command. */
export function processSandbox(): HostSandbox {
  return {
    name: "process",
    sandboxed: false,
    async command(request) {
      const rootfs = request.image.rootfs;
      const exe = await resolveInRootfs(rootfs, request.argv[0], request.env.PATH ?? "/usr/local/bin:/usr/bin:/bin");
      if (!exe) throw new RuntimeError(`replica ${request.name}: command "${request.argv[0]}" not found in the image`);
      const cwd = (await followInside(rootfs, path.posix.resolve("/", request.workingDir || "/"))) ?? rootfs;
      // bash's exec -a keeps argv[0] as the workload asked (multi-call binaries like busybox need it).
      return { argv: ["/bin/bash", "-c", 'exe="$1"; shift; exec -a "$1" "$exe" "${@:2}"', "hypha-exec", exe, ...request.argv], cwd, env: request.env };
    },
  };
}

/**
 * The unsandboxed process driver.
 * @example const driver = createProcessDriver({ stateDir: ".hypha/nodes/1/runtime", cgroupRoot: null });
 */
export function createProcessDriver(opts: Partial<HostDriverOptions> & { stateDir: string }): RuntimeDriver {
  return createHostDriver(processSandbox(), { stateDir: opts.stateDir, cgroupRoot: opts.cgroupRoot === undefined ? "/sys/fs/cgroup" : opts.cgroupRoot });
}
