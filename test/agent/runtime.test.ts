/**
 * The runtime drivers against real sandboxes (bubblewrap where installed, util-linux namespaces),
 * real processes and real cgroups on this machine.
 */
import { describe, expect, it, beforeAll } from "vitest";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync, writeFileSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createBwrapDriver, findBwrap } from "../../src/agent/runtime/bwrapDriver";
import { createUnshareDriver, findUnshareTools } from "../../src/agent/runtime/unshareDriver";
import { createProcessDriver, resolveInRootfs } from "../../src/agent/runtime/processDriver";
import { bwrapArgs } from "../../src/agent/runtime/bwrapArgs";
import { unshareArgs } from "../../src/agent/runtime/unshareArgs";
import { cgroupSettings, cgroupsAvailable, createReplicaCgroup, removeStaleCgroups } from "../../src/agent/runtime/cgroup";
import { selectRuntime, autoRuntime, parseRuntimeChoice } from "../../src/agent/runtime/registry";
import { readOutputHash } from "../../src/agent/outputHash";
import type { LaunchRequest, RuntimeDriver } from "../../src/agent/runtime/driver";
import { makeTestRootfs } from "./helpers/testRootfs";

let dir: string;
let rootfs: string;
let n = 0;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "hypha-rt-"));
  rootfs = await makeTestRootfs(path.join(dir, "rootfs"));
});

