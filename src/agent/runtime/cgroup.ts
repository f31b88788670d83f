/**
 * cgroup v1 groups for replica resource limits: one group `hypha/<replica>` per controller
 * (memory, cpu, pids), limits written before the workload starts, and cleanup that kills what
 * is left and removes the groups. The workload is put into the groups by a tiny shell wrapper
 * (see wrapCommand) before it execs, so no instruction of the workload runs unconstrained.
 */
import { promises as fs, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ReplicaLimits } from "./driver";
import { RuntimeError } from "../errors";

export const CGROUP_V1_ROOT = "/sys/fs/cgroup";
export const CFS_PERIOD_US = 100_000;

/** One value to write into one cgroup control file. */
export interface CgroupSetting {
  controller: "memory" | "cpu" | "pids";
  file: string;
  value: string;
}

/**
 * The control-file writes that enforce `limits` (pure). Zero means unlimited and writes nothing.
 * @example cgroupSettings({ cpuMillis: 500, memoryMiB: 64, pids: 128 })
 * // [{controller:"memory",file:"memory.limit_in_bytes",value:"67108864"}, {controller:"cpu",file:"cpu.cfs_period_us",value:"100000"}, ...]
 */
export function cgroupSettings(limits: ReplicaLimits): CgroupSetting[] {
  const out: CgroupSetting[] = [];
  if (limits.memoryMiB > 0) {
    out.push({ controller: "memory", file: "memory.limit_in_bytes", value: String(limits.memoryMiB * 1024 * 1024) });
  }
  if (limits.cpuMillis > 0) {
    out.push({ controller: "cpu", file: "cpu.cfs_period_us", value: String(CFS_PERIOD_US) });
    out.push({ controller: "cpu", file: "cpu.cfs_quota_us", value: String(Math.max(1000, Math.round((limits.cpuMillis * CFS_PERIOD_US) / 1000))) });
  }
  if (limits.pids > 0) out.push({ controller: "pids", file: "pids.max", value: String(limits.pids) });
  return out;
}

/** A replica's cgroups, created and limited, ready for the wrapper to join. */
export interface ReplicaCgroup {
  /** `cgroup.procs` files the wrapper writes its pid into, one per controller used. */
  procsFiles: string[];
  /** Controllers actually applied (others missing on this machine). */
  controllers: string[];
  /** Kill anything left in the groups and remove them. */
  remove(): Promise<void>;
}

/** True when cgroup v1 controllers for memory and cpu are mounted and writable here. */
export function cgroupsAvailable(root = CGROUP_V1_ROOT): boolean {
  return ["memory", "cpu", "pids"].every((c) => existsSync(path.join(root, c, "cgroup.procs")));
}

/**
 * Create `hypha/<name>` under each controller needed by `limits` and write the limits.
 * @example const cg = await createReplicaCgroup("dep-0-1", { cpuMillis: 500, memoryMiB: 64, pids: 64 });
 */
export async function createReplicaCgroup(name: string, limits: ReplicaLimits, root = CGROUP_V1_ROOT): Promise<ReplicaCgroup> {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new RuntimeError(`cgroup name "${name}": only letters, digits, _ . - allowed`);
  const settings = cgroupSettings(limits);
  const controllers = [...new Set(settings.map((s) => s.controller))];
  const dirs: string[] = [];
  // Synchronous calls: cgroupfs lives in kernel memory (no disk behind it), and each call takes
  // microseconds, while the same ~10 calls through fs.promises cost ~1 ms of agent CPU per replica.
  try {
    for (const controller of controllers) {
      const dir = path.join(root, controller, "hypha", name);
      mkdirSync(dir, { recursive: true });
      dirs.push(dir);
    }
    for (const s of settings) {
      writeFileSync(path.join(root, s.controller, "hypha", name, s.file), s.value);
      // Without swap accounting limits, a memory-limited group could swap instead of being OOM-killed.
      if (s.file === "memory.limit_in_bytes") {
        const memsw = path.join(root, "memory", "hypha", name, "memory.memsw.limit_in_bytes");
        if (existsSync(memsw)) {
          try {
            writeFileSync(memsw, s.value);
          } catch {
            /* no swap accounting here */
          }
        }
      }
    }
  } catch (err) {
    await removeDirs(dirs);
    throw new RuntimeError(`cgroup for replica ${name}: cannot create or limit it`, { cause: err, details: String(err) });
  }
  return {
    procsFiles: dirs.map((d) => path.join(d, "cgroup.procs")),
    controllers,
    remove: () => removeDirs(dirs),
  };
}

