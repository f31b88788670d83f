/**
 * The runtime drivers against real bubblewrap processes and real cgroups on this machine.
 */
import { describe, expect, it, beforeAll } from "vitest";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync, writeFileSync, readdirSync, rmdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createBwrapDriver, findBwrap } from "../../src/agent/runtime/bwrapDriver";
import { createProcessDriver, resolveInRootfs } from "../../src/agent/runtime/processDriver";
import { bwrapArgs } from "../../src/agent/runtime/bwrapArgs";
import { cgroupSettings, cgroupsAvailable, createReplicaCgroup, removeStaleCgroups } from "../../src/agent/runtime/cgroup";
import type { LaunchRequest, RuntimeDriver } from "../../src/agent/runtime/driver";
import { makeBusyboxRootfs } from "./helpers/busyboxRootfs";

let dir: string;
let rootfs: string;
let n = 0;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "hypha-rt-"));
  rootfs = await makeBusyboxRootfs(path.join(dir, "rootfs"));
});

function request(script: string, over: Partial<LaunchRequest> = {}): LaunchRequest {
  const name = `rt-test-${process.pid}-${++n}`;
  return {
    name,
    rootfs,
    argv: ["sh", "-c", script],
    env: { PATH: "/bin", GREETING: "hello" },
    workingDir: "/",
    limits: { cpuMillis: 500, memoryMiB: 32, pids: 64 },
    network: false,
    writableDirs: [],
    stdoutFile: path.join(dir, `${name}.out`),
    stderrFile: path.join(dir, `${name}.err`),
    ...over,
  };
}

async function run(driver: RuntimeDriver, req: LaunchRequest) {
  const p = await driver.launch(req);
  const exit = await p.exited;
  return { exit, out: readFileSync(req.stdoutFile, "utf8"), err: readFileSync(req.stderrFile, "utf8") };
}

describe("bwrapArgs", () => {
  it("mounts image entries read-only into a read-only tmpfs root, with no network by default", () => {
    const args = bwrapArgs(request("true", { rootfs: "/img" }), [
      { name: "bin", type: "dir" },
      { name: "proc", type: "dir" },
      { name: "lib", type: "symlink", target: "usr/lib" },
    ]);
    const s = args.join(" ");
    expect(s).toContain("--ro-bind /img/bin /bin");
    expect(s).toContain("--symlink usr/lib /lib");
    expect(s).not.toContain("/img/proc");
    expect(s).toContain("--unshare-net");
    expect(s).toContain("--remount-ro /");
    expect(s).toContain("--clearenv");
    expect(args.slice(-4)).toEqual(["--", "sh", "-c", "true"]);
    expect(bwrapArgs(request("true", { network: true }), []).join(" ")).not.toContain("--unshare-net");
  });

  it("cgroup settings", () => {
    expect(cgroupSettings({ cpuMillis: 250, memoryMiB: 16, pids: 10 })).toEqual([
      { controller: "memory", file: "memory.limit_in_bytes", value: String(16 * 1024 * 1024) },
      { controller: "cpu", file: "cpu.cfs_period_us", value: "100000" },
      { controller: "cpu", file: "cpu.cfs_quota_us", value: "25000" },
      { controller: "pids", file: "pids.max", value: "10" },
    ]);
    expect(cgroupSettings({ cpuMillis: 0, memoryMiB: 0, pids: 0 })).toEqual([]);
  });
});

