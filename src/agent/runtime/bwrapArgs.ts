/**
 * Builds the bubblewrap command line for one replica (pure). The sandbox root is bwrap's own
 * tmpfs, made read-only at the end; each top-level entry of the image rootfs is bind-mounted
 * read-only into it, so the materialized image on the host is never written to (not even mount
 * points) and re-verification sees exactly what was fetched. Then: a fresh /proc, a minimal /dev,
 * a private /tmp (tmpfs), new PID/IPC/UTS (and, unless the spec declares ports, network)
 * namespaces, a cleared environment with only the spec's variables, and --die-with-parent.
 */
import type { LaunchRequest } from "./driver";

/** A top-level entry of the image rootfs, as the driver read it from disk. */
export interface RootEntry {
  name: string;
  type: "dir" | "file" | "symlink";
  /** Link target, for symlinks. */
  target?: string;
}

/** Paths the sandbox provides itself; same-named entries of the image are shadowed. */
const PROVIDED = new Set(["proc", "dev", "tmp"]);

/**
 * bwrap arguments (without the bwrap binary itself) for `request`.
 * @example bwrapArgs(req, [{ name: "bin", type: "dir" }]) // ["--die-with-parent", "--unshare-pid", ...,"--", "echo", "hi"]
 */
export function bwrapArgs(request: LaunchRequest, rootEntries: RootEntry[]): string[] {
  const args = ["--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"];
  if (!request.network) args.push("--unshare-net");
  args.push("--hostname", hostnameFor(request.name));
  const entries = [...rootEntries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (PROVIDED.has(e.name)) continue;
    const host = `${request.image.rootfs.replace(/\/+$/, "")}/${e.name}`;
    if (e.type === "symlink") args.push("--symlink", e.target ?? "", `/${e.name}`);
    else args.push("--ro-bind", host, `/${e.name}`);
  }
  args.push("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp");
  for (const w of request.writableDirs) args.push("--bind", w.host, w.inside);
  args.push("--remount-ro", "/");
  args.push("--clearenv");
  for (const key of Object.keys(request.env).sort()) args.push("--setenv", key, request.env[key]);
  args.push("--chdir", request.workingDir || "/");
  args.push("--", ...request.argv);
  return args;
}

/** A valid hostname (<= 63 chars, [a-z0-9-]) derived from the replica run name. */
export function hostnameFor(name: string): string {
  const h = name
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/^-+/, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return h || "hypha";
}
