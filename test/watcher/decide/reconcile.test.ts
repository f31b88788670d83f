// Pure reconcile: which actions follow from desired vs observed state.
import fc from "fast-check";
import type { Hex } from "viem";
import { describe, expect, it } from "vitest";
import type { DeploymentIntent } from "../../../src/chain/eip712";
import { reconcile, type ReconcileInput } from "../../../src/watcher/decide/reconcile";
import type { ObservedDeployment, ObservedNode, ObservedReplica } from "../../../src/watcher/store/observedState";

const intent = (replicas: number, extra: Partial<DeploymentIntent> = {}): DeploymentIntent => ({
  deployer: "0x71bE63f3384f5fb98995898A86B02Fb2426c5788",
  specHash: `0x${"11".repeat(32)}`,
  imageRoot: `0x${"22".repeat(32)}`,
  replicas,
  cpuMillis: 100,
  memoryMiB: 64,
  diskMiB: 10,
  maxPricePerSecond: 10n,
  budget: 1000n,
  nonce: 1n,
  deadline: 2n ** 40n,
  kind: 0,
  quorum: 0,
  maxRetries: 2,
  maxRunSeconds: 0,
  ...extra,
});

const idOf = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
function deployment(n: number, replicas: number, status = 1, extra: Partial<DeploymentIntent> = {}): ObservedDeployment {
  return { id: idOf(n), intent: intent(replicas, extra), status, replicas, seq: String(n).padStart(6, "0"), terminated: false };
}
const replica = (dep: number, index: number, status = 0, nodeId = 0, attempt = 0): ObservedReplica => ({
  deploymentId: idOf(dep),
  index,
  status,
  nodeId,
  attempt,
  pricePerSecond: 0n,
});
function node(nodeId: number, extra: Partial<ObservedNode & { measurementApproved: boolean }> = {}): ObservedNode & { measurementApproved: boolean } {
  return {
    nodeId,
    operator: "0x0000000000000000000000000000000000000001",
    agent: "0x0000000000000000000000000000000000000002",
    cpuMillis: 4000,
    memoryMiB: 4096,
    diskMiB: 4096,
    slots: 16,
    reservedCpuMillis: 0,
    reservedMemoryMiB: 0,
    reservedDiskMiB: 0,
    usedSlots: 0,
    pricePerSecond: 1n,
    stake: 100n,
    unbonding: false,
    jailed: false,
    measurement: `0x${"33".repeat(32)}`,
    endpoint: "http://x",
    measurementApproved: true,
    ...extra,
  };
}
const input = (partial: Partial<ReconcileInput>): ReconcileInput => ({
  deployments: [],
  nodes: [node(1), node(2), node(3)],
  lostNodeIds: new Set(),
  inFlightKeys: new Set(),
  ...partial,
});

describe("reconcile", () => {
  it("places every pending replica of a new deployment on distinct nodes with attempt 1", () => {
    const { actions } = reconcile(input({ deployments: [{ deployment: deployment(1, 3), replicas: [0, 1, 2].map((i) => replica(1, i)) }] }));
    expect(actions.map((a) => [a.type, a.type === "schedule" && a.nodeId, a.type === "schedule" && a.attempt])).toEqual([
      ["schedule", 1, 1],
      ["schedule", 2, 1],
      ["schedule", 3, 1],
    ]);
    expect(actions[0]!.key).toBe(`schedule:${idOf(1)}:0:1`);
  });

  it("re-places a replica that went back to Pending at the next attempt, away from its old node and its siblings", () => {
    const replicas = [replica(1, 0, 2, 1, 1), replica(1, 1, 0, 2, 1)]; // #1 failed on node 2, back to Pending
    const { actions } = reconcile(input({ deployments: [{ deployment: deployment(1, 2, 3), replicas }] }));
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ type: "schedule", replicaIndex: 1, nodeId: 3, attempt: 2 });
  });

  it("reports replicas on lost nodes and does not place on them", () => {
    const replicas = [replica(1, 0, 2, 1, 1), replica(1, 1, 1, 2, 1), replica(1, 2, 0)];
    const { actions } = reconcile(input({ deployments: [{ deployment: deployment(1, 3, 2), replicas }], lostNodeIds: new Set([1, 2]) }));
    expect(actions.map((a) => a.key).sort()).toEqual([`reportLost:${idOf(1)}:0:1`, `reportLost:${idOf(1)}:1:1`, `schedule:${idOf(1)}:2:1`].sort());
    expect(actions.find((a) => a.type === "schedule")).toMatchObject({ nodeId: 3 });
  });

  it("terminates completed jobs and failed deployments, and leaves terminated ones alone", () => {
    const { actions } = reconcile(
      input({
        deployments: [
          { deployment: deployment(1, 1, 4, { kind: 1, quorum: 1 }), replicas: [replica(1, 0, 3, 1, 1)] },
          { deployment: deployment(2, 1, 6), replicas: [replica(2, 0, 4, 1, 1)] },
          { deployment: { ...deployment(3, 1, 5), terminated: true }, replicas: [replica(3, 0, 0)] },
        ],
      }),
    );
    expect(actions.map((a) => a.key)).toEqual([`terminate:${idOf(1)}`, `terminate:${idOf(2)}`]);
  });

  it("skips ineligible nodes (jailed, unbonding, unapproved measurement) and counts in-flight placements", () => {
    const nodes = [node(1, { jailed: true }), node(2, { unbonding: true }), node(3, { measurementApproved: false }), node(4, { slots: 1 })];
    const r = reconcile(
      input({
        nodes,
        deployments: [{ deployment: deployment(1, 1), replicas: [replica(1, 0)] }],
        inFlightReservations: [{ nodeId: 4, cpuMillis: 1, memoryMiB: 1, diskMiB: 1 }],
      }),
    );
    expect(r.actions).toEqual([]);
    expect(r.unplaced[0]!.reason).toContain("3 not eligible");
    expect(r.unplaced[0]!.reason).toContain("1 no free slot");
  });

  it("is idempotent: with its own actions in flight it issues nothing new, and it is deterministic", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            replicas: fc.integer({ min: 1, max: 4 }),
            status: fc.constantFrom(1, 2, 3, 4, 5, 6),
            rs: fc.array(fc.tuple(fc.constantFrom(0, 1, 2, 3, 4), fc.integer({ min: 1, max: 4 })), { minLength: 4, maxLength: 4 }),
          }),
          { maxLength: 6 },
        ),
        fc.subarray([1, 2, 3, 4]),
        (deps, lost) => {
          const deployments = deps.map((d, n) => ({
            deployment: deployment(n + 1, d.replicas, d.status),
            replicas: d.rs.slice(0, d.replicas).map(([s, nodeId], i) => replica(n + 1, i, s, s === 0 ? 0 : nodeId, s === 0 ? 0 : 1)),
          }));
          const base = input({ deployments, nodes: [node(1), node(2), node(3), node(4)], lostNodeIds: new Set(lost) });
          const first = reconcile(base);
          expect(reconcile(base)).toEqual(first);
          const keys = first.actions.map((a) => a.key);
          expect(new Set(keys).size).toBe(keys.length);
          const again = reconcile({
            ...base,
            inFlightKeys: new Set(keys),
            inFlightReservations: first.actions.flatMap((a) =>
              a.type === "schedule" ? [{ nodeId: a.nodeId, cpuMillis: 100, memoryMiB: 64, diskMiB: 10 }] : [],
            ),
          });
          expect(again.actions).toEqual([]);
          for (const a of first.actions) if (a.type === "schedule") expect(lost).not.toContain(a.nodeId);
        },
      ),
    );
  });
});
