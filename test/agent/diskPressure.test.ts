/**
 * DiskPressure on a real full disk: a 4 MiB tmpfs holds a node's chunk cache and image trees, and a
 * 6 MB image cannot fit. The failed fetch (ENOSPC) puts the node under DiskPressure, the eviction
 * removes the half-fetched tree and the partial chunk files, the agent's /healthz answers 503 with
 * the reason (and its conditions), the watcher's prober counts the node alive but reporting
 * DiskPressure, and placement puts nothing new on it; a small image still materializes (the node
 * is not poisoned), and the condition clears once space is back. Real store server, importer,
 * materializer, HTTP. Mounting the tmpfs needs root: elsewhere the real-disk part is skipped.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, promises as fs, readdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diskPressureVerdict, DiskPressureMonitor, isDiskFull } from "../../src/agent/diskPressure";
import { evictForSpace } from "../../src/agent/evictForSpace";
import { createAgentApi } from "../../src/agent/httpApi";
import { createSharedImageProvider } from "../../src/agent/sharedImages";
import { createZeroImageProvider } from "../../src/agent/zeroImageProvider";
import { importImage } from "../../src/image/importImage";
import { startStoreServer, type StoreServer } from "../../src/image/storeServer";
import { placementNodes } from "../../src/watcher/decide/reconcile";
import { placeReplicas } from "../../src/watcher/decide/placeReplicas";
import { NodeProber } from "../../src/watcher/liveness/nodeProber";

describe("diskPressureVerdict", () => {
  it("enters under the threshold or on ENOSPC, and leaves only above the threshold plus the margin", () => {
    expect(diskPressureVerdict({ freeBytes: 50, minFreeBytes: 100, current: false, enospc: undefined })).toEqual({
      pressure: true,
      reason: "50 bytes free, under 100",
    });
    expect(diskPressureVerdict({ freeBytes: 500, minFreeBytes: 100, current: false, enospc: "ENOSPC: write" }).pressure).toBe(true);
    expect(diskPressureVerdict({ freeBytes: 110, minFreeBytes: 100, current: true, enospc: undefined })).toEqual({
      pressure: true,
      reason: "110 bytes free: recovering, needs 125",
    });
    expect(diskPressureVerdict({ freeBytes: 110, minFreeBytes: 100, current: false, enospc: undefined }).pressure).toBe(false);
    expect(diskPressureVerdict({ freeBytes: 130, minFreeBytes: 100, current: true, enospc: undefined }).pressure).toBe(false);
  });
  it("finds a full disk anywhere in an error's causes", () => {
    expect(isDiskFull(Object.assign(new Error("write failed"), { code: "ENOSPC" }))).toBe(true);
    expect(isDiskFull(new Error("chunk x", { cause: new Error("ENOSPC: no space left on device, write") }))).toBe(true);
    expect(isDiskFull(new Error("ECONNREFUSED"))).toBe(false);
  });
});

// Mounted when the test file loads, so the real-disk test can be skipped (with the reason above)
// where mounting is not allowed (not root, or no CAP_SYS_ADMIN in a container).
const tmp = mkdtempSync(path.join(os.tmpdir(), "hypha-diskpressure-"));
const disk = path.join(tmp, "disk");
mkdirSync(disk);
let mounted = false;
try {
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", disk], { stdio: "ignore" });
  mounted = true;
} catch {
  mounted = false;
}
let store: StoreServer;
let bigRoot: Hex;
let smallRoot: Hex;

beforeAll(async () => {
  store = await startStoreServer({ dir: path.join(tmp, "store") });
  const big = path.join(tmp, "big");
  await fs.mkdir(big);
  await fs.writeFile(path.join(big, "blob.bin"), randomBytes(6_000_000));
  bigRoot = (await importImage(big, store.store)).rootHex;
  const small = path.join(tmp, "small");
  await fs.mkdir(path.join(small, "etc"), { recursive: true });
  await fs.writeFile(path.join(small, "etc", "hostname"), "small\n");
  smallRoot = (await importImage(small, store.store)).rootHex;
});

afterAll(async () => {
  await store?.close();
  if (mounted) execFileSync("umount", ["-l", disk]);
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

/** Files under a dir, recursively (what the eviction left). */
function filesUnder(dir: string): string[] {
  return existsSync(dir)
    ? (readdirSync(dir, { recursive: true, withFileTypes: true }) as import("node:fs").Dirent[]).filter((e) => e.isFile()).map((e) => e.name)
    : [];
}

