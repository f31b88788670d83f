/**
 * Gas is deterministic on the in-process chain: the figures measured by scripts/bench/gas.ts must
 * equal the committed gas-snapshot.json (so any change that costs gas shows in review: rerun
 * `npx tsx scripts/bench/gas.ts --write`), each target is met or its overshoot is stated exactly,
 * and every traced breakdown adds up to its receipts.
 */
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { GAS_TARGETS, SNAPSHOT_FILE, measureGas } from "../../scripts/bench/gas";
import type { TxGas } from "../../scripts/bench/gasBreakdown";

describe("gas", () => {
  it("matches the committed snapshot; targets met or their overshoot stated; breakdowns add up", async () => {
    const { unit: _unit, node: _node, cores: _cores, ...figures } = await measureGas();
    const snapshot = JSON.parse(fs.readFileSync(SNAPSHOT_FILE, "utf8"));
    expect(figures).toEqual(snapshot);
    // Targets (issue 3 and issue 10): submitIntent funded from a deposit <= 65,000; the single-replica
    // service lifecycle <= 160,000 per deployment through the batch calls and <= 290,000 unbatched.
    // A target missed is reported with its exact overshoot (docs/gas.md says what costs what).
    const measured = {
      submitIntent: figures.submitIntent.depositFunded,
      lifecycleBatchedPerDeployment: figures.lifecycleBatchedOf10.perDeployment,
      lifecycle: figures.lifecycle,
    };
    for (const k of Object.keys(GAS_TARGETS) as (keyof typeof GAS_TARGETS)[]) {
      if (measured[k] <= GAS_TARGETS[k]) expect(figures.targetsMissedBy[k], k).toBeUndefined();
      else expect(figures.targetsMissedBy[k], k).toBe(measured[k] - GAS_TARGETS[k]);
    }
    // a 64-byte EIP-2098 signature is cheaper than a 65-byte one (calldata and event bytes)
    expect(figures.submitIntent.depositFundedCompactSig).toBeLessThan(figures.submitIntent.depositFunded);
    expect(figures.lifecycle).toBe(figures.submitIntent.depositFunded + figures.schedule.oneReplica + figures.attest + figures.terminate);
    const b = figures.lifecycleBreakdown;
    const txs: TxGas[] = [b.submitIntent, b.schedule, b.attest, b.terminate];
    expect(txs.map((t) => t.gasUsed)).toEqual([figures.submitIntent.depositFunded, figures.schedule.oneReplica, figures.attest, figures.terminate]);
    for (const t of txs) {
      // receipt gasUsed (from the chain) = intrinsic + calldata (from the input) + traced execution - refund
      expect(t.intrinsic + t.calldata + t.execution - t.refund).toBe(t.gasUsed);
      expect(Object.values(t.byKind).reduce((x, y) => x + y, 0)).toBe(t.execution);
    }
    expect(b.total.gasUsed).toBe(figures.lifecycle);
    expect(b.total.intrinsic).toBe(84_000);
    // the two new slots and two ecrecovers of the floor are really there
    expect(b.submitIntent.byKind.storageWrites).toBeGreaterThanOrEqual(22_100);
    expect(b.schedule.byKind.storageWrites).toBeGreaterThanOrEqual(22_100);
    expect(b.submitIntent.byKind.precompiles).toBe(3_100);
    expect(b.attest.byKind.precompiles).toBe(3_100);
    // the batched lifecycle: four batch transactions, per deployment (each trace / 10, rounded)
    const bb = figures.lifecycleBatchedBreakdownPerDeployment;
    const batched = figures.lifecycleBatchedOf10;
    expect([bb.submitIntents, bb.scheduleMany, bb.attestMany, bb.terminateMany].map((t) => t.gasUsed)).toEqual([
      batched.submitIntents,
      batched.scheduleMany,
      batched.attestMany,
      batched.terminateMany,
    ]);
    expect(bb.total.intrinsic).toBe(8_400); // 4 x 21,000 shared by 10 deployments
    expect(Math.abs(bb.total.gasUsed - batched.perDeployment)).toBeLessThanOrEqual(2); // rounding
    // the 3-replica job adds up (attestRunning is the mean of three, rounded)
    const j = figures.job3;
    expect(Math.abs(j.total - (j.submitIntent + j.schedule + 3 * j.attestRunning + j.firstVote + j.finalizingVote + j.terminate))).toBeLessThanOrEqual(2);
  }, 180_000);
});
