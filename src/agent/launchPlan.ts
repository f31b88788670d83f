/**
 * Turns a verified WorkloadSpec, the image's default process settings and the on-chain
 * reservation into the exact launch the runtime performs (pure): argv, environment, working
 * directory, limits, network, writable output dirs. Kubernetes semantics for command/args:
 * `command` replaces the image entrypoint, `args` replace the image's default arguments.
 */
import path from "node:path";
import type { WorkloadSpec } from "../spec/workloadSpec";
import type { ReplicaLimits } from "./runtime/driver";

/** Docker's default PATH, used when neither the image nor the spec sets one. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The image's own process defaults (from its manifest), all optional. */
export interface ImageDefaults {
  entrypoint?: string[] | null;
  cmd?: string[] | null;
  env?: Record<string, string> | null;
  workingDir?: string | null;
}

/** What the agent launches for one replica. */
export interface LaunchPlan {
  argv: string[];
  env: Record<string, string>;
  workingDir: string;
  limits: ReplicaLimits;
  network: boolean;
  /** Directories (inside the image) that get a writable bind, holding the declared outputs. */
  outputDirs: string[];
  /** Declared job output files (inside the image). */
  outputs: string[];
  kind: "service" | "job";
  restartPolicy: WorkloadSpec["restartPolicy"];
}

/**
 * The launch plan (pure). `reservation` is what the chain reserved for the replica (the intent's
 * cpuMillis and memoryMiB); it is what the runtime enforces.
 * @example launchPlan(spec, { cmd: ["sh"] }, { cpuMillis: 100, memoryMiB: 64 }, 512).argv // ["echo", "Deterministic deployment"]
 */
export function launchPlan(spec: WorkloadSpec, image: ImageDefaults, reservation: { cpuMillis: number; memoryMiB: number }, pidsLimit: number): LaunchPlan {
  const entrypoint = spec.command ?? image.entrypoint ?? [];
  const args = spec.command !== null ? spec.args : spec.args.length > 0 ? spec.args : (image.cmd ?? []);
  const argv = [...entrypoint, ...args];
  const env: Record<string, string> = { PATH: DEFAULT_PATH, ...(image.env ?? {}) };
  for (const e of spec.env) env[e.name] = e.value;
  const outputs = spec.job?.outputs ?? [];
  const outputDirs = [...new Set(outputs.map((o) => path.posix.dirname(o)))].sort();
  return {
    argv,
    env,
    workingDir: spec.workingDir ?? image.workingDir ?? "/",
    limits: { cpuMillis: reservation.cpuMillis, memoryMiB: reservation.memoryMiB, pids: pidsLimit },
    network: spec.ports.length > 0,
    outputDirs,
    outputs,
    kind: spec.kind,
    restartPolicy: spec.restartPolicy,
  };
}