function request(script: string, over: Partial<LaunchRequest> = {}): LaunchRequest {
  const name = `rt-test-${process.pid}-${++n}`;
  return {
    name,
    image: { root: "0xtest", rootfs },
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
  await driver.remove(req.name);
  return { exit, out: readFileSync(req.stdoutFile, "utf8"), err: readFileSync(req.stderrFile, "utf8") };
}

const stateDir = (name: string) => path.join(dir, `state-${name}`);
const bwrap = findBwrap();
const unshare = findUnshareTools();
/** Why a sandbox cannot run here (then its tests are skipped, and say so), or null. */
const missing: Record<string, string | null> = {
  // bubblewrap is a Debian package a fresh machine lacks; .ci/run installs it, so CI runs these.
  bwrap: bwrap ? null : "bubblewrap (bwrap) is not installed",
  unshare: "reason" in unshare ? unshare.reason : null,
};
for (const [name, why] of Object.entries(missing)) if (why) console.warn(`runtime.test: SKIPPING the ${name} driver's sandbox tests: ${why}`);

const SANDBOXES = [
  { name: "bwrap", create: (o: { cgroupRoot?: string | null } = {}) => createBwrapDriver({ stateDir: stateDir("bwrap"), ...o }), pid1: /pid1=\S*bwrap / },
  {
    name: "unshare",
    create: (o: { cgroupRoot?: string | null } = {}) => createUnshareDriver({ stateDir: stateDir("unshare"), ...o }),
    pid1: /pid1=\/bin\/sh -c /,
  },
];

describe("bwrapArgs", () => {
  it("mounts image entries read-only into a read-only tmpfs root, with no network by default", () => {
    const args = bwrapArgs(request("true", { image: { root: "0x", rootfs: "/img" } }), [
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
for (const sb of SANDBOXES)
  describe.skipIf(missing[sb.name] !== null)(`${sb.name} driver (real sandbox)`, () => {
    const driver = () => sb.create();

    it("isolates: own pid 1, no host files, read-only image, private /tmp, cleared env, no network", async () => {
      const secret = path.join(dir, "host-secret.txt");
      writeFileSync(secret, "TOP SECRET");
      const imageBefore = readdirSync(rootfs).sort();
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
      // pid 1 inside is the sandbox's init (bwrap's, or the unshare sandbox's shell), not the host's init.
      expect(out).toMatch(sb.pid1);
      expect(out).toMatch(/procs=[2-6]\n/); // a new PID namespace: only the sandbox's own processes
      if (sb.name === "bwrap") expect(out).toMatch(/mypid=2 /);

      expect(existsSync(path.join(rootfs, "newfile"))).toBe(false);
      expect(readdirSync(rootfs).sort()).toEqual(imageBefore); // not even mount points were made in the image
    });

    it("gives a writable bind for declared output dirs", async () => {
      const host = path.join(dir, `out-bind-${sb.name}`);
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
      const big = await run(
        driver(),
        request("x=$(head -c 1000000 /dev/zero | tr '\\0' a); echo survived ${#x}", { limits: { cpuMillis: 1000, memoryMiB: 64, pids: 64 } }),
      );
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
      const noCgroups = sb.create({ cgroupRoot: null });
      const script = "x=$(head -c 5000000 /dev/zero | tr '\\0' a); echo survived ${#x}";
      const small = await run(noCgroups, request(script, { limits: { cpuMillis: 0, memoryMiB: 4, pids: 0 } }));
      expect(small.out).not.toContain("survived");
      const big = await run(noCgroups, request(script, { limits: { cpuMillis: 0, memoryMiB: 512, pids: 0 } }));
      expect(big.out).toContain("survived 5000000");
    });

    it("a replica outlives a SIGKILLed agent; a new driver instance lists it, adopts it (no second copy), and stop() ends it: nothing orphaned", async () => {
      const name = `rt-adopt-${sb.name}-${process.pid}`;
      const state = stateDir(`adopt-${sb.name}`);
      const child = spawn(
        process.execPath,
        ["--import", "tsx", path.join(__dirname, "fixtures", "launchSleeper.ts"), sb.name, state, rootfs, name, path.join(dir, name)],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      const pid = await new Promise<number>((resolve) => child.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));
      const sleepers = () => sandboxSleepers("6007");
      for (let i = 0; i < 200 && sleepers().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(sleepers()).toHaveLength(1);
      child.kill("SIGKILL"); // the agent dies; its replica must not
      await new Promise((r) => child.once("exit", r));
      await new Promise((r) => setTimeout(r, 300));
      expect(sleepers()).toHaveLength(1);
      expect(alive(pid)).toBe(true);

      const restarted = sb.name === "bwrap" ? createBwrapDriver({ stateDir: state }) : createUnshareDriver({ stateDir: state });
      expect(await restarted.list()).toEqual([expect.objectContaining({ name, driver: sb.name, state: "running", pid })]);
      await expect(restarted.launch(request("sleep 1", { name }))).rejects.toThrow(/already running.*adopt it/);
      const adopted = await restarted.adopt(name);
      expect(adopted?.pid).toBe(pid);
      expect(sleepers()).toHaveLength(1); // adopting starts nothing
      const exit = await adopted!.stop(500);
      expect(exit.code === 0).toBe(false);
      expect(sleepers()).toEqual([]);
      expect(alive(pid)).toBe(false);
      expect((await restarted.status(name))?.state).toBe("exited");
      await restarted.remove(name);
      expect(await restarted.list()).toEqual([]);
      for (const c of ["memory", "cpu", "pids"]) expect(existsSync(`/sys/fs/cgroup/${c}/hypha/${name}`)).toBe(false);
    });

    it("a replica that ends while no agent watches leaves its exit status for the next one", async () => {
      const state = stateDir(`exit-${sb.name}`);
      const d = sb.name === "bwrap" ? createBwrapDriver({ stateDir: state }) : createUnshareDriver({ stateDir: state });
      const req = request("exit 5");
      await (await d.launch(req)).exited;
      const again = sb.name === "bwrap" ? createBwrapDriver({ stateDir: state }) : createUnshareDriver({ stateDir: state });
      expect(await again.status(req.name)).toMatchObject({ state: "exited", exit: { code: 5, signal: null } });
      expect(await again.adopt(req.name)).toBeNull();
      expect(await again.logs(req.name)).toEqual({ stdoutFile: req.stdoutFile, stderrFile: req.stderrFile });
      await again.remove(req.name);
      expect(await again.status(req.name)).toBeNull();
    });

    it("stop() ends a long-running workload", async () => {
      const p = await driver().launch(request("sleep 30"));
      const t0 = Date.now();
      const exit = await p.stop(500);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(exit.code === 0).toBe(false);
    });
  });

function cmdline(p: string): string {
  try {
    return readFileSync(`/proc/${p}/cmdline`, "utf8");
  } catch {
    return "";
  }
}
/** Host pids of sandboxed `sleep SECONDS` processes. */
function sandboxSleepers(seconds: string): string[] {
  return readdirSync("/proc").filter((p) => /^\d+$/.test(p) && cmdline(p) === `sleep\u0000${seconds}\u0000`);
}
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

describe("process driver (unsandboxed)", () => {
  it("resolves commands inside the rootfs and runs them with exactly the given env", async () => {
    expect(await resolveInRootfs(rootfs, "echo", "/bin")).toBe(path.join(rootfs, "bin", "echo"));
    expect(await resolveInRootfs(rootfs, "nope", "/bin")).toBeNull();
    const { exit, out } = await run(createProcessDriver({ stateDir: stateDir("process") }), request("echo $GREETING; env | sort | tr '\\n' ,"));
    expect(exit.code).toBe(0);
    expect(out.split("\n")[0]).toBe("hello");
    expect(out).not.toContain("HOME=");
  });
});

describe("unshareArgs", () => {
  it("new mount, PID, IPC, UTS and network namespaces; image entries bound read-only; outputs bound; no capabilities; exact env", () => {
    const req = request("true", {
      image: { root: "0x", rootfs: "/img" },
      writableDirs: [{ inside: "/out", host: "/h/out" }],
      env: { PATH: "/bin", Q: "it's" },
    });
    const args = unshareArgs(
      req,
      [
        { name: "bin", type: "dir" },
        { name: "proc", type: "dir" },
        { name: "lib", type: "symlink", target: "usr/lib" },
      ],
      "/s/r",
      { unshare: "/u/unshare", setpriv: "/u/setpriv", env: "/u/env" },
    );
    expect(args.slice(0, 10)).toEqual(["/u/unshare", "--mount", "--pid", "--fork", "--kill-child", "--ipc", "--uts", "--net", "--propagation", "private"]);
    const script = args[args.indexOf("-c") + 1];
    expect(script).toContain("mount --bind -o ro,nosuid,nodev '/img/bin' '/s/r/bin'");
    expect(script).toContain("ln -s 'usr/lib' '/s/r/lib'");
    expect(script).not.toContain("/img/proc");
    expect(script).toContain("mount --bind '/h/out' '/s/r/out'");
    expect(script).toContain("mount -o remount,ro,nosuid,nodev '/s/r'");
    expect(script).toMatch(
      /'\/u\/setpriv' --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- '\/u\/env' -i 'PATH=\/bin' 'Q=it'\\''s' '\/u\/unshare' --user --map-root-user --root=\/tmp --wd='\/' -- 'sh' '-c' 'true'/,
    );
    expect(unshareArgs(request("true", { network: true }), [], "/s/r", { unshare: "u", setpriv: "s", env: "e" })).not.toContain("--net");
  });
});

describe("runtime registry", () => {
  it("auto picks the strongest sandbox available and never the unisolated process driver; names are checked", () => {
    const auto = autoRuntime();
    expect(auto.name).toBe(bwrap ? "bwrap" : missing.unshare === null ? "unshare" : null);
    if (auto.name) {
      const { driver, why } = selectRuntime("auto", { stateDir: stateDir("registry"), cgroupRoot: null });
      expect(driver.name).toBe(auto.name);
      expect(driver.sandboxed).toBe(true);
      expect(why).toMatch(new RegExp(`^auto: ${auto.name}`));
    }
    expect(selectRuntime("process", { stateDir: stateDir("registry"), cgroupRoot: null }).driver).toMatchObject({ name: "process", sandboxed: false });
    expect(() => parseRuntimeChoice("docker", "--runtime")).toThrow(/--runtime: "docker" is not a runtime; choose one of auto, bwrap, unshare, process/);
    if (!bwrap)
      expect(() => selectRuntime("bwrap", { stateDir: stateDir("registry"), cgroupRoot: null })).toThrow(
        /runtime: bwrap: cannot run on this machine: bubblewrap/,
      );
  });
});

// Needs both sandboxes: bubblewrap is installed by .ci/run, util-linux is everywhere.
describe.skipIf(missing.bwrap !== null || missing.unshare !== null)("the same job under bwrap and unshare", () => {
  it("gives the same outputHash (stdout and the declared output file)", async () => {
    const script =
      "cat /etc/os-release | sha256sum; ls / | tr '\\n' ' '; echo; id -u; pwd; env | sort; seq 1 500 | sha256sum > /out/result.txt; cat /out/result.txt";
    const hashes: string[] = [];
    for (const sb of SANDBOXES) {
      const host = path.join(dir, `parity-${sb.name}`);
      const req = request(script, { writableDirs: [{ inside: "/out", host }], workingDir: "/etc" });
      const { exit } = await run(sb.create(), req);
      expect(exit.code).toBe(0);
      hashes.push(await readOutputHash(req.stdoutFile, { "/out/result.txt": path.join(host, "result.txt") }));
    }
    expect(hashes[0]).toMatch(/^0x[0-9a-f]{64}$/);
    expect(hashes[1]).toBe(hashes[0]);
  });
});
