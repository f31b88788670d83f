/**
 * Puts a host command inside a replica's resource limits: cgroup v1 groups when the machine
 * has them, else an rlimit on address space (memory only; CPU and process count are then not
 * limited, and the agent logs that). The command runs under the replica's shim (cgroup.ts
 * wrapCommand), which records its exit status. Shared by the host runtime drivers.
 */
import type { LaunchRequest, RunningProcess } from "./driver";
import { cgroupsAvailable, createReplicaCgroup, wrapCommand } from "./cgroup";
import { spawnLogged } from "./spawnLogged";

/** Options for where limits come from. */
export interface LimitsOptions {
  /** cgroup v1 mount root; null disables cgroups (rlimit fallback). */
  cgroupRoot: string | null;
}

/**
 * Launch `command` (host argv) for `request` under its limits, logging to its log files; the shim
 * writes the exit status to `exitFile`.
 * @example await launchLimited(["/usr/bin/bwrap", ...args], req, { cgroupRoot: "/sys/fs/cgroup" }, "/", {}, "/state/x.exit")
 */
export async function launchLimited(
  command: string[],
  request: LaunchRequest,
  opts: LimitsOptions,
  cwd: string,
  env: Record<string, string>,
  exitFile: string,
): Promise<RunningProcess> {
  const useCgroups = opts.cgroupRoot !== null && cgroupsAvailable(opts.cgroupRoot);
  if (useCgroups) {
    const cg = await createReplicaCgroup(request.name, request.limits, opts.cgroupRoot!);
    const wrapped = wrapCommand(command, { label: request.name, exitFile, procsFiles: cg.procsFiles, rlimitMemoryKiB: 0 });
    return spawnLogged(wrapped, env, request.stdoutFile, request.stderrFile, cwd, cg.remove);
  }
  const wrapped = wrapCommand(command, { label: request.name, exitFile, procsFiles: [], rlimitMemoryKiB: request.limits.memoryMiB * 1024 });
  return spawnLogged(wrapped, env, request.stdoutFile, request.stderrFile, cwd);
}
