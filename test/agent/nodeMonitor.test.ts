/**
 * The node monitor (src/agent/nodeMonitor.ts) and orphan cleanup (src/agent/orphans.ts) with real
 * processes: replica shims launched the way the host drivers launch them (cgroup.ts wrapCommand
 * under spawnLogged), the monitor as its own shell process, the lease file written by a real Lease.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Lease, formatLease, uptimeMs } from "../../src/agent/lease";
import { ensureNodeMonitor, runningMonitorPid } from "../../src/agent/nodeMonitor";
import { killOrphans, listProcesses, shimsOf } from "../../src/agent/orphans";
import { cgroupsAvailable, createReplicaCgroup, wrapCommand } from "../../src/agent/runtime/cgroup";
import { spawnLogged } from "../../src/agent/runtime/spawnLogged";
import { processStartTicks, writeRecord } from "../../src/agent/runtime/replicaRecords";
import type { RunningProcess } from "../../src/agent/runtime/driver";

let dir: string;
let stateDir: string;
const started: RunningProcess[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "hypha-monitor-"));
  stateDir = path.join(dir, "runtime");
  await mkdir(stateDir, { recursive: true });
});
afterEach(async () => {
  for (const p of started.splice(0)) await p.stop(100);
  // Releasing the lease ends any monitor still running for this directory.
  await writeFile(path.join(dir, "lease"), formatLease({ expiresAtMs: 0, agentPid: process.pid, state: "released" })).catch(() => undefined);
  await until("monitor gone", () => runningMonitorPid(dir) === null, 3000).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

/** A replica shim running `sleep 300`, as a host driver launches it. */
async function launchShim(name: string): Promise<RunningProcess> {
  const p = await spawnLogged(
    wrapCommand(["/bin/sleep", "300"], { label: name, exitFile: path.join(stateDir, `${name}.exit`), procsFiles: [], rlimitMemoryKiB: 0 }),
    { PATH: "/usr/bin:/bin" },
    path.join(dir, `${name}.out`),
    path.join(dir, `${name}.err`),
    "/",
  );
  started.push(p);
  await until("the shim's pid file", () => existsSync(path.join(stateDir, `${name}.pid`)), 5000);
  return p;
}

