/**
 * Builds the util-linux command line of the `unshare` sandbox for one replica (pure). It mirrors
 * bwrapArgs.ts with tools every Debian/Ubuntu machine has (util-linux, coreutils, /bin/sh):
 * `unshare` makes new mount, PID, IPC, UTS and (unless the spec declares ports) network
 * namespaces; inside, a shell (PID 1 there) mounts a tmpfs root on a private empty directory,
 * binds each top-level entry of the verified image read-only into it (the tree on the host is
 * never written to), adds a fresh /proc, a minimal /dev, a private /tmp and the declared outputs,
 * makes the root read-only and sets the hostname. The workload then starts with no capabilities:
 * `setpriv` turns it into the unprivileged host user 65534 (nobody), and `unshare --user
 * --map-root-user --root --wd` gives it uid 0 in a user namespace of its own (as bubblewrap's
 * sandbox shows uid 0), chroots it into the new root and execs argv with exactly the spec's
 * environment (`env -i`). Outputs are handed to uid 65534 so the workload can write them. Should
 * the workload leave its chroot (its user namespace lets it call chroot), the mount namespace it
 * lands in holds the host's system files (/usr, /etc) and nothing else of the host.
 */
import type { LaunchRequest } from "./driver";
import type { RootEntry } from "./bwrapArgs";
import { hostnameFor } from "./bwrapArgs";

/** The host user the workload runs as (uid 0 inside its user namespace). */
export const SANDBOX_UID = 65534;

/** Host tools the sandbox uses, by absolute path. */
export interface UnshareTools {
  unshare: string;
  setpriv: string;
  env: string;
}

