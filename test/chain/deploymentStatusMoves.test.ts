/**
 * deploymentStatusMoves puts a deployment's status moves back in one list: DeploymentStatusChanged
 * names its `from`; JobFinalized (-> Completed) and Terminated (-> Terminated) move from the status
 * before them, as the contract emits them (one event per move).
 */
import { describe, expect, it } from "vitest";
import { deploymentStatusMoves } from "../../src/chain/deploymentStatusMoves";

const ev = (eventName: string, args: Record<string, unknown> = {}) => ({ eventName, args });
const dsc = (from: number, to: number) => ev("DeploymentStatusChanged", { from, to });

describe("deploymentStatusMoves", () => {
  it("a job final at once and settled: Requested -> Scheduled, -> Completed (JobFinalized), -> Terminated", () => {
    const events = [ev("IntentSubmitted"), dsc(1, 2), ev("ReplicaScheduled"), ev("JobFinalized", { outputHash: "0x01" }), ev("Terminated")];
    expect(deploymentStatusMoves(events)).toEqual([
      { from: 1, to: 2, index: 1 },
      { from: 2, to: 4, index: 3 },
      { from: 4, to: 5, index: 4 },
    ]);
  });

  it("a failed deployment terminated, one terminated while Requested, one cancelled, and events that tell no move", () => {
    expect(deploymentStatusMoves([dsc(1, 3), dsc(3, 6), ev("Terminated")]).map((m) => [m.from, m.to])).toEqual([
      [1, 3],
      [3, 6],
      [6, 5],
    ]);
    expect(deploymentStatusMoves([ev("Terminated")]).map((m) => [m.from, m.to])).toEqual([[1, 5]]);
    expect(deploymentStatusMoves([dsc(0, 7)]).map((m) => [m.from, m.to])).toEqual([[0, 7]]);
    expect(deploymentStatusMoves([ev("Attested"), ev("JobUndecided"), ev("PaymentCredited")])).toEqual([]);
  });
});