// Skipped only where bubblewrap (a Debian package, installed by .ci/run) is missing: these run real
// workloads in the real sandbox, which cannot be replaced by anything honest here.
describe.skipIf(!findBwrap())("bwrap driver (real sandbox)", () => {
  const driver = () => createBwrapDriver();

  it("isolates: own pid 1, no host files, read-only image, private /tmp, cleared env, no network", async () => {
    const secret = path.join(dir, "host-secret.txt");
    writeFileSync(secret, "TOP SECRET");
    const { exit, out } = await run(
      driver(),
      request(
        [
          "echo pid1=$(cat /proc/1/cmdline | tr '\\0' ' ' | head -c 40)",
          "echo mypid=$$ procs=$(ls -d /proc/[0-9]* | wc -l)",
          `cat ${secret} >/dev/null 2>&1 && echo host-visible || echo host-hidden`,
          "ls /work >/dev/null 2>&1 && echo work-visible || echo work-hidden",
          "echo x > /bin/new 2>/dev/null && echo image-writable || echo image-readonly",
          "echo x > /newfile 2>/dev/null && echo root-writable || echo root-readonly",
          "echo t > /tmp/t && echo tmp-$(cat /tmp/t)",
          "echo env=$(env | sort | tr '\\n' ,)",
          "echo ifaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ,)",
          "echo host=$(hostname)",
        ].join("; "),
      ),
    );
    expect(exit).toEqual({ code: 0, signal: null });
    expect(out).toContain("host-hidden");
    expect(out).toContain("work-hidden");
    expect(out).toContain("image-readonly");
    expect(out).toContain("root-readonly");
    expect(out).toContain("tmp-t");
    expect(out).toMatch(/env=GREETING=hello,PATH=\/bin,(PWD=\/,)?(SHLVL=\d,)?\n/);
    expect(out).toContain("ifaces=lo,\n");
    expect(out).toMatch(/host=rt-test-/);
    // pid 1 inside is bwrap's init, not the host's init.
    expect(out).toMatch(/pid1=\S*bwrap /);
    expect(out).toMatch(/mypid=2 procs=[2-5]\n/); // a new PID namespace: only the sandbox's own processes

    expect(existsSync(path.join(rootfs, "newfile"))).toBe(false);
    expect(readdirSync(rootfs).sort()).toEqual(["bin", "etc", "home", "sbin"]);
  });

  it("gives a writable bind for declared output dirs", async () => {
    const host = path.join(dir, "out-bind");
    const { exit } = await run(driver(), request("echo 42 > /out/result", { writableDirs: [{ inside: "/out", host }] }));
    expect(exit.code).toBe(0);
    expect(readFileSync(path.join(host, "result"), "utf8")).toBe("42\n");
  });

  it("reports the workload's exit code", async () => {
    expect((await run(driver(), request("exit 7"))).exit.code).toBe(7);
  });

  // Skipped only where cgroup v1 controllers are not mounted writable (the limits then fall back to rlimits).
  it.skipIf(!cgroupsAvailable())("enforces the memory limit with a cgroup (OOM kill) and cleans the group up", async () => {
    const req = request("x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived ${#x}", { limits: { cpuMillis: 1000, memoryMiB: 16, pids: 64 } });
    const { out } = await run(driver(), req);
    expect(out).not.toContain("survived");
    expect(existsSync(`/sys/fs/cgroup/memory/hypha/${req.name}`)).toBe(false);
    // The same script with enough memory survives (so the limit, not the script, killed it).
    const big = await run(driver(), request("x=$(head -c 1000000 /dev/zero | tr '\\0' a); echo survived ${#x}", { limits: { cpuMillis: 1000, memoryMiB: 64, pids: 64 } }));
    expect(big.out).toContain("survived 1000000");
  });

  // Skipped only where cgroup v1 controllers are not mounted writable.
  it.skipIf(!cgroupsAvailable())("puts the workload in its cpu, memory and pids groups before it runs", async () => {
    const req = request("sleep 30", { limits: { cpuMillis: 250, memoryMiB: 48, pids: 20 } });
    const p = await driver().launch(req);
    try {
      const read = (c: string, f: string) => readFileSync(`/sys/fs/cgroup/${c}/hypha/${req.name}/${f}`, "utf8").trim();
      expect(read("cpu", "cpu.cfs_quota_us")).toBe("25000");
      expect(read("cpu", "cpu.cfs_period_us")).toBe("100000");
      expect(read("memory", "memory.limit_in_bytes")).toBe(String(48 * 1024 * 1024));
      expect(read("pids", "pids.max")).toBe("20");
      // The sandbox's processes are members (the wrapper joined before exec'ing bwrap).
      const members = () => read("memory", "cgroup.procs").split("\n").filter(Boolean).map(Number);
      for (let i = 0; i < 100 && members().length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      expect(members()).toContain(p.pid);
      expect(members().length).toBeGreaterThanOrEqual(2);
    } finally {
      await p.stop(200);
    }
  });

  // Skipped only where cgroup v1 controllers are not mounted writable.
  it.skipIf(!cgroupsAvailable())("removes empty replica groups an agent left behind, never a group in use or just made", async () => {
    const made = async (name: string) => (await createReplicaCgroup(name, { cpuMillis: 100, memoryMiB: 16, pids: 8 })).procsFiles.map(path.dirname);
    const left = await made(`stale-${process.pid}`);
    const busy = await made(`busy-${process.pid}`);
    // only this test's groups: other test files launch sandboxes in parallel
    const mine = (name: string) => name.endsWith(`-${process.pid}`);
    const sleeper = spawn("/bin/sleep", ["30"]);
    for (const dir of busy) writeFileSync(path.join(dir, "cgroup.procs"), String(sleeper.pid));
    try {
      expect(await removeStaleCgroups({ minAgeMs: 60_000, only: mine })).toBe(0); // all just made
      expect(left.every((d) => existsSync(d))).toBe(true);
      expect(await removeStaleCgroups({ minAgeMs: 0, only: mine })).toBe(left.length);
      expect(left.some((d) => existsSync(d))).toBe(false);
      expect(busy.every((d) => existsSync(d))).toBe(true); // a process is in it
    } finally {
      sleeper.kill("SIGKILL");
      await new Promise((r) => sleeper.once("exit", r));
      await removeStaleCgroups({ minAgeMs: 0, only: mine });
    }
    expect(busy.some((d) => existsSync(d))).toBe(false);
  });

  it("falls back to an address-space rlimit where cgroups are missing", async () => {
    const noCgroups = createBwrapDriver({ cgroupRoot: null });
    const script = "x=$(head -c 5000000 /dev/zero | tr '\\0' a); echo survived ${#x}";
    const small = await run(noCgroups, request(script, { limits: { cpuMillis: 0, memoryMiB: 4, pids: 0 } }));
    expect(small.out).not.toContain("survived");
    const big = await run(noCgroups, request(script, { limits: { cpuMillis: 0, memoryMiB: 512, pids: 0 } }));
    expect(big.out).toContain("survived 5000000");
  });

  it("workloads die with the agent (SIGKILL of the agent process)", async () => {
    const name = `rt-die-${process.pid}`;
    const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "fixtures", "launchSleeper.ts"), rootfs, name, path.join(dir, name)], { stdio: ["ignore", "pipe", "inherit"] });
    const pid = await new Promise<number>((resolve) => child.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));
    const cmdline = (p: string) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8");
      } catch {
        return "";
      }
    };
    const sandboxPids = () => readdirSync("/proc").filter((p) => /^\d+$/.test(p) && cmdline(p) === "sleep\u00006007\u0000");
    const alive = (p: number) => existsSync(`/proc/${p}`);
    for (let i = 0; i < 100 && sandboxPids().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    const sleepers = sandboxPids();
    expect(sleepers).toHaveLength(1);
    expect(alive(pid)).toBe(true);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    for (let i = 0; i < 100 && (alive(pid) || sleepers.some((p) => alive(Number(p)))); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(pid)).toBe(false);
    expect(sleepers.filter((p) => alive(Number(p)))).toEqual([]);
    // The killed agent could not remove its (now empty) groups; a test cleans up after itself.
    for (const c of ["memory", "cpu", "pids"]) if (existsSync(`/sys/fs/cgroup/${c}/hypha/${name}`)) rmdirSync(`/sys/fs/cgroup/${c}/hypha/${name}`);
  });

  it("stop() ends a long-running workload", async () => {
    const p = await driver().launch(request("sleep 30"));
    const t0 = Date.now();
    const exit = await p.stop(500);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(exit.code === 0).toBe(false);
  });
});

describe("process driver (unsandboxed)", () => {
  it("resolves commands inside the rootfs and runs them with exactly the given env", async () => {
    expect(await resolveInRootfs(rootfs, "echo", "/bin")).toBe(path.join(rootfs, "bin", "busybox"));
    expect(await resolveInRootfs(rootfs, "nope", "/bin")).toBeNull();
    const { exit, out } = await run(createProcessDriver(), request("echo $GREETING; env | sort | tr '\\n' ,"));
    expect(exit.code).toBe(0);
    expect(out.split("\n")[0]).toBe("hello");
    expect(out).not.toContain("HOME=");
  });
});
