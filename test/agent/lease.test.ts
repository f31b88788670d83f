/**
 * The agent's lease (src/agent/lease.ts): its sizing rule, its file format, and its holding,
 * lapsing and release against a controlled clock and a real file.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatLease, Lease, maxLeaseMs, parseLease, uptimeMs } from "../../src/agent/lease";
import { resolveAgentConfig } from "../../src/agent/config";
import { devPrivateKey } from "../../src/chain/devAccounts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "hypha-lease-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("lease rules (pure)", () => {
  it("sizes the longest safe lease under the watcher's node-lost window", () => {
    expect(maxLeaseMs(5000, 1000)).toBe(2800);
    expect(maxLeaseMs(6000, 1000, 100)).toBe(3900);
    expect(maxLeaseMs(2000, 1000)).toBe(0); // no room: nothing is safe
  });

  it("formats and parses the lease line, and refuses anything else", () => {
    const r = { expiresAtMs: 123456, agentPid: 42, state: "held" as const };
    expect(formatLease(r)).toBe("123456 42 held\n");
    expect(parseLease(formatLease(r))).toEqual(r);
    expect(parseLease("1 2 released")).toEqual({ expiresAtMs: 1, agentPid: 2, state: "released" });
    for (const bad of ["", "garbage", "1 2 maybe\n", "-1 2 held\n", "1 2 held\nextra"]) expect(parseLease(bad)).toBeNull();
  });

  it("reads the kernel's uptime clock in ms", () => {
    const a = uptimeMs();
    expect(a).toBeGreaterThan(0);
    expect(Math.abs(uptimeMs() - a)).toBeLessThan(1000);
  });
});

describe("Lease", () => {
  it("holds nothing until confirmed, holds leaseMs past the confirmation, then lapses", async () => {
    let now = 10_000;
    const lease = await Lease.open(dir, 3000, () => now);
    expect(lease.valid()).toBe(false);
    expect(parseLease(await readFile(path.join(dir, "lease"), "utf8"))).toEqual({ expiresAtMs: 0, agentPid: process.pid, state: "held" });
    const mark = lease.mark();
    now += 800; // the chain read took 800 ms: the lease counts from before it
    await lease.renew(mark);
    expect(lease.valid()).toBe(true);
    expect(parseLease(await readFile(path.join(dir, "lease"), "utf8"))!.expiresAtMs).toBe(13_000);
    await lease.renew(mark - 500); // an older confirmation never shortens it
    expect(parseLease(await readFile(path.join(dir, "lease"), "utf8"))!.expiresAtMs).toBe(13_000);
    now = 12_999;
    expect(lease.valid()).toBe(true);
    now = 13_400;
    expect(lease.valid()).toBe(false);
    expect(lease.lapsedForMs()).toBe(400);
    await lease.release();
    expect(parseLease(await readFile(path.join(dir, "lease"), "utf8"))!.state).toBe("released");
  });

  it("keeps an earlier process's unexpired lease in the file, in its own name (its replicas may still be adopted), but holds none itself", async () => {
    await writeFile(path.join(dir, "lease"), "99999 1234 held\n");
    const lease = await Lease.open(dir, 3000, () => 50_000);
    expect(await readFile(path.join(dir, "lease"), "utf8")).toBe(`99999 ${process.pid} held\n`);
    expect(lease.valid()).toBe(false);
  });

  it("with leaseMs 0 (fencing off) is always valid and writes no expiry", async () => {
    const lease = await Lease.open(dir, 0, () => 1);
    expect(lease.valid()).toBe(true);
    await lease.renew(5);
    expect(parseLease(await readFile(path.join(dir, "lease"), "utf8"))!.expiresAtMs).toBe(0);
  });

  it("refuses a bad lease length, naming the field, and writes nothing", async () => {
    await expect(Lease.open(dir, -5)).rejects.toThrow(/leaseMs: -5/);
    await expect(readFile(path.join(dir, "lease"), "utf8")).rejects.toThrow(/ENOENT/);
    const base = {
      rpcUrl: "http://127.0.0.1:8545",
      deploymentFile: "d",
      nodeId: 1,
      agentPrivateKey: devPrivateKey(8),
      listen: { host: "127.0.0.1", port: 0 },
      storeMirrors: ["http://127.0.0.1:1"],
      dataDir: dir,
    };
    expect(() => resolveAgentConfig({ ...base, leaseMs: 50 })).toThrow(/agent config: leaseMs: must be 0 \(fencing off\) or 200\.\.3600000 ms/);
    expect(resolveAgentConfig(base).leaseMs).toBe(2500);
    expect(resolveAgentConfig({ ...base, leaseMs: 0 }).leaseMs).toBe(0);
  });
});
