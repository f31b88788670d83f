/**
 * Spawns a host command with stdout/stderr appended to log files and wraps it as a
 * RunningProcess (exit promise, graceful stop). Shared by the runtime drivers.
 */
import { spawn } from "node:child_process";
import { openSync, closeSync } from "node:fs";
import type { ExitInfo, RunningProcess } from "./driver";
import { RuntimeError } from "../errors";

/**
 * Start `command` (argv[0] is a host path) with an exactly given environment.
 * `cleanup` runs after the process exits, before `exited` resolves.
 * @example const p = await spawnLogged(["/bin/echo", "hi"], {}, "/tmp/out", "/tmp/err", "/");
 */
export async function spawnLogged(
  command: string[],
  env: Record<string, string>,
  stdoutFile: string,
  stderrFile: string,
  cwd: string,
  cleanup: () => Promise<void> = async () => undefined,
): Promise<RunningProcess> {
  const out = openSync(stdoutFile, "a");
  const err = openSync(stderrFile, "a");
  let child;
  try {
    child = spawn(command[0], command.slice(1), { stdio: ["ignore", out, err], env, cwd, detached: true });
  } finally {
    closeSync(out);
    closeSync(err);
  }
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once("spawn", () => resolve(undefined));
    child.once("error", (e) => resolve(e));
  });
  if (spawned) {
    await cleanup();
    throw new RuntimeError(`cannot start ${command[0]}: ${spawned.message}`, { cause: spawned });
  }
  const pid = child.pid!;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once("exit", (code, signal) => {
      cleanup().finally(() => resolve({ code, signal }));
    });
  });
  let done = false;
  void exited.then(() => (done = true));
  const killGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      /* already gone */
    }
  };
  return {
    pid,
    exited,
    async stop(graceMs = 2000) {
      if (!done) {
        killGroup("SIGTERM");
        const timer = setTimeout(() => killGroup("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      }
      return exited;
    },
  };
}
