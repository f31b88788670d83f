/**
 * Orphaned replicas: shims (cgroup.ts wrapCommand, argv[0] `hypha-replica:<name>`) of this node's
 * runtime directory that run without a record naming them, left by an agent killed between
 * launching a replica and recording it. Nobody could adopt or stop them, so a restarted agent stops
 * them before anything else. Found by their marker in /proc (the shim's exit file, argv[4], lies in
 * this node's runtime directory, which tells this node's shims from another agent's on the same
 * host); the decision is pure, the /proc scan and the kill are the shell around it.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { isRunning, readRecord } from "./runtime/replicaRecords";

/** One replica shim found in /proc. */
export interface ShimProcess {
  pid: number;
  /** The replica's runtime name (from the marker). */
  name: string;
  /** The shim's exit file (argv[4]). */
  exitFile: string;
}

/**
 * Shims among `processes` (pid + argv) that belong to `stateDir` (pure).
 * @example shimsOf([{ pid: 7, argv: ["/bin/sh", "-c", "…", "hypha-replica:a-0-1", "/d/runtime/a-0-1.exit"] }], "/d/runtime") // [{ pid: 7, name: "a-0-1", exitFile: "/d/runtime/a-0-1.exit" }]
 */
export function shimsOf(processes: { pid: number; ppid?: number; argv: string[] }[], stateDir: string): ShimProcess[] {
  const dir = path.resolve(stateDir);
  const marked = processes.filter(
    (p) => p.argv[0] === "/bin/sh" && p.argv[1] === "-c" && p.argv[3]?.startsWith("hypha-replica:") && typeof p.argv[4] === "string",
  );
  const markedPids = new Set(marked.map((p) => p.pid));
  return (
    marked
      // A shim's child between fork and exec still shows the shim's argv: the shim is its parent.
      .filter((p) => p.ppid === undefined || !markedPids.has(p.ppid))
      .map((p) => ({ pid: p.pid, name: p.argv[3].slice("hypha-replica:".length), exitFile: p.argv[4] }))
      .filter((s) => path.dirname(path.resolve(s.exitFile)) === dir && path.basename(s.exitFile) === `${s.name}.exit`)
  );
}

/** Every live process's pid, parent pid and argv (zombies left out). */
export function listProcesses(): { pid: number; ppid: number; argv: string[] }[] {
  const out: { pid: number; ppid: number; argv: string[] }[] = [];
  for (const p of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z" || fields[0] === "X") continue;
      out.push({ pid: Number(p), ppid: Number(fields[1]), argv: readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").filter(Boolean) });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/**
 * Stop (SIGKILL, with its process group) every shim of `stateDir` that no running record names.
 * Returns the ones stopped.
 * @example await killOrphans(".hypha/nodes/1/runtime") // [{ pid: 4242, name: "0123abcd-0-1", ... }]
 */
export async function killOrphans(stateDir: string): Promise<ShimProcess[]> {
  const killed: ShimProcess[] = [];
  for (const shim of shimsOf(listProcesses(), stateDir)) {
    const record = await readRecord(stateDir, shim.name);
    if (record && record.pid === shim.pid && isRunning(record)) continue; // recorded: adopted or stopped by the agent
    for (const target of [-shim.pid, shim.pid]) {
      try {
        process.kill(target, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    killed.push(shim);
  }
  return killed;
}
