// Pure placement: properties checked with fast-check over random nodes and requests.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { placeReplicas, type PlacementNode, type ReplicaRequest } from "../../../src/watcher/decide/placeReplicas";

const nodeArb = (nodeId: number) =>
  fc.record({
    nodeId: fc.constant(nodeId),
    freeCpuMillis: fc.integer({ min: 0, max: 4000 }),
    freeMemoryMiB: fc.integer({ min: 0, max: 4096 }),
    freeDiskMiB: fc.integer({ min: 0, max: 4096 }),
    freeSlots: fc.integer({ min: 0, max: 8 }),
    pricePerSecond: fc.bigInt({ min: 0n, max: 10n }),
    eligible: fc.boolean(),
  });

const nodesArb = fc.integer({ min: 0, max: 6 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => nodeArb(i + 1))));

const requestsArb = fc
  .array(
    fc.record({
      dep: fc.integer({ min: 0, max: 5 }),
      replicas: fc.integer({ min: 1, max: 4 }),
      cpuMillis: fc.integer({ min: 0, max: 1500 }),
      memoryMiB: fc.integer({ min: 0, max: 1500 }),
      diskMiB: fc.integer({ min: 0, max: 1500 }),
      maxPricePerSecond: fc.bigInt({ min: 0n, max: 10n }),
    }),
    { maxLength: 8 },
  )
  .map((deps) => {
    const seen = new Set<number>();
    const out: ReplicaRequest[] = [];
    for (const d of deps) {
      if (seen.has(d.dep)) continue;
      seen.add(d.dep);
      for (let i = 0; i < d.replicas; i++)
        out.push({
          deploymentId: `0x${d.dep}`,
          replicaIndex: i,
          seq: String(d.dep).padStart(3, "0"),
          cpuMillis: d.cpuMillis,
          memoryMiB: d.memoryMiB,
          diskMiB: d.diskMiB,
          maxPricePerSecond: d.maxPricePerSecond,
          siblingNodeIds: [],
          previousNodeId: 0,
        });
    }
    return out;
  });

function fits(n: PlacementNode, r: ReplicaRequest) {
  return (
    n.eligible &&
    n.pricePerSecond <= r.maxPricePerSecond &&
    n.freeSlots >= 1 &&
    n.freeCpuMillis >= r.cpuMillis &&
    n.freeMemoryMiB >= r.memoryMiB &&
    n.freeDiskMiB >= r.diskMiB
  );
}

describe("placeReplicas", () => {
  it("is deterministic: same input in any order gives the same placements", () => {
    fc.assert(
      fc.property(nodesArb, requestsArb, fc.integer(), (nodes, requests, seed) => {
        const shuffle = <T>(xs: T[]) =>
          xs
            .map((x, i) => ({ x, k: (Math.imul(i + 1, 2654435761) ^ seed) >>> 0 }))
            .sort((a, b) => a.k - b.k)
            .map((e) => e.x);
        expect(placeReplicas(shuffle([...nodes]), shuffle([...requests]))).toEqual(placeReplicas(nodes, requests));
      }),
    );
  });

  it("never exceeds free capacity or slots, and only uses eligible nodes within the price limit", () => {
    fc.assert(
      fc.property(nodesArb, requestsArb, (nodes, requests) => {
        const { placements, unplaced } = placeReplicas(nodes, requests);
        expect(placements.length + unplaced.length).toBe(requests.length);
        const left = new Map(nodes.map((n) => [n.nodeId, { ...n }]));
        for (const p of placements) {
          const r = requests.find((q) => q.deploymentId === p.deploymentId && q.replicaIndex === p.replicaIndex)!;
          const n = left.get(p.nodeId)!;
          expect(fits(n, r)).toBe(true);
          n.freeCpuMillis -= r.cpuMillis;
          n.freeMemoryMiB -= r.memoryMiB;
          n.freeDiskMiB -= r.diskMiB;
          n.freeSlots -= 1;
        }
        // An unplaced replica fits no node even after the others were placed (capacity only shrinks).
        for (const u of unplaced) {
          const r = requests.find((q) => q.deploymentId === u.deploymentId && q.replicaIndex === u.replicaIndex)!;
          for (const n of left.values()) expect(fits(n, r)).toBe(false);
          expect(u.reason).toMatch(/^no node fits/);
        }
        // The inputs were not modified.
        expect(nodes.every((n) => n.freeSlots >= 0)).toBe(true);
      }),
    );
  });

  it("spreads a deployment's replicas over different nodes when there is room", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), (nodeCount, replicas) => {
        const nodes: PlacementNode[] = Array.from({ length: nodeCount }, (_, i) => ({
          nodeId: i + 1,
          freeCpuMillis: 10_000,
          freeMemoryMiB: 10_000,
          freeDiskMiB: 10_000,
          freeSlots: 10,
          pricePerSecond: 1n,
          eligible: true,
        }));
        const requests: ReplicaRequest[] = Array.from({ length: replicas }, (_, i) => ({
          deploymentId: "0xaa",
          replicaIndex: i,
          seq: "1",
          cpuMillis: 100,
          memoryMiB: 64,
          diskMiB: 0,
          maxPricePerSecond: 1n,
          siblingNodeIds: [],
          previousNodeId: 0,
        }));
        const { placements } = placeReplicas(nodes, requests);
        const perNode = new Map<number, number>();
        for (const p of placements) perNode.set(p.nodeId, (perNode.get(p.nodeId) ?? 0) + 1);
        expect(placements).toHaveLength(replicas);
        expect(Math.max(...perNode.values()) - Math.min(...[...perNode.values(), ...(perNode.size < nodeCount ? [0] : [])])).toBeLessThanOrEqual(1);
      }),
    );
  });

  it("breaks ties by node id, prefers the cheaper node, avoids siblings and the node a replica failed on", () => {
    const node = (nodeId: number, price = 1n): PlacementNode => ({
      nodeId,
      freeCpuMillis: 1000,
      freeMemoryMiB: 1000,
      freeDiskMiB: 1000,
      freeSlots: 5,
      pricePerSecond: price,
      eligible: true,
    });
    const req = (extra: Partial<ReplicaRequest> = {}): ReplicaRequest => ({
      deploymentId: "0x01",
      replicaIndex: 0,
      seq: "1",
      cpuMillis: 10,
      memoryMiB: 10,
      diskMiB: 0,
      maxPricePerSecond: 5n,
      siblingNodeIds: [],
      previousNodeId: 0,
      ...extra,
    });
    expect(placeReplicas([node(3), node(2)], [req()]).placements[0]!.nodeId).toBe(2);
    expect(placeReplicas([node(1, 3n), node(2, 2n)], [req()]).placements[0]!.nodeId).toBe(2);
    expect(placeReplicas([node(1), node(2)], [req({ siblingNodeIds: [1] })]).placements[0]!.nodeId).toBe(2);
    expect(placeReplicas([node(1), node(2)], [req({ previousNodeId: 1 })]).placements[0]!.nodeId).toBe(2);
    // Alone, a replica may go back to the node it failed on, and a sibling's node is used when no other fits.
    expect(placeReplicas([node(1)], [req({ previousNodeId: 1, siblingNodeIds: [1] })]).placements[0]!.nodeId).toBe(1);
    const r = placeReplicas([node(1, 9n), { ...node(2), eligible: false }], [req()]);
    expect(r.placements).toEqual([]);
    expect(r.unplaced[0]!.reason).toBe("no node fits: 1 price above maxPricePerSecond, 1 not eligible");
  });
});
