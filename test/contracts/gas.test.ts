/**
 * Gas is deterministic on the in-process chain: the figures measured by scripts/bench/gas.ts must
 * equal the committed gas-snapshot.json (so any change that costs gas shows in review: rerun
 * `npx tsx scripts/bench/gas.ts --write`), and stay within the targets where reachable.
 */
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { GAS_TARGETS, SNAPSHOT_FILE, measureGas } from "../../scripts/bench/gas";

describe("gas", () => {
  it("matches the committed snapshot and the targets", async () => {
    const { unit: _unit, node: _node, cores: _cores, ...figures } = await measureGas();
    const snapshot = JSON.parse(fs.readFileSync(SNAPSHOT_FILE, "utf8"));
    expect(figures).toEqual(snapshot);
    // submitIntent target (<= 65,000 including the 21,000 intrinsic cost) is met with an EIP-2098
    // compact signature; a 65-byte signature costs ~400 more calldata and log bytes (documented in
    // the snapshot and the report: 65,294).
    expect(figures.submitIntent.depositFundedCompactSig).toBeLessThanOrEqual(GAS_TARGETS.submitIntent);
    expect(figures.submitIntent.depositFunded).toBeLessThanOrEqual(GAS_TARGETS.submitIntent + 400);
    // The single-replica lifecycle target (150,000) is below the floor of what issue 3 asks the
    // lifecycle to do (docs/gas.md): 4 transactions (84,000 intrinsic) + two new storage slots
    // (deployment and replica, 44,200) + two signature checks (6,200) + the escrow debit, the
    // capacity reserve and release, the attested status, the terminated status and two credits
    // (35,000 as cold slot updates) = 169,400 before calldata and events. The test pins the
    // measured figure instead (see snapshot) and checks the breakdown accounts for every unit.
    expect(figures.lifecycle).toBe(figures.submitIntent.depositFunded + figures.schedule.oneReplica + figures.attest + figures.terminate);
    const b = figures.lifecycleBreakdown;
    const txs = [b.submitIntent, b.schedule, b.attest, b.terminate];
    expect(txs.map((t) => t.gasUsed)).toEqual([figures.submitIntent.depositFunded, figures.schedule.oneReplica, figures.attest, figures.terminate]);
    for (const t of txs) {
      // receipt gasUsed (from the chain) = intrinsic + calldata (from the input) + traced execution
      expect(t.refund).toBe(0);
      expect(t.intrinsic + t.calldata + t.execution).toBe(t.gasUsed);
    }
    expect(b.total.gasUsed).toBe(figures.lifecycle);
    expect(b.total.intrinsic).toBe(84_000);
    // the two new slots and two ecrecovers the floor counts are really there
    expect(b.submitIntent.byKind.storageWrites).toBeGreaterThanOrEqual(22_100);
    expect(b.schedule.byKind.storageWrites).toBeGreaterThanOrEqual(22_100);
    expect(b.submitIntent.byKind.precompiles).toBe(3_100);
    expect(b.attest.byKind.precompiles).toBe(3_100);
  }, 120_000);
});
