/**
 * The runtime driver interface: how the agent launches one replica's process. Drivers: `bwrap`
 * (sandboxed, bwrapDriver.ts) and `process` (unsandboxed, processDriver.ts). A Docker or
 * Kubernetes driver implements the same interface.
 */

/** Resource limits given to the runtime for one replica. */
export interface ReplicaLimits {
  /** CPU in millicores (1000 = one core); 0 = unlimited. */
  cpuMillis: number;
  /** Memory in MiB; 0 = unlimited. */
  memoryMiB: number;
  /** Maximum number of processes/threads; 0 = unlimited. */
  pids: number;
}

/** Everything a driver needs to launch one process of one replica. */
export interface LaunchRequest {
  /** Unique, filesystem-safe name of this replica run (used for cgroups and hostnames). */
  name: string;
  /** Materialized, verified image root filesystem on the host. */
  rootfs: string;
  /** argv inside the image; argv[0] is resolved against PATH inside the image. */
  argv: string[];
  /** The complete environment (the spec's env plus PATH); nothing of the agent's env leaks in. */
  env: Record<string, string>;
  /** Working directory inside the image. */
  workingDir: string;
  limits: ReplicaLimits;
  /** Whether the workload may use the network (the spec declares ports). */
  network: boolean;
  /** Writable directories: `inside` path in the image -> host directory. */
  writableDirs: { inside: string; host: string }[];
  /** Host files receiving stdout and stderr (appended). */
  stdoutFile: string;
  stderrFile: string;
}

/** How a process ended. */
export interface ExitInfo {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A launched process. */
export interface RunningProcess {
  pid: number;
  /** Resolves once, when the process has exited and its resources are released. */
  exited: Promise<ExitInfo>;
  /** Stop the process (SIGTERM, then SIGKILL after graceMs) and wait for it. */
  stop(graceMs?: number): Promise<ExitInfo>;
}

/** A runtime driver. */
export interface RuntimeDriver {
  /** Short name recorded in the measurement and the HTTP API ("bwrap", "process"). */
  readonly name: string;
  /** True when workloads run isolated from the host. */
  readonly sandboxed: boolean;
  /** Launch one process. Throws RuntimeError when it cannot be started. */
  launch(request: LaunchRequest): Promise<RunningProcess>;
}
