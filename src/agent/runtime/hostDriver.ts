/**
 * The part every host runtime driver shares (bwrap, unshare, process): a driver only says which
 * host command runs a replica (`HostSandbox.command`); this file launches it under the replica's
 * limits and shim, keeps the replica's record on disk (replicaRecords.ts), and answers list,
 * status, logs, adopt and remove from those records, so a restarted agent finds what an earlier
 * agent process launched.
 */
import { mkdirSync, rmSync } from "node:fs";
import type { ExitInfo, LaunchRequest, ReplicaLogs, ReplicaStatus, RunningProcess, RuntimeDriver } from "./driver";
import { launchLimited, type LimitsOptions } from "./limitsRunner";
import { removeReplicaCgroup } from "./cgroup";
import {
  isRunning,
  processStartTicks,
  readExit,
  readRecord,
  recordedNames,
  recordPaths,
  removeRecord,
  statusOf,
  writeRecord,
  type ReplicaRecord,
} from "./replicaRecords";
import { RuntimeError } from "../errors";

/** The host command that runs one replica, as a driver builds it. */
export interface HostCommand {
  argv: string[];
  cwd: string;
  /** The command's environment (sandboxes set the workload's own inside). */
  env: Record<string, string>;
}

/** What makes one host driver different from another. */
export interface HostSandbox {
  name: string;
  sandboxed: boolean;
  /** Build the host command for `request`; `root` is a private empty directory the sandbox may mount its root on. */
  command(request: LaunchRequest, root: string): Promise<HostCommand>;
}

/** Where host drivers keep their records, and how limits apply. */
export interface HostDriverOptions extends LimitsOptions {
  /** Directory for the replicas' records (one per agent data directory, e.g. `<dataDir>/runtime`). */
  stateDir: string;
}

const POLL_MS = 200;

/**
 * A RuntimeDriver around `sandbox`.
 * @example const driver = createHostDriver(unshareSandbox(), { stateDir: ".hypha/nodes/1/runtime", cgroupRoot: "/sys/fs/cgroup" });
 */
export function createHostDriver(sandbox: HostSandbox, opts: HostDriverOptions): RuntimeDriver {
  const { stateDir } = opts;
  const limits: LimitsOptions = { cgroupRoot: opts.cgroupRoot };

  const release = async (name: string) => {
    if (limits.cgroupRoot) await removeReplicaCgroup(name, limits.cgroupRoot).catch(() => undefined);
  };

  return {
    name: sandbox.name,
    sandboxed: sandbox.sandboxed,

    async launch(request: LaunchRequest): Promise<RunningProcess> {
      if (!/^[A-Za-z0-9_.-]+$/.test(request.name)) throw new RuntimeError(`replica name "${request.name}": only letters, digits, _ . - allowed`);
      if (request.argv.length === 0) throw new RuntimeError(`replica ${request.name}: argv is empty (no command and no image default)`);
      const earlier = await readRecord(stateDir, request.name);
      if (earlier && isRunning(earlier))
        throw new RuntimeError(`replica ${request.name}: already running (pid ${earlier.pid}); adopt it instead of launching it twice`);
      const paths = recordPaths(stateDir, request.name);
      // Synchronous: small metadata calls on the node's own disk (see replicaRecords.ts writeRecord).
      mkdirSync(stateDir, { recursive: true });
      rmSync(paths.exit, { force: true });
      mkdirSync(paths.root, { recursive: true });
      for (const w of request.writableDirs) mkdirSync(w.host, { recursive: true });
      const cmd = await sandbox.command(request, paths.root);
      const proc = await launchLimited(cmd.argv, request, limits, cmd.cwd, cmd.env, paths.exit);
      const record: ReplicaRecord = {
        name: request.name,
        driver: sandbox.name,
        pid: proc.pid,
        startTicks: processStartTicks(proc.pid) ?? "",
        startedAt: new Date().toISOString(),
        stdoutFile: request.stdoutFile,
        stderrFile: request.stderrFile,
      };
      await writeRecord(stateDir, record);
      return proc;
    },

    async list(): Promise<ReplicaStatus[]> {
      const out: ReplicaStatus[] = [];
      for (const name of await recordedNames(stateDir)) {
        const record = await readRecord(stateDir, name);
        if (record) out.push(await statusOf(stateDir, record));
      }
      return out;
    },

    async status(name: string): Promise<ReplicaStatus | null> {
      const record = await readRecord(stateDir, name);
      return record ? statusOf(stateDir, record) : null;
    },

    async adopt(name: string): Promise<RunningProcess | null> {
      const record = await readRecord(stateDir, name);
      if (!record || !isRunning(record)) return null;
      return adoptedProcess(stateDir, record, () => release(name));
    },

    async logs(name: string): Promise<ReplicaLogs | null> {
      const record = await readRecord(stateDir, name);
      return record ? { stdoutFile: record.stdoutFile, stderrFile: record.stderrFile } : null;
    },

    async remove(name: string): Promise<void> {
      const record = await readRecord(stateDir, name);
      if (record && isRunning(record)) await adoptedProcess(stateDir, record, async () => undefined).stop();
      await release(name);
      await removeRecord(stateDir, name);
    },
  };
}

/**
 * A RunningProcess for a replica this agent process did not start (so it cannot wait for it):
 * its end is seen by polling the record's pid and start time, its exit status read from the shim.
 */
function adoptedProcess(stateDir: string, record: ReplicaRecord, cleanup: () => Promise<void>): RunningProcess {
  const exited = new Promise<ExitInfo>((resolve) => {
    const timer = setInterval(() => {
      if (isRunning(record)) return;
      clearInterval(timer);
      void readExit(stateDir, record.name).then(async (exit) => {
        await cleanup();
        resolve(exit ?? { code: null, signal: null }); // killed before the shim could write one
      });
    }, POLL_MS);
  });
  const killGroup = (sig: NodeJS.Signals) => {
    try {
      if (isRunning(record)) process.kill(-record.pid, sig);
    } catch {
      /* already gone */
    }
  };
  return {
    pid: record.pid,
    exited,
    async stop(graceMs = 2000) {
      killGroup("SIGTERM");
      const timer = setTimeout(() => killGroup("SIGKILL"), graceMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
  };
}

/**
 * Stop and forget every replica recorded in `stateDir`, whatever driver launched it (for `hypha up`
 * shutting down nodes whose agent was killed and never came back). Returns how many still ran.
 * @example await stopRecordedReplicas(".hypha/nodes/2/runtime") // 1
 */
export async function stopRecordedReplicas(stateDir: string, cgroupRoot: string | null = "/sys/fs/cgroup"): Promise<number> {
  const sandbox: HostSandbox = {
    name: "cleanup",
    sandboxed: false,
    command: async () => {
      throw new RuntimeError("stopRecordedReplicas launches nothing");
    },
  };
  const driver = createHostDriver(sandbox, { stateDir, cgroupRoot });
  const recorded = await driver.list();
  for (const r of recorded) await driver.remove(r.name);
  return recorded.filter((r) => r.state === "running").length;
}
