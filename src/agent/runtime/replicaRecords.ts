/**
 * What a host driver remembers about the replicas it launched, on disk, so that an agent restarted
 * after the launching one died (SIGKILL, crash, upgrade) finds them: one JSON record per replica
 * (`<stateDir>/<name>.json`: shim pid and its start time, log files) and the exit status the
 * shim writes when the workload ends (`<name>.exit`). A pid alone could be reused by another
 * process; the pid together with its start time (field 22 of /proc/PID/stat) cannot.
 */
import { promises as fs, mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ExitInfo, ReplicaStatus } from "./driver";

/** One replica's record. */
export interface ReplicaRecord {
  name: string;
  driver: string;
  pid: number;
  /** Start time of `pid` in clock ticks since boot (/proc/PID/stat field 22). */
  startTicks: string;
  startedAt: string;
  stdoutFile: string;
  stderrFile: string;
}

/** The record file, the exit-status file and (for sandboxes that need one) the root mount point of `name`. */
export function recordPaths(stateDir: string, name: string): { record: string; exit: string; root: string } {
  return { record: path.join(stateDir, `${name}.json`), exit: path.join(stateDir, `${name}.exit`), root: path.join(stateDir, `${name}.root`) };
}

/**
 * `pid`'s start time, or null when no such process runs (gone, or a zombie nobody reaped yet).
 * @example processStartTicks(process.pid) // "123456"
 */
export function processStartTicks(pid: number): string | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: the fields after it start past the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return null;
  return fields[19] ?? null;
}

/** True when the process the record names still runs (same pid, same start time). */
export function isRunning(record: ReplicaRecord): boolean {
  return processStartTicks(record.pid) === record.startTicks;
}

/** Write the record of a launched replica (atomically: a reader never sees half a record). */
export async function writeRecord(stateDir: string, record: ReplicaRecord): Promise<void> {
  // Synchronous, as every call here on a replica's path: a few hundred bytes on the node's own
  // disk, where one fs.promises call (thread-pool round trips, a FileHandle) costs several times
  // the system call; a launch and a removal make about ten of them.
  mkdirSync(stateDir, { recursive: true });
  const file = recordPaths(stateDir, record.name).record;
  writeFileSync(`${file}.tmp`, JSON.stringify(record));
  renameSync(`${file}.tmp`, file);
}

/** The record of `name`, or null. */
export async function readRecord(stateDir: string, name: string): Promise<ReplicaRecord | null> {
  let text: string;
  try {
    text = readFileSync(recordPaths(stateDir, name).record, "utf8");
  } catch {
    return null;
  }
  try {
    return JSON.parse(text) as ReplicaRecord;
  } catch {
    return null;
  }
}

/** The names of every recorded replica. */
export async function recordedNames(stateDir: string): Promise<string[]> {
  const files = await fs.readdir(stateDir).catch(() => [] as string[]);
  return files
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -".json".length))
    .sort();
}

/** The exit status the shim wrote, or null when it wrote none (still running, or killed). */
export async function readExit(stateDir: string, name: string): Promise<ExitInfo | null> {
  let text = "";
  try {
    text = readFileSync(recordPaths(stateDir, name).exit, "utf8");
  } catch {
    /* no exit recorded */
  }
  return /^\d+$/.test(text.trim()) ? { code: Number(text.trim()), signal: null } : null;
}

/** The status a record describes now. */
export async function statusOf(stateDir: string, record: ReplicaRecord): Promise<ReplicaStatus> {
  const running = isRunning(record);
  return {
    name: record.name,
    driver: record.driver,
    state: running ? "running" : "exited",
    pid: record.pid,
    startedAt: record.startedAt,
    exit: running ? null : await readExit(stateDir, record.name),
    stdoutFile: record.stdoutFile,
    stderrFile: record.stderrFile,
  };
}

/** Forget `name`: its record, exit file and root mount point. */
export async function removeRecord(stateDir: string, name: string): Promise<void> {
  const p = recordPaths(stateDir, name);
  rmSync(p.record, { force: true });
  rmSync(p.exit, { force: true });
  rmSync(p.exit.replace(/\.exit$/, ".pid"), { force: true }); // the shim's own pid file (cgroup.ts wrapCommand)
  // rmdir, never a recursive rm: were a sandbox's mount ever visible here, only an empty directory goes.
  try {
    rmdirSync(p.root);
  } catch {
    /* not there, or not empty */
  }
}
