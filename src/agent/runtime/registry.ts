/**
 * The runtime drivers by name, and `auto`: the strongest sandbox this machine can run. `auto`
 * never falls back to the unisolated `process` driver; that one runs only when asked for by name
 * (development). A new driver (Docker, Kubernetes) is one entry here and one file.
 */
import type { RuntimeDriver } from "./driver";
import { createBwrapDriver, findBwrap } from "./bwrapDriver";
import { createUnshareDriver, findUnshareTools } from "./unshareDriver";
import { createProcessDriver } from "./processDriver";
import { AgentError } from "../errors";

/** A runtime choice as the flag takes it. */
export const RUNTIME_CHOICES = ["auto", "bwrap", "unshare", "process"] as const;
export type RuntimeChoice = (typeof RUNTIME_CHOICES)[number];

/** Where drivers keep state and apply limits. */
export interface RuntimeOptions {
  /** Records of launched replicas (`<dataDir>/runtime`). */
  stateDir: string;
  /** cgroup v1 root, or null for rlimits only. */
  cgroupRoot: string | null;
}

interface DriverEntry {
  name: Exclude<RuntimeChoice, "auto">;
  sandboxed: boolean;
  /** null when it can run here, else why not. */
  unavailable(): string | null;
  create(opts: RuntimeOptions): RuntimeDriver;
}

/** Strongest first: `auto` takes the first sandboxed one that can run here. */
const DRIVERS: DriverEntry[] = [
  {
    name: "bwrap",
    sandboxed: true,
    unavailable: () => (findBwrap() ? null : "bubblewrap (bwrap) is not installed"),
    create: (opts) => createBwrapDriver(opts),
  },
  {
    name: "unshare",
    sandboxed: true,
    unavailable: () => {
      const found = findUnshareTools();
      return "reason" in found ? found.reason : null;
    },
    create: (opts) => createUnshareDriver(opts),
  },
  { name: "process", sandboxed: false, unavailable: () => null, create: (opts) => createProcessDriver(opts) },
];

/** The driver `choice` names and why it was chosen (for the start-up line). */
export interface SelectedRuntime {
  driver: RuntimeDriver;
  /** e.g. "auto: bwrap (strongest available)" or "unshare (asked for)". */
  why: string;
}

/**
 * Check a runtime name (flag or config value). Throws AgentError naming `field`.
 * @example parseRuntimeChoice("unshare") // "unshare"
 */
export function parseRuntimeChoice(value: string, field = "runtime"): RuntimeChoice {
  if ((RUNTIME_CHOICES as readonly string[]).includes(value)) return value as RuntimeChoice;
  throw new AgentError(field, `"${value}" is not a runtime; choose one of ${RUNTIME_CHOICES.join(", ")}`);
}

/**
 * The name of the driver `auto` picks on this machine, or null with the reasons none can run.
 * @example autoRuntime() // { name: "unshare", skipped: ["bwrap: bubblewrap (bwrap) is not installed"] }
 */
export function autoRuntime(): { name: Exclude<RuntimeChoice, "auto"> | null; skipped: string[] } {
  const skipped: string[] = [];
  for (const entry of DRIVERS.filter((d) => d.sandboxed)) {
    const why = entry.unavailable();
    if (why === null) return { name: entry.name, skipped };
    skipped.push(`${entry.name}: ${why}`);
  }
  return { name: null, skipped };
}

/**
 * Create the driver `choice` names. Throws AgentError (field `runtime`) when it cannot run here.
 * @example const { driver, why } = selectRuntime("auto", { stateDir: ".hypha/nodes/1/runtime", cgroupRoot: "/sys/fs/cgroup" });
 */
export function selectRuntime(choice: RuntimeChoice, opts: RuntimeOptions): SelectedRuntime {
  if (choice === "auto") {
    const { name, skipped } = autoRuntime();
    if (!name) {
      throw new AgentError("runtime", "auto: no sandbox can run on this machine", {
        details: `${skipped.join("; ")}. Install bubblewrap, or run as root with util-linux; --runtime process runs workloads UNISOLATED (development only)`,
      });
    }
    const entry = DRIVERS.find((d) => d.name === name)!;
    return { driver: entry.create(opts), why: `auto: ${name}, the strongest sandbox available here${skipped.length ? ` (${skipped.join("; ")})` : ""}` };
  }
  const entry = DRIVERS.find((d) => d.name === choice)!;
  const why = entry.unavailable();
  if (why !== null) throw new AgentError("runtime", `${choice}: cannot run on this machine: ${why}`);
  return { driver: entry.create(opts), why: `${choice} (asked for)` };
}
