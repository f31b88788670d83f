/**
 * Runtime driver 2, `process`: runs the image's binaries straight from the materialized rootfs
 * on the host, WITHOUT any isolation (only with --no-sandbox; the agent warns loudly). Limits
 * still apply through cgroups when available. argv[0] is resolved inside the rootfs (symlinks
 * re-rooted), the working directory is the rootfs path of the spec's working dir, the
 * environment is exactly the spec's. Declared writable directories are not remapped (there is
 * no mount namespace): workloads see only the host paths.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { LaunchRequest, RunningProcess, RuntimeDriver } from "./driver";
import { launchLimited, type LimitsOptions } from "./limitsRunner";
import { RuntimeError } from "../errors";

/**
 * Resolve `name` to an executable host path inside `rootfs`, following symlinks with absolute
 * targets re-rooted at rootfs.
 * @example await resolveInRootfs("/srv/rootfs", "echo", "/bin:/usr/bin") // "/srv/rootfs/bin/busybox"
 */
export async function resolveInRootfs(rootfs: string, name: string, pathVar: string): Promise<string | null> {
  const candidates = name.includes("/") ? [name] : pathVar.split(":").filter(Boolean).map((d) => path.posix.join(d, name));
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

/**
 * The unsandboxed process driver.
 * @example const driver = createProcessDriver({ cgroupRoot: null });
 */
export function createProcessDriver(opts: Partial<LimitsOptions> = {}): RuntimeDriver {
  const limits: LimitsOptions = { cgroupRoot: opts.cgroupRoot === undefined ? "/sys/fs/cgroup" : opts.cgroupRoot };
  return {
    name: "process",
    sandboxed: false,
    async launch(request: LaunchRequest): Promise<RunningProcess> {
      if (request.argv.length === 0) throw new RuntimeError(`replica ${request.name}: argv is empty (no command and no image default)`);
      const exe = await resolveInRootfs(request.rootfs, request.argv[0], request.env.PATH ?? "/usr/local/bin:/usr/bin:/bin");
      if (!exe) throw new RuntimeError(`replica ${request.name}: command "${request.argv[0]}" not found in the image`);
      const cwd = (await followInside(request.rootfs, path.posix.resolve("/", request.workingDir || "/"))) ?? request.rootfs;
      for (const w of request.writableDirs) await fs.mkdir(w.host, { recursive: true });
      // bash's exec -a keeps argv[0] as the workload asked (multi-call binaries like busybox need it).
      const command = ["/bin/bash", "-c", 'exe="$1"; shift; exec -a "$1" "$exe" "${@:2}"', "hypha-exec", exe, ...request.argv];
      return launchLimited(command, request, limits, cwd, request.env);
    },
  };
}
