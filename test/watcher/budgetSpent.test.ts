/** The watcher's budget rule, alone (it is checked against the contract in test/contracts/deploymentRegistry.test.ts). */
import { describe, expect, it } from "vitest";
import { isBudgetSpent } from "../../src/watcher/decide/budgetSpent";
import { reconcile } from "../../src/watcher/decide/reconcile";

describe("isBudgetSpent", () => {
  it("counts only Running replicas, price times seconds since they started", () => {
    const running = { status: 2, pricePerSecond: 10n, since: 100n };
    expect(isBudgetSpent(1_000n, [running], 199n)).toBe(false); // 990 owed
    expect(isBudgetSpent(1_000n, [running], 200n)).toBe(true); // 1000 owed
    expect(
      isBudgetSpent(
        1_000n,
        [
          { ...running, status: 1 },
          { ...running, status: 4 },
        ],
        10_000n,
      ),
    ).toBe(false);
    expect(isBudgetSpent(1_000n, [running, running], 150n)).toBe(true); // 2 x 500
  });
});

describe("reconcile with a spent budget", () => {
  it("terminates an active deployment the chain shows out of budget, once", () => {
    const id = `0x${"ab".repeat(32)}` as const;
    const deployment = { id, intent: {} as never, status: 3, replicas: 1, seq: "000000000001:000000", terminated: false };
    const replicas = [{ deploymentId: id, index: 0, nodeId: 1, status: 2, attempt: 1, pricePerSecond: 1n }];
    const base = { deployments: [{ deployment, replicas }], nodes: [], lostNodeIds: new Set<number>(), inFlightKeys: new Set<string>() };
    expect(reconcile(base).actions.filter((a) => a.type === "terminate")).toHaveLength(0);
    const spent = reconcile({ ...base, budgetSpentIds: new Set([id]) }).actions.filter((a) => a.type === "terminate");
    expect(spent).toHaveLength(1);
    expect(
      reconcile({ ...base, budgetSpentIds: new Set([id]), inFlightKeys: new Set([spent[0].key]) }).actions.filter((a) => a.type === "terminate"),
    ).toHaveLength(0);
  });
});