const alive = (pid: number) => processStartTicks(pid) !== null;

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("node monitor", () => {
  it("leaves replicas alone while the lease is renewed, and SIGKILLs them (process group included) soon after it lapses", async () => {
    const a = await launchShim("aaaa-0-1");
    const b = await launchShim("bbbb-3-2");
    const lease = await Lease.open(dir, 600);
    await lease.renew(lease.mark());
    const m = await ensureNodeMonitor({ dataDir: dir, stateDir, cgroupRoot: null, intervalMs: 50 });
    expect(m.started).toBe(true);
    expect(await ensureNodeMonitor({ dataDir: dir, stateDir, cgroupRoot: null })).toEqual({ pid: m.pid, started: false }); // one per node
    // Renewed twice more: still running past the first expiry.
    for (let i = 0; i < 2; i++) {
      await new Promise((r) => setTimeout(r, 300));
      await lease.renew(lease.mark());
    }
    expect(alive(a.pid) && alive(b.pid)).toBe(true);
    // The workloads: the shims' children (`sleep 300`), which the kill of each shim's process group must take too.
    const workloads = listProcesses()
      .filter((p) => (p.ppid === a.pid || p.ppid === b.pid) && p.argv[0] === "/bin/sleep")
      .map((p) => p.pid);
    expect(workloads).toHaveLength(2);
    const expiry = uptimeMs() + 600;
    const exits = await Promise.all([a.exited, b.exited]);
    const fenceLatencyMs = uptimeMs() - expiry;
    expect(exits).toEqual([
      { code: null, signal: "SIGKILL" },
      { code: null, signal: "SIGKILL" },
    ]);
    expect(fenceLatencyMs).toBeLessThan(1000); // 50 ms checks; a loaded machine may add some
    await until("the workloads gone too", () => workloads.every((w) => !alive(w)), 2000);
    // Each line is written just after its kill: wait for the second.
    await until("both fences logged", async () => /fenced replica bbbb-3-2/.test(await readFile(path.join(dir, "monitor.log"), "utf8")), 2000).catch(
      () => undefined,
    );
    const log = await readFile(path.join(dir, "monitor.log"), "utf8");
    expect(log).toMatch(/fenced replica aaaa-0-1 \(shim pid \d+\): the agent's lease lapsed/);
    expect(log).toMatch(/fenced replica bbbb-3-2/);
    // The agent (this process) still lives: the monitor stays, and exits once the lease is released.
    expect(runningMonitorPid(dir)).toBe(m.pid);
    await lease.release();
    await until("the monitor exits on release", () => !alive(m.pid), 3000);
    expect(await readFile(path.join(dir, "monitor.log"), "utf8")).toMatch(/lease released by agent/);
  });

  it.skipIf(!cgroupsAvailable())("also kills what left the shim's process group but stays in the replica's cgroup", async () => {
    // Needs cgroup v1 (here: root with /sys/fs/cgroup/{memory,cpu,pids}); the fresh machine has them too.
    const name = `gggg-0-${process.pid}`;
    const cg = await createReplicaCgroup(name, { cpuMillis: 0, memoryMiB: 0, pids: 64 });
    try {
      const shim = await spawnLogged(
        wrapCommand(["/bin/sh", "-c", "setsid /bin/sleep 301 & wait"], {
          label: name,
          exitFile: path.join(stateDir, `${name}.exit`),
          procsFiles: cg.procsFiles,
          rlimitMemoryKiB: 0,
        }),
        { PATH: "/usr/bin:/bin" },
        path.join(dir, "g.out"),
        path.join(dir, "g.err"),
        "/",
      );
      started.push(shim);
      let escaped = 0;
      await until(
        "the escaped workload",
        () => {
          escaped = listProcesses().find((p) => p.argv.join(" ") === "/bin/sleep 301")?.pid ?? 0;
          return escaped > 0;
        },
        5000,
      );
      const lease = await Lease.open(dir, 200);
      await lease.renew(lease.mark());
      await ensureNodeMonitor({ dataDir: dir, stateDir, cgroupRoot: "/sys/fs/cgroup", intervalMs: 50 });
      await until("the escaped workload killed through its cgroup", () => !alive(escaped), 3000);
      await shim.exited;
    } finally {
      await cg.remove();
    }
  });

  it("does not touch a process that reuses a recorded pid but is no shim of that replica", async () => {
    const other = spawn("/bin/sleep", ["300"], { stdio: "ignore" });
    await writeFile(path.join(stateDir, "cccc-0-1.pid"), `${other.pid}\n`);
    await writeFile(path.join(dir, "lease"), formatLease({ expiresAtMs: 1, agentPid: process.pid, state: "held" }));
    const m = await ensureNodeMonitor({ dataDir: dir, stateDir, cgroupRoot: null, intervalMs: 50 });
    await new Promise((r) => setTimeout(r, 400));
    expect(alive(other.pid!)).toBe(true);
    other.kill("SIGKILL");
    expect(alive(m.pid)).toBe(true);
  });

  it("stops the replicas of a dead agent, then exits (nothing orphaned, no monitor left)", async () => {
    const a = await launchShim("dddd-1-1");
    const agent = spawn("/bin/sleep", ["300"], { stdio: "ignore" }); // stands in for the agent process
    await writeFile(path.join(dir, "lease"), formatLease({ expiresAtMs: uptimeMs() + 300, agentPid: agent.pid!, state: "held" }));
    const m = await ensureNodeMonitor({ dataDir: dir, stateDir, cgroupRoot: null, intervalMs: 50 });
    agent.kill("SIGKILL");
    expect(await a.exited).toEqual({ code: null, signal: "SIGKILL" });
    await until("the monitor exits", () => !alive(m.pid), 3000);
    expect(await readFile(path.join(dir, "monitor.log"), "utf8")).toMatch(/agent \d+ is gone and nothing is left to stop: exiting/);
  });

  it("stops everything and exits when the lease file is gone (the node's data directory removed)", async () => {
    const a = await launchShim("eeee-0-1");
    const lease = await Lease.open(dir, 5000);
    await lease.renew(lease.mark());
    const m = await ensureNodeMonitor({ dataDir: dir, stateDir, cgroupRoot: null, intervalMs: 50 });
    await rm(path.join(dir, "lease"));
    expect(await a.exited).toEqual({ code: null, signal: "SIGKILL" });
    await until("the monitor exits", () => !alive(m.pid), 3000);
  });
});

describe("orphans", () => {
  it("recognizes this node's shims by their marker and exit file (pure)", () => {
    const procs = [
      { pid: 7, argv: ["/bin/sh", "-c", "…", "hypha-replica:a-0-1", "/d/runtime/a-0-1.exit", "--", "bwrap"] },
      { pid: 8, argv: ["/bin/sh", "-c", "…", "hypha-replica:b-0-1", "/other/runtime/b-0-1.exit"] }, // another agent's
      { pid: 9, argv: ["/bin/sh", "-c", "…", "hypha-replica:c-0-1", "/d/runtime/x.exit"] }, // name and file disagree
      { pid: 10, argv: ["node", "hypha-replica:a-0-1", "/d/runtime/a-0-1.exit"] },
      { pid: 11, ppid: 7, argv: ["/bin/sh", "-c", "…", "hypha-replica:a-0-1", "/d/runtime/a-0-1.exit", "--", "bwrap"] }, // the shim's child before its exec
    ];
    expect(shimsOf(procs, "/d/runtime/")).toEqual([{ pid: 7, name: "a-0-1", exitFile: "/d/runtime/a-0-1.exit" }]);
  });

  it("stops a running shim no record names, and leaves a recorded one to the agent", async () => {
    const recorded = await launchShim("ffff-0-1");
    await writeRecord(stateDir, {
      name: "ffff-0-1",
      driver: "test",
      pid: recorded.pid,
      startTicks: processStartTicks(recorded.pid)!,
      startedAt: new Date().toISOString(),
      stdoutFile: "/dev/null",
      stderrFile: "/dev/null",
    });
    const orphan = await launchShim("9999-2-1");
    expect(
      shimsOf(listProcesses(), stateDir)
        .map((s) => s.name)
        .sort(),
    ).toEqual(["9999-2-1", "ffff-0-1"]);
    const killed = await killOrphans(stateDir);
    expect(killed.map((k) => [k.name, k.pid])).toEqual([["9999-2-1", orphan.pid]]);
    expect(await orphan.exited).toEqual({ code: null, signal: "SIGKILL" });
    expect(alive(recorded.pid)).toBe(true);
  });
});
