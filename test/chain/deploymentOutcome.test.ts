/**
 * deploymentOutcome tells a job that reached its quorum, a failed deployment, one its deployer
 * deleted and one that ran out of budget apart, from the events and views the chain holds.
 */
import type { Address } from "viem";
import { describe, expect, it } from "vitest";
import { deploymentOutcome, waitVerdict, type OutcomeEvent, type OutcomeInput } from "../../src/chain/deploymentOutcome";

const deployer = "0x71bE63f3384f5fb98995898A86B02Fb2426c5788";
const watcher = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const tx = `0x${"ab".repeat(32)}` as const;
let block = 10n;
// A fixture event: only the arguments the outcome reads (the cast says the rest is left out).
const ev = <N extends OutcomeEvent["eventName"]>(eventName: N, args: Partial<Extract<OutcomeEvent, { eventName: N }>["args"]>) =>
  ({ eventName, args, blockNumber: block++, transactionHash: tx }) as OutcomeEvent;
const status = (from: number, to: number) => ev("DeploymentStatusChanged", { from, to });
const terminated = (by: Address, paid = 5n, refunded = 7n) => ev("Terminated", { by, paidToNodes: paid, refunded });

function input(over: Partial<OutcomeInput>): OutcomeInput {
  return { status: 1, kind: 0, deployer, quorum: 1, replicas: 1, placed: 0, running: 0, events: [], ...over };
}

describe("deploymentOutcome", () => {
  it("a job that reached its quorum and was settled by the watcher is Succeeded, not Terminated", () => {
    // the contract tells -> Completed by JobFinalized and -> Terminated by Terminated (no DeploymentStatusChanged for them)
    const events = [status(1, 3), ev("JobFinalized", { outputHash: `0x${"b7".repeat(32)}`, agreeing: 2 }), terminated(watcher)];
    const o = deploymentOutcome(input({ status: 5, kind: 1, quorum: 2, replicas: 3, jobResult: `0x${"b7".repeat(32)}`, events }));
    expect(o).toMatchObject({ phase: "Succeeded", reason: "QuorumReached", chainStatus: "Terminated" });
    expect(o.message).toContain(`job result 0x${"b7".repeat(32)} agreed by 2 replica(s) (quorum 2)`);
    expect(o.terminated).toMatchObject({ by: watcher, paidToNodes: 5n, refunded: 7n });
  });

  it("a job Completed but not yet settled is Succeeded too", () => {
    expect(
      deploymentOutcome(input({ status: 4, kind: 1, events: [status(1, 3), ev("JobFinalized", { outputHash: `0x${"b7".repeat(32)}`, agreeing: 2 })] })).phase,
    ).toBe("Succeeded");
  });

  it("a deployment whose replica failed with no retries left is Failed (Tampered named), settled or not", () => {
    const failedEvents = [status(1, 3), ev("ReplicaStatusChanged", { replicaIndex: 0, nodeId: 2, from: 2, to: 4 }), status(3, 6)];
    expect(deploymentOutcome(input({ status: 6, events: failedEvents }))).toMatchObject({
      phase: "Failed",
      reason: "ReplicaFailed",
      message: "replica 0 failed on node 2 with no retries left",
    });
    const settled = deploymentOutcome(input({ status: 5, events: [...failedEvents, terminated(watcher)] }));
    expect(settled).toMatchObject({ phase: "Failed", reason: "ReplicaFailed", chainStatus: "Terminated" });
    const tampered = [status(1, 3), ev("ReplicaStatusChanged", { replicaIndex: 1, nodeId: 3, from: 2, to: 5 }), status(3, 6)];
    expect(deploymentOutcome(input({ status: 6, events: tampered })).reason).toBe("ReplicaTampered");
  });

  it("terminated by the deployer while active is Deleted; by anyone else, OutOfBudget", () => {
    const running = [status(1, 2), status(2, 3)];
    expect(deploymentOutcome(input({ status: 5, events: [...running, terminated(deployer.toLowerCase() as Address)] }))).toMatchObject({
      phase: "Deleted",
      reason: "DeletedByDeployer",
    });
    const spent = deploymentOutcome(input({ status: 5, events: [...running, terminated(watcher)] }));
    expect(spent).toMatchObject({ phase: "OutOfBudget", reason: "BudgetExhausted" });
    expect(spent.message).toContain(`settled by ${watcher}`);
  });

  it("a job whose replicas all finished without a majority is Failed (NoMajority)", () => {
    const o = deploymentOutcome(input({ status: 3, kind: 1, quorum: 2, replicas: 2, replicaStatuses: [3, 3], events: [status(1, 3)] }));
    expect(o).toMatchObject({ phase: "Failed", reason: "NoMajority" });
    // one replica still running: not yet decided
    expect(deploymentOutcome(input({ status: 3, kind: 1, quorum: 2, replicas: 2, replicaStatuses: [3, 2], events: [status(1, 3)] })).phase).toBe("Running");
  });

  it("a job whose outputs reached no strict majority (JobUndecided) is Failed (NoMajority)", () => {
    const events = [status(1, 3), ev("JobUndecided", {}), status(3, 6), terminated(watcher)];
    expect(deploymentOutcome(input({ status: 5, kind: 1, quorum: 2, replicas: 3, events }))).toMatchObject({
      phase: "Failed",
      reason: "NoMajority",
      chainStatus: "Terminated",
    });
  });

  it("in progress and unknown", () => {
    expect(deploymentOutcome(input({ status: 1, placed: 1, replicas: 3 }))).toMatchObject({
      phase: "Requested",
      reason: "Placing",
      message: "1/3 replica(s) placed",
    });
    expect(deploymentOutcome(input({ status: 3, running: 1 }))).toMatchObject({ phase: "Running", reason: "AllReplicasRunning" });
    expect(deploymentOutcome(input({ status: 0 }))).toMatchObject({ phase: "Unknown", reason: "NotFound" });
  });

  it("waitVerdict: success for the awaited phase, failure for any other ended phase", () => {
    const ok = deploymentOutcome(
      input({
        status: 5,
        kind: 1,
        jobResult: `0x${"01".repeat(32)}`,
        events: [ev("JobFinalized", { outputHash: `0x${"b7".repeat(32)}`, agreeing: 2 }), terminated(watcher)],
      }),
    );
    expect(waitVerdict(ok, ["Succeeded"])).toBe("success");
    const deleted = deploymentOutcome(input({ status: 5, events: [status(1, 3), terminated(deployer)] }));
    expect(waitVerdict(deleted, ["Running"])).toBe("failure");
    expect(waitVerdict(deploymentOutcome(input({ status: 2 })), ["Running"])).toBeUndefined();
  });
});
