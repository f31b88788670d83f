/**
 * Runtime driver `unshare`: a real sandbox from util-linux alone (unshare, setpriv, mount), which
 * every Debian/Ubuntu machine has, for machines without bubblewrap. What it isolates is described
 * in unshareArgs.ts; limits and the replica's shim are the shared host-driver shell's. Needs root
 * (as the agent runs on a node) and user namespaces for the final, unprivileged step.
 */
import { spawnSync } from "node:child_process";
import { existsSync, promises as fs } from "node:fs";
import type { RuntimeDriver } from "./driver";
import { createRootEntriesCache } from "./rootEntries";
import { createHostDriver, type HostDriverOptions, type HostSandbox } from "./hostDriver";
import { SANDBOX_UID, unshareArgs, type UnshareTools } from "./unshareArgs";
import { RuntimeError } from "../errors";

const DIRS = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"];
const HOST_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

function which(tool: string): string | null {
  return DIRS.map((d) => `${d}/${tool}`).find((p) => existsSync(p)) ?? null;
}

/**
 * The util-linux tools the sandbox needs, or the reason it cannot run here (pure probe, no side
 * effects beyond one short-lived test sandbox).
 * @example findUnshareTools() // { tools: { unshare: "/usr/bin/unshare", setpriv: "/usr/bin/setpriv", env: "/usr/bin/env" } }
 */
export function findUnshareTools(): { tools: UnshareTools } | { reason: string } {
  if (process.getuid?.() !== 0) return { reason: "the unshare sandbox needs root (it mounts the sandbox's root filesystem)" };
  const found = { unshare: which("unshare"), setpriv: which("setpriv"), env: which("env"), mount: which("mount") };
  const missing = Object.entries(found)
    .filter(([, p]) => !p)
    .map(([t]) => t);
  if (missing.length) return { reason: `util-linux tools missing: ${missing.join(", ")}` };
  const tools = { unshare: found.unshare!, setpriv: found.setpriv!, env: found.env! };
  // One tiny sandbox: the namespaces, then the unprivileged user namespace the workload gets.
  const probe = spawnSync(
    tools.unshare,
    [
      "--mount",
      "--pid",
      "--fork",
      "--ipc",
      "--uts",
      "--net",
      "--",
      tools.setpriv,
      `--reuid=${SANDBOX_UID}`,
      `--regid=${SANDBOX_UID}`,
      "--clear-groups",
      "--",
      tools.unshare,
      "--user",
      "--map-root-user",
      "--",
      "/bin/sh",
      "-c",
      "exit 0",
    ],
    { stdio: ["ignore", "ignore", "pipe"], timeout: 10_000, env: { PATH: HOST_PATH } },
  );
  if (probe.status !== 0) return { reason: `a test sandbox failed: ${(probe.stderr?.toString() || probe.error?.message || `exit ${probe.status}`).trim()}` };
  return { tools };
}

/** The unshare sandbox as a host-driver command. */
export function unshareSandbox(tools: UnshareTools): HostSandbox {
  const rootEntries = createRootEntriesCache();
  return {
    name: "unshare",
    sandboxed: true,
    async command(request, root) {
      // The workload is host uid 65534: it may write its declared outputs, and nothing else.
      for (const w of request.writableDirs) await fs.chown(w.host, SANDBOX_UID, SANDBOX_UID);
      return { argv: unshareArgs(request, await rootEntries.read(request.image.rootfs), root, tools), cwd: "/", env: { PATH: HOST_PATH } };
    },
  };
}

/**
 * The unshare driver.
 * @example const driver = createUnshareDriver({ stateDir: ".hypha/nodes/1/runtime" }); const p = await driver.launch(request); await p.exited;
 */
export function createUnshareDriver(opts: Partial<HostDriverOptions> & { stateDir: string; tools?: UnshareTools }): RuntimeDriver {
  let tools = opts.tools;
  if (!tools) {
    const found = findUnshareTools();
    if ("reason" in found) throw new RuntimeError(`the unshare sandbox cannot run here: ${found.reason}`);
    tools = found.tools;
  }
  return createHostDriver(unshareSandbox(tools), { stateDir: opts.stateDir, cgroupRoot: opts.cgroupRoot === undefined ? "/sys/fs/cgroup" : opts.cgroupRoot });
}
