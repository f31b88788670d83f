/**
 * Runtime driver `bwrap`: each replica runs in a bubblewrap sandbox (see bwrapArgs.ts for what it
 * isolates) inside its cgroup limits, under the shared host-driver shell (hostDriver.ts).
 */
import { existsSync } from "node:fs";
import type { RuntimeDriver } from "./driver";
import { bwrapArgs } from "./bwrapArgs";
import { createRootEntriesCache } from "./rootEntries";
import { createHostDriver, type HostDriverOptions, type HostSandbox } from "./hostDriver";
import { RuntimeError } from "../errors";

const BWRAP_CANDIDATES = ["/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap"];

/**
 * Path of the bubblewrap binary on this machine, or null. HYPHA_BWRAP names one elsewhere.
 * @example findBwrap() // "/usr/bin/bwrap"
 */
export function findBwrap(candidates = BWRAP_CANDIDATES): string | null {
  const given = process.env.HYPHA_BWRAP;
  if (given) return existsSync(given) ? given : null;
  return candidates.find((p) => existsSync(p)) ?? null;
}

/** The bubblewrap sandbox as a host-driver command. */
export function bwrapSandbox(bwrap: string): HostSandbox {
  const rootEntries = createRootEntriesCache();
  return {
    name: "bwrap",
    sandboxed: true,
    async command(request) {
      return { argv: [bwrap, ...bwrapArgs(request, await rootEntries.read(request.image.rootfs))], cwd: "/", env: {} };
    },
  };
}

/**
 * The bubblewrap driver.
 * @example const driver = createBwrapDriver({ stateDir: ".hypha/nodes/1/runtime" }); const p = await driver.launch(request); await p.exited;
 */
export function createBwrapDriver(opts: Partial<HostDriverOptions> & { stateDir: string; bwrapPath?: string }): RuntimeDriver {
  const bwrap = opts.bwrapPath ?? findBwrap();
  if (!bwrap) throw new RuntimeError("bubblewrap (bwrap) not found: install it (apt-get install bubblewrap) or choose another runtime (--runtime unshare)");
  return createHostDriver(bwrapSandbox(bwrap), { stateDir: opts.stateDir, cgroupRoot: opts.cgroupRoot === undefined ? "/sys/fs/cgroup" : opts.cgroupRoot });
}
