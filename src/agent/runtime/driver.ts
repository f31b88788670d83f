/**
 * The runtime driver interface, shaped after Kubernetes' CRI RuntimeService: launch a replica
 * (RunPodSandbox + CreateContainer + StartContainer in one), list the replicas it runs and their
 * status (ListContainers, ContainerStatus), where their logs are, adopt one started by an earlier
 * agent process, and remove one (StopContainer + RemoveContainer). Drivers are picked by name in
 * registry.ts: `bwrap` (bubblewrap), `unshare` (util-linux namespaces), `process` (unisolated, for
 * development only). A Docker or Kubernetes driver is one more file implementing RuntimeDriver:
 * the image arrives as a handle (its content address and, for host drivers, the verified tree).
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

/** The image a replica runs, as the runtime receives it. */
export interface ImageHandle {
  /** The image's content address (the on-chain imageRoot): what a registry-backed driver pulls or names. */
  root: string;
  /** The verified, materialized root filesystem on this host (host drivers run it as the root). */
  rootfs: string;
}

/** Everything a driver needs to launch one process of one replica. */
export interface LaunchRequest {
  /** Unique, filesystem-safe name of this replica run (used for cgroups, hostnames, records). */
  name: string;
  image: ImageHandle;
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

/** A launched (or adopted) replica process. */
export interface RunningProcess {
  pid: number;
  /** Resolves once, when the process has exited and its resources are released. */
  exited: Promise<ExitInfo>;
  /** Stop the process (SIGTERM, then SIGKILL after graceMs) and wait for it. */
  stop(graceMs?: number): Promise<ExitInfo>;
}

/** What the driver knows about one replica it launched on this machine (CRI ContainerStatus). */
export interface ReplicaStatus {
  name: string;
  /** The driver that launched it. */
  driver: string;
  state: "running" | "exited";
  /** Host pid of the replica's supervising process. */
  pid: number;
  startedAt: string;
  /** How it ended, when it has and the driver saw it ("exited" with null: ended unobserved). */
  exit: ExitInfo | null;
  stdoutFile: string;
  stderrFile: string;
}

/** Where a replica's logs are. */
export interface ReplicaLogs {
  stdoutFile: string;
  stderrFile: string;
}

/** A runtime driver. */
export interface RuntimeDriver {
  /** Short name recorded in the measurement and the HTTP API ("bwrap", "unshare", "process"). */
  readonly name: string;
  /** True when workloads run isolated from the host. */
  readonly sandboxed: boolean;
  /** Launch one replica. Throws RuntimeError when it cannot be started. */
  launch(request: LaunchRequest): Promise<RunningProcess>;
  /** Every replica this driver launched here and has not removed, running or exited, by any agent process. */
  list(): Promise<ReplicaStatus[]>;
  /** One replica's status, or null when the driver does not know it. */
  status(name: string): Promise<ReplicaStatus | null>;
  /** Take over a replica still running from an earlier agent process; null when it is not running. */
  adopt(name: string): Promise<RunningProcess | null>;
  /** Where the replica's stdout and stderr are, or null when the driver does not know it. */
  logs(name: string): Promise<ReplicaLogs | null>;
  /** Stop the replica if it runs and forget it (idempotent). */
  remove(name: string): Promise<void>;
}
