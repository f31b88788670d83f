import { describe, expect, it } from "vitest";
import type { Hex } from "viem";
import { attestationStillNeeded, decideReconcile, type ChainReplica } from "../../src/agent/reconcile";

const A = `0x${"aa".repeat(32)}` as Hex;
const B = `0x${"bb".repeat(32)}` as Hex;
const r = (over: Partial<ChainReplica>): ChainReplica => ({
  deploymentId: A,
  replicaIndex: 0,
  nodeId: 1,
  attempt: 1,
  status: "Scheduled",
  deploymentStatus: "Scheduled",
  ...over,
});

describe("decideReconcile", () => {
  it("starts only replicas placed on this node and runnable", () => {
    const chain = [
      r({}),
      r({ replicaIndex: 1, nodeId: 2 }),
      r({ deploymentId: B, status: "Pending", nodeId: 0 }),
      r({ replicaIndex: 2, deploymentStatus: "Terminated" }),
      r({ replicaIndex: 3, status: "Completed" }),
    ];
    expect(decideReconcile(1, chain, []).start.map((x) => x.replicaIndex)).toEqual([0]);
  });

  it("does not start an attempt it already handled; starts a new attempt", () => {
    expect(decideReconcile(1, [r({})], [{ deploymentId: A, replicaIndex: 0, attempt: 1, active: false }]).start).toEqual([]);
    expect(decideReconcile(1, [r({ attempt: 2 })], [{ deploymentId: A, replicaIndex: 0, attempt: 1, active: false }]).start).toHaveLength(1);
  });

  it("stops runs that are no longer assigned, with a reason", () => {
    const run = { deploymentId: A, replicaIndex: 0, attempt: 1, active: true };
    expect(decideReconcile(1, [r({})], [run]).stop).toEqual([]);
    expect(decideReconcile(1, [r({ nodeId: 3, attempt: 2 })], [run]).stop[0].reason).toMatch(/re-placed on node 3/);
    expect(decideReconcile(1, [r({ deploymentStatus: "Terminated" })], [run]).stop[0].reason).toMatch(/Terminated/);
    expect(decideReconcile(1, [], [run]).stop).toHaveLength(1);
    expect(decideReconcile(1, [], [{ ...run, active: false }]).stop).toEqual([]);
  });

  it("is deterministic regardless of input order", () => {
    const chain = [r({ deploymentId: B }), r({}), r({ replicaIndex: 1 })];
    expect(decideReconcile(1, chain, [])).toEqual(decideReconcile(1, [...chain].reverse(), []));
  });
});

describe("attestationStillNeeded", () => {
  const want = { deploymentId: A, replicaIndex: 0, attempt: 1, status: "Running" as const };
  it("skips what the chain already reflects or what is stale", () => {
    expect(attestationStillNeeded(want, r({}), 1)).toBe(true);
    expect(attestationStillNeeded(want, r({ status: "Running" }), 1)).toBe(false);
    expect(attestationStillNeeded(want, r({ attempt: 2 }), 1)).toBe(false);
    expect(attestationStillNeeded(want, r({ nodeId: 2 }), 1)).toBe(false);
    expect(attestationStillNeeded({ ...want, status: "Tampered" }, r({ status: "Running" }), 1)).toBe(true);
    expect(attestationStillNeeded({ ...want, status: "Completed" }, r({ status: "Completed" }), 1)).toBe(false);
  });
});