describe("a node whose disk fills", () => {
  it.skipIf(!mounted)(
    "reports DiskPressure, evicts the half-fetched image, is placed nothing new, and still runs a small image",
    async () => {
      const cacheDir = path.join(disk, "cache");
      let monitor: DiskPressureMonitor | undefined;
      const errors: unknown[] = [];
      const images = createSharedImageProvider(createZeroImageProvider({ mirrors: [store.url], cacheDir }), {
        dir: path.join(disk, "images"),
        onError: (err) => {
          errors.push(err);
          monitor?.report(err);
        },
      });
      monitor = await DiskPressureMonitor.start({ dir: disk, minFreeBytes: 1024 * 1024, intervalMs: 60_000, evict: () => evictForSpace(images, cacheDir) });
      expect(monitor.condition().status).toBe(false);

      // The big image does not fit: the fetch fails with ENOSPC, and leaves nothing behind.
      await expect(images.materialize(bigRoot, path.join(tmp, "run-big", "rootfs"))).rejects.toSatisfy(isDiskFull);
      expect(errors.some(isDiskFull)).toBe(true);
      await monitor.check();
      const c = monitor.condition();
      expect(c).toMatchObject({ type: "DiskPressure", status: true });
      expect(c.reason).toMatch(/a write failed for lack of space|under/);
      expect(filesUnder(path.join(disk, "images"))).toEqual([]);
      expect(filesUnder(path.join(cacheDir, "tmp")).filter((f) => f.endsWith(".part"))).toEqual([]);

      // The agent says so, and stays alive for the watcher, which places nothing new on it.
      const app = createAgentApi({
        node: () => ({
          nodeId: 7,
          agent: "0x0000000000000000000000000000000000000007",
          measurement: "0x00",
          agentVersion: "test",
          driver: "none",
          sandbox: false,
          chainId: 31337,
          deploymentRegistry: "0x0000000000000000000000000000000000000001",
        }),
        replicas: () => [],
        logFiles: () => null,
        conditions: () => [monitor!.condition()],
      });
      const server = await new Promise<import("node:http").Server>((resolve) => {
        const s = app.listen(0, "127.0.0.1", () => resolve(s));
      });
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const health = await fetch(`${url}/healthz`);
        expect(health.status).toBe(503);
        expect(await health.json()).toMatchObject({
          ok: false,
          nodeId: 7,
          reason: expect.stringMatching(/^DiskPressure: /),
          conditions: [{ type: "DiskPressure", status: true }],
        });
        expect(((await (await fetch(`${url}/v1/node`)).json()) as { conditions: unknown[] }).conditions).toMatchObject([
          { type: "DiskPressure", status: true },
        ]);
        const prober = new NodeProber(() => [{ nodeId: 7, endpoint: url }], { intervalMs: 1000, lostAfterMs: 5000 });
        await prober.probeAll();
        expect(prober.lost().has(7)).toBe(false);
        expect(prober.conditions()).toEqual(new Map([[7, ["DiskPressure"]]]));
        const node = {
          nodeId: 7,
          operator: "0x1",
          agent: "0x2",
          cpuMillis: 4000,
          memoryMiB: 4096,
          diskMiB: 4096,
          slots: 8,
          reservedCpuMillis: 0,
          reservedMemoryMiB: 0,
          reservedDiskMiB: 0,
          usedSlots: 0,
          pricePerSecond: 1n,
          stake: 1n,
          unbonding: false,
          jailed: false,
          measurement: "0x00",
          endpoint: url,
          measurementApproved: true,
        } as const;
        const request = {
          deploymentId: "0xab",
          replicaIndex: 0,
          seq: "1",
          cpuMillis: 100,
          memoryMiB: 64,
          diskMiB: 1,
          maxPricePerSecond: 5n,
          siblingNodeIds: [],
          previousNodeId: 0,
        };
        const placed = placeReplicas(placementNodes([node as never], new Set(), [], prober.conditions()), [request]);
        expect(placed.placements).toEqual([]);
        expect(placed.unplaced[0]!.reason).toBe("no node fits: 1 node reports DiskPressure");
        expect(placeReplicas(placementNodes([node as never], new Set(), [], new Map()), [request]).placements).toHaveLength(1);
      } finally {
        await new Promise((r) => server.close(r));
      }

      // Not poisoned: a small image materializes and verifies; with space back, the condition clears.
      const small = await images.materialize(smallRoot, path.join(tmp, "run-small", "rootfs"));
      expect(await small.verify()).toEqual([]);
      await monitor.check();
      expect(monitor.condition()).toMatchObject({ type: "DiskPressure", status: false });
      await small.remove();
      monitor.stop();
    },
    60_000,
  );
});
