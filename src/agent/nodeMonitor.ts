/**
 * The node monitor: a small process beside each agent (a POSIX shell loop, nothing to install) that
 * stops the node's replicas when the agent's lease (lease.ts) lapses, so a frozen, partitioned or
 * killed agent's replicas stop too, before the watcher's node-lost window lets it re-place them.
 * It runs in its own session, so a signal to the agent (SIGSTOP, SIGKILL) does not reach it. Every
 * `intervalMs` it reads the lease file; once the lease has lapsed it SIGKILLs every replica shim of
 * this node (found by the pid file each shim writes first, checked by the shim's marker
 * `hypha-replica:<name>` in /proc/PID/cmdline; the shim's process group takes the sandbox with it)
 * and whatever is left in the replicas' cgroups. It exits when the agent releases the lease (clean
 * shutdown), when the lease file is gone, or when the lease has lapsed, the agent is dead and
 * nothing is left to stop. The agent starts it (again) whenever none is running for its data
 * directory.
 */
import { spawn } from "node:child_process";
import { openSync, closeSync, readFileSync, promises as fs } from "node:fs";
import path from "node:path";
import { LEASE_FILE } from "./lease";

/** argv[0] of the monitor process, as `ps` shows it. */
export const MONITOR_MARKER = "hypha-node-monitor";
/** The monitor's pid file and log, inside the agent's data directory. */
export const MONITOR_PID_FILE = "monitor.pid";
export const MONITOR_LOG_FILE = "monitor.log";

/** Where one node's monitor looks. */
export interface NodeMonitorOptions {
  /** The agent's data directory (holds the lease file). */
  dataDir: string;
  /** The runtime's records directory (each shim writes `<name>.pid` there). */
  stateDir: string;
  /** cgroup v1 root, or null. */
  cgroupRoot: string | null;
  /** How often the lease is checked (default 200 ms). */
  intervalMs?: number;
}

/**
 * The monitor's shell program (pure). Arguments: lease file, state dir, cgroup root ("" for none),
 * sleep interval in seconds, pid file.
 * @example spawn("/bin/sh", ["-c", monitorScript(), MONITOR_MARKER, lease, stateDir, "/sys/fs/cgroup", "0.2", pidFile])
 */
export function monitorScript(): string {
  return `
L="$1"; S="$2"; CG="$3"; I="$4"; M="$5"
echo $$ > "$M"
log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $*"; }
fence() {
  alive=0
  for f in "$S"/*.pid; do
    [ -f "$f" ] || continue
    name=\${f##*/}; name=\${name%.pid}
    p=""; read p < "$f" 2>/dev/null || true
    case "$p" in ''|*[!0-9]*) continue;; esac
    if grep -qaF "hypha-replica:$name" /proc/"$p"/cmdline 2>/dev/null; then
      kill -9 -"$p" 2>/dev/null || true; kill -9 "$p" 2>/dev/null || true
      alive=$((alive + 1)); log "fenced replica $name (shim pid $p): $why"
    fi
    if [ -n "$CG" ]; then
      for c in pids memory cpu; do
        g="$CG/$c/hypha/$name/cgroup.procs"
        [ -r "$g" ] || continue
        while read q; do kill -9 "$q" 2>/dev/null && alive=$((alive + 1)); done < "$g"
      done
    fi
  done
}
log "monitor started: lease $L, replicas $S"
while :; do
  st=gone; exp=0; apid=0
  { read exp apid st < "$L"; } 2>/dev/null || st=gone
  read up rest < /proc/uptime
  now=$(( \${up%.*}\${up#*.} * 10 ))
  case "$st" in
    released) log "lease released by agent $apid: exiting"; exit 0;;
    held) if [ "$now" -lt "$exp" ]; then sleep "$I"; continue; fi; why="the agent's lease lapsed $((now - exp)) ms ago";;
    *) why="no lease file";;
  esac
  fence
  if [ "$st" != held ]; then log "$why: exiting"; exit 0; fi
  if [ ! -d /proc/"$apid" ] && [ "$alive" -eq 0 ]; then log "agent $apid is gone and nothing is left to stop: exiting"; exit 0; fi
  sleep "$I"
done
`;
}

/** The pid of the monitor running for `dataDir`, or null. */
export function runningMonitorPid(dataDir: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(dataDir, MONITOR_PID_FILE), "utf8").trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    if (/^\d+ \(.*\) [ZX]/.test(stat)) return null;
    return argv[3] === MONITOR_MARKER && argv[4] === path.join(dataDir, LEASE_FILE) ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Start the node monitor for `opts.dataDir` unless one runs; returns its pid and whether it was started now.
 * @example const { pid } = await ensureNodeMonitor({ dataDir, stateDir: path.join(dataDir, "runtime"), cgroupRoot: "/sys/fs/cgroup" });
 */
export async function ensureNodeMonitor(opts: NodeMonitorOptions): Promise<{ pid: number; started: boolean }> {
  const running = runningMonitorPid(opts.dataDir);
  if (running) return { pid: running, started: false };
  await fs.mkdir(opts.stateDir, { recursive: true });
  const pidFile = path.join(opts.dataDir, MONITOR_PID_FILE);
  const log = openSync(path.join(opts.dataDir, MONITOR_LOG_FILE), "a");
  let child;
  try {
    const seconds = ((opts.intervalMs ?? 200) / 1000).toFixed(3);
    child = spawn(
      "/bin/sh",
      ["-c", monitorScript(), MONITOR_MARKER, path.join(opts.dataDir, LEASE_FILE), opts.stateDir, opts.cgroupRoot ?? "", seconds, pidFile],
      {
        detached: true,
        stdio: ["ignore", log, log],
        env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
      },
    );
  } finally {
    closeSync(log);
  }
  child.unref();
  const pid = child.pid!;
  // The script writes it too; writing it here at once keeps a second call from starting a second monitor.
  await fs.writeFile(pidFile, `${pid}\n`);
  return { pid, started: true };
}
