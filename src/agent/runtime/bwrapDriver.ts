/**
 * Runtime driver 1, `bwrap`: each replica runs in a bubblewrap sandbox (see bwrapArgs.ts for
 * what it isolates) inside its cgroup limits (limitsRunner.ts).
 */
import { existsSync, promises as fs } from "node:fs";
import path from "node:path";
import type { LaunchRequest, RunningProcess, RuntimeDriver } from "./driver";
import { bwrapArgs, type RootEntry } from "./bwrapArgs";
import { launchLimited, type LimitsOptions } from "./limitsRunner";
import { RuntimeError } from "../errors";

const BWRAP_CANDIDATES = ["/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap"];

/**
 * Path of the bubblewrap binary on this machine, or null.
 * @example findBwrap() // "/usr/bin/bwrap"
 */
export function findBwrap(candidates = BWRAP_CANDIDATES): string | null {
  return candidates.find((p) => existsSync(p)) ?? null;
}

/** Read the top-level entries of an image rootfs. */
export async function readRootEntries(rootfs: string): Promise<RootEntry[]> {
  const names = await fs.readdir(rootfs);
  const out: RootEntry[] = [];
  for (const name of names) {
    const st = await fs.lstat(path.join(rootfs, name));
    if (st.isSymbolicLink()) out.push({ name, type: "symlink", target: await fs.readlink(path.join(rootfs, name)) });
    else if (st.isDirectory()) out.push({ name, type: "dir" });
    else if (st.isFile()) out.push({ name, type: "file" });
  }
  return out;
}

/**
 * The bubblewrap driver.
 * @example const driver = createBwrapDriver(); const p = await driver.launch(request); await p.exited;
 */
export function createBwrapDriver(opts: Partial<LimitsOptions> & { bwrapPath?: string } = {}): RuntimeDriver {
  const bwrap = opts.bwrapPath ?? findBwrap();
  if (!bwrap) throw new RuntimeError("bubblewrap (bwrap) not found: install it (apt-get install bubblewrap) or run the agent with --no-sandbox");
  const limits: LimitsOptions = { cgroupRoot: opts.cgroupRoot === undefined ? "/sys/fs/cgroup" : opts.cgroupRoot };
  return {
    name: "bwrap",
    sandboxed: true,
    async launch(request: LaunchRequest): Promise<RunningProcess> {
      if (request.argv.length === 0) throw new RuntimeError(`replica ${request.name}: argv is empty (no command and no image default)`);
      const entries = await readRootEntries(request.rootfs);
      for (const w of request.writableDirs) await fs.mkdir(w.host, { recursive: true });
      return launchLimited([bwrap, ...bwrapArgs(request, entries)], request, limits, "/");
    },
  };
}