/** Paths the sandbox provides itself; same-named entries of the image are shadowed (as under bwrap). */
const PROVIDED = new Set(["proc", "dev", "tmp"]);
const DEVICES = ["null", "zero", "full", "random", "urandom", "tty"];
/** Host directories the sandbox's last step needs (tools, their libraries, /proc for its user namespace; /tmp holds the sandbox's root). */
const KEPT_HOST_DIRS = ["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "proc", "tmp"];

/**
 * Quote `s` for /bin/sh (pure).
 * @example shQuote("it's") // "'it'\\''s'"
 */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The host argv that runs `request` in the unshare sandbox, its root mounted on `root` (an empty
 * host directory; the mounts exist only in the sandbox's mount namespace).
 * @example unshareArgs(req, [{ name: "bin", type: "dir" }], "/state/x.root", tools) // ["/usr/bin/unshare", "--mount", ..., "/bin/sh", "-c", "set -e; ..."]
 */
export function unshareArgs(request: LaunchRequest, rootEntries: RootEntry[], root: string, tools: UnshareTools): string[] {
  const q = shQuote;
  const R = q(root);
  const image = request.image.rootfs.replace(/\/+$/, "");
  const lines = ["set -e", `mount -t tmpfs -o mode=0755,nosuid,nodev hypha-root ${R}`];
  const entries = [...rootEntries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (PROVIDED.has(e.name)) continue;
    const inside = q(`${root}/${e.name}`);
    if (e.type === "symlink") lines.push(`ln -s ${q(e.target ?? "")} ${inside}`);
    else {
      lines.push(e.type === "dir" ? `mkdir ${inside}` : `: > ${inside}`);
      lines.push(`mount --bind -o ro,nosuid,nodev ${q(`${image}/${e.name}`)} ${inside}`);
    }
  }
  lines.push(`mkdir ${q(`${root}/proc`)} && mount -t proc -o nosuid,nodev,noexec proc ${q(`${root}/proc`)}`);
  const dev = `${root}/dev`;
  lines.push(`mkdir ${q(dev)} && mount -t tmpfs -o mode=0755,nosuid,noexec hypha-dev ${q(dev)}`);
  for (const d of DEVICES) lines.push(`: > ${q(`${dev}/${d}`)} && mount --bind /dev/${d} ${q(`${dev}/${d}`)}`);
  lines.push(`mkdir ${q(`${dev}/shm`)} && mount -t tmpfs -o mode=1777,nosuid,nodev hypha-shm ${q(`${dev}/shm`)}`);
  lines.push(`mkdir ${q(`${dev}/pts`)} && { mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts ${q(`${dev}/pts`)} 2>/dev/null || true; }`);
  lines.push(`ln -s pts/ptmx ${q(`${dev}/ptmx`)} && ln -s /proc/self/fd ${q(`${dev}/fd`)}`);
  lines.push(`ln -s /proc/self/fd/0 ${q(`${dev}/stdin`)} && ln -s /proc/self/fd/1 ${q(`${dev}/stdout`)} && ln -s /proc/self/fd/2 ${q(`${dev}/stderr`)}`);
  lines.push(`mkdir ${q(`${root}/tmp`)} && mount -t tmpfs -o mode=1777,nosuid,nodev hypha-tmp ${q(`${root}/tmp`)}`);
  for (const w of request.writableDirs) {
    const inside = q(`${root}/${w.inside.replace(/^\/+/, "")}`);
    lines.push(`mkdir -p ${inside} && mount --bind ${q(w.host)} ${inside}`);
  }
  lines.push(`printf %s ${q(hostnameFor(request.name))} > /proc/sys/kernel/hostname`);
  // bubblewrap brings the loopback up in a new network namespace; iproute2 does it here where present.
  if (!request.network) lines.push("if command -v ip >/dev/null 2>&1; then ip link set lo up 2>/dev/null || true; fi");
  lines.push(`mount -o remount,ro,nosuid,nodev ${R}`);
  // The workload's user (host uid 65534) may be unable to reach the agent's state directory:
  // move the finished root, with everything mounted in it, to /tmp (world-traversable; this
  // namespace's own mount there, invisible to the host).
  lines.push(`mount --move ${R} /tmp`);
  // The workload is chrooted, with the capabilities of its own user namespace only. Should it
  // leave the chroot, this mount namespace shows it the host's system files (/usr, /etc: what
  // the last three tools need) and nothing else: every other top-level directory gets an empty
  // read-only tmpfs over it, and /proc shows only the sandbox's own processes.
  lines.push(
    `for d in /*; do case "$d" in ${KEPT_HOST_DIRS.map((d) => `/${d}`).join("|")}) continue;; esac; if [ -d "$d" ] && [ ! -L "$d" ]; then mount -t tmpfs -o ro,nosuid,nodev,noexec,size=4k,mode=0755 hypha-hidden "$d"; fi; done`,
  );
  lines.push("mount -t proc -o nosuid,nodev,noexec proc /proc");
  const env = Object.keys(request.env)
    .sort()
    .map((k) => q(`${k}=${request.env[k]}`));
  lines.push(
    [
      "cd /",
      "&&",
      q(tools.setpriv),
      `--reuid=${SANDBOX_UID}`,
      `--regid=${SANDBOX_UID}`,
      "--clear-groups",
      "--inh-caps=-all",
      "--bounding-set=-all",
      "--no-new-privs",
      "--",
      q(tools.env),
      "-i",
      ...env,
      q(tools.unshare),
      "--user",
      "--map-root-user",
      "--root=/tmp",
      `--wd=${q(request.workingDir || "/")}`,
      "--",
      ...request.argv.map(q),
    ].join(" "),
  );
  // PID 1 of the namespace waits for the workload (PID 2, as under bubblewrap's init) and passes its status on.
  lines.push("exit $?");
  const net = request.network ? [] : ["--net"];
  return [
    tools.unshare,
    "--mount",
    "--pid",
    "--fork",
    "--kill-child",
    "--ipc",
    "--uts",
    ...net,
    "--propagation",
    "private",
    "--",
    "/bin/sh",
    "-c",
    lines.join("\n"),
    "hypha-sandbox",
  ];
}