/**
 * Remove replica groups left empty by an agent that could not clean up (SIGKILLed, crashed): every
 * `hypha/<name>` with no process whose directory is older than `minAgeMs` (younger ones may be
 * a launch of another agent on this machine that has not joined its group yet). `only` limits it to
 * some names. Returns how many directories were removed.
 * @example await removeStaleCgroups() // 3
 */
export async function removeStaleCgroups(opts: { root?: string; minAgeMs?: number; only?: (name: string) => boolean } = {}): Promise<number> {
  const { root = CGROUP_V1_ROOT, minAgeMs = 60_000, only = () => true } = opts;
  let removed = 0;
  for (const controller of ["memory", "cpu", "pids"]) {
    const parent = path.join(root, controller, "hypha");
    const names = await fs.readdir(parent).catch(() => [] as string[]);
    for (const name of names.filter(only)) {
      const dir = path.join(parent, name);
      const st = await fs.stat(dir).catch(() => null);
      if (!st?.isDirectory() || Date.now() - st.mtimeMs < minAgeMs) continue;
      const procs = await fs.readFile(path.join(dir, "cgroup.procs"), "utf8").catch(() => "x");
      if (procs.trim() !== "") continue;
      await fs.rmdir(dir).then(
        () => removed++,
        () => undefined,
      );
    }
  }
  return removed;
}

/**
 * Kill what is left in replica `name`'s groups and remove them, by name (for a replica an earlier
 * agent process launched, whose ReplicaCgroup handle is gone). Missing groups are fine.
 * @example await removeReplicaCgroup("dep-0-1")
 */
export async function removeReplicaCgroup(name: string, root = CGROUP_V1_ROOT): Promise<void> {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new RuntimeError(`cgroup name "${name}": only letters, digits, _ . - allowed`);
  await removeDirs(["memory", "cpu", "pids"].map((c) => path.join(root, c, "hypha", name)).filter((d) => existsSync(d)));
}

async function removeDirs(dirs: string[]): Promise<void> {
  // Synchronous, like createReplicaCgroup: cgroupfs calls take microseconds.
  for (const dir of dirs) {
    for (let i = 0; i < 50; i++) {
      let procs = "";
      try {
        procs = readFileSync(path.join(dir, "cgroup.procs"), "utf8");
      } catch {
        /* gone already */
      }
      for (const pid of procs.split("\n").filter(Boolean)) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          /* already gone */
        }
      }
      try {
        rmdirSync(dir);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

/**
 * Prefix `command` with a /bin/sh wrapper (the replica's shim, like containerd's) that joins the
 * given cgroups (and applies rlimits), runs the command, and writes its exit status to `exitFile`,
 * so an agent restarted after the launching one died can still learn how the replica ended; it
 * writes its own pid first (`<name>.pid` beside `<name>.exit`), so the node monitor (nodeMonitor.ts)
 * can stop it even when the agent died before recording it. The
 * shim's argv[0] is `hypha-replica:<label>`, which names the replica in `ps` and /proc (pure).
 * @example wrapCommand(["bwrap", "..."], { label: "x", exitFile: "/s/x.exit", procsFiles: ["/sys/fs/cgroup/memory/hypha/x/cgroup.procs"], rlimitMemoryKiB: 0 })
 */
export function wrapCommand(command: string[], opts: { label: string; exitFile: string; procsFiles: string[]; rlimitMemoryKiB: number }): string[] {
  const script = [
    // First the shim's pid, beside its exit file (`<name>.pid`): the node monitor stops replicas by it.
    'x="$1"; shift; echo $$ > "${x%.exit}.pid" 2>/dev/null || :',
    'while [ "$1" != "--" ]; do echo $$ > "$1" || exit 125; shift; done; shift',
    opts.rlimitMemoryKiB > 0 ? `ulimit -v ${Math.floor(opts.rlimitMemoryKiB)} || exit 125` : "",
    '"$@"; s=$?; echo $s > "$x"; exit $s',
  ]
    .filter(Boolean)
    .join("; ");
  return ["/bin/sh", "-c", script, `hypha-replica:${opts.label}`, opts.exitFile, ...opts.procsFiles, "--", ...command];
}
