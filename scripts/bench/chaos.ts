/**
 * `npm run bench:chaos`: the heavy version of the fencing chaos tests (test/chaos), with fencing off
 * (agent --lease-ms 0: the behaviour before it) and on. Per mode: a cluster of two nodes (util-linux
 * and bubblewrap sandboxes where installed), BENCH_CHAOS_REPLICAS single-replica services (default
 * 12), then (1) the busiest agent SIGSTOPped for BENCH_CHAOS_FREEZE_MS (default 12000) past the
 * watcher's 5000 ms node-lost window and resumed, (2) the busiest agent SIGKILLed and not
 * restarted for 15 s. Live copies are counted from /proc every 100 ms. Prints ONE JSON object.
 */
import os from "node:os";
import path from "node:path";
import { rm } from "node:fs/promises";
import { findBwrap } from "../../src/agent/runtime/bwrapDriver";
import { findUnshareTools } from "../../src/agent/runtime/unshareDriver";
import { maxLeaseMs } from "../../src/agent/lease";
import { stopRecordedReplicas } from "../../src/agent/runtime/hostDriver";
import { CopySampler, perNode, startCluster, type Cluster, type ClusterNode } from "../../test/chaos/helpers/cluster";

const REPLICAS = Number(process.env.BENCH_CHAOS_REPLICAS ?? 12);
const FREEZE_MS = Number(process.env.BENCH_CHAOS_FREEZE_MS ?? 12_000);
const NODE_LOST_MS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function busiest(c: Cluster): Promise<{ node: ClusterNode; replicas: number }> {
  const [id, n] = [...perNode(await c.settled(120_000)).entries()].sort((a, b) => b[1] - a[1])[0];
  return { node: c.nodes.find((x) => x.nodeId === id)!, replicas: n };
}

async function runMode(leaseMs: number, runtimes: string[]) {
  const c = await startCluster(runtimes, { nodeLostAfterMs: NODE_LOST_MS, leaseMs, pollIntervalMs: 200 });
  const tags = () => c.deployed.map((d) => d.tag);
  try {
    for (const n of c.nodes) await c.startAgent(n);
    await c.deploy(REPLICAS);
    // 1. Freeze past the node-lost window, then resume.
    const frozen = await busiest(c);
    let sampler = new CopySampler(tags).start();
    await c.signalAgent(frozen.node, "SIGSTOP");
    const t0 = Date.now();
    let fenceMs: number | null = null;
    while (Date.now() - t0 < FREEZE_MS) {
      const copies = sampler.sample();
      if (fenceMs === null && [...copies.values()].filter((n) => n === 0).length >= frozen.replicas) fenceMs = Date.now() - t0;
      await sleep(100);
    }
    await c.signalAgent(frozen.node, "SIGCONT");
    await sleep(Math.max(leaseMs, 1000) + 3000);
    const freeze = { driver: frozen.node.runtime, replicasOnNode: frozen.replicas, frozenMs: FREEZE_MS, fenceMs, ...sampler.stop() };
    await c.settled(120_000);
    // 2. SIGKILL, no restart.
    const killed = await busiest(c);
    sampler = new CopySampler(tags).start();
    await c.signalAgent(killed.node, "SIGKILL");
    const t1 = Date.now();
    await sleep(15_000);
    const kill = {
      driver: killed.node.runtime,
      replicasOnNode: killed.replicas,
      orphanShimsAfter15s: (await c.shims(killed.node)).running,
      monitorAfter15s: c.monitorPid(killed.node) !== null,
      ...sampler.stop(),
      observedMs: Date.now() - t1,
    };
    return { leaseMs, freeze, kill };
  } finally {
    await c.stop().catch(() => undefined);
    for (const n of c.nodes) await stopRecordedReplicas(path.join(n.dataDir, "runtime")).catch(() => 0);
    await rm(c.fx.dir, { recursive: true, force: true });
  }
}

async function main() {
  const runtimes = ["tools" in findUnshareTools() ? "unshare" : "bwrap", findBwrap() ? "bwrap" : "unshare"];
  const off = await runMode(0, runtimes);
  const on = await runMode(maxLeaseMs(NODE_LOST_MS, 1000) - 300, runtimes);
  console.log(
    JSON.stringify({
      bench: "chaos",
      node: process.version,
      cores: os.cpus().length,
      runtimes,
      replicas: REPLICAS,
      nodeLostAfterMs: NODE_LOST_MS,
      units: {
        fenceMs: "ms from the fault until the node's copies are gone",
        duplicateReplicaSeconds: "replica-seconds run twice (100 ms samples)",
        maxCopies: "most live copies of one replica at once",
      },
      fencingOff: off,
      fencingOn: on,
    }),
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
