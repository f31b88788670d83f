/**
 * The gas breakdown's arithmetic on hand-made traces (the end-to-end check against real receipts
 * is in gas.test.ts). Expected values are worked out by hand from EIP-2028 and the opcode costs.
 */
import { describe, expect, it } from "vitest";
import { breakdownTx, calldataGas, sumTxGas, type StructLog } from "../../scripts/bench/gasBreakdown";

describe("calldataGas", () => {
  it("prices zero bytes at 4 and non-zero bytes at 16 (EIP-2028)", () => {
    expect(calldataGas("0x")).toBe(0);
    expect(calldataGas("0x00")).toBe(4);
    expect(calldataGas("0x01ff00")).toBe(16 + 16 + 4);
    // approve(spender, 5): selector 4 non-zero, address 12 zero + 20 non-zero, amount 31 zero + 1 non-zero
    const approve = ("0x095ea7b3" + "00".repeat(12) + "11".repeat(20) + "00".repeat(31) + "05") as `0x${string}`;
    expect(calldataGas(approve)).toBe(25 * 16 + 43 * 4);
  });
});

describe("breakdownTx", () => {
  const step = (depth: number, op: string, gas: number, gasCost: number): StructLog => ({ depth, op, gas, gasCost });

  it("charges a contract call only its own cost and a precompile call what it consumed", () => {
    const logs: StructLog[] = [
      step(1, "SLOAD", 10_000, 2_100),
      step(1, "CALL", 7_900, 7_600), // forwards 5_000: own cost 2_600
      step(2, "SSTORE", 5_000, 2_900),
      step(2, "STOP", 2_100, 0),
      step(1, "STATICCALL", 4_500, 4_400), // a precompile (no child steps): 3_100 consumed before the next step
      step(1, "LOG1", 1_400, 750),
      step(1, "STOP", 650, 0),
    ];
    const t = breakdownTx({ gasUsed: 21_000 + 4 + 2_100 + 2_600 + 2_900 + 3_100 + 750, input: "0x00", structLogs: logs });
    expect(t.byKind).toEqual({ storageWrites: 2_900, storageReads: 2_100, logs: 750, precompiles: 3_100, contractCalls: 2_600, hashing: 0, other: 0 });
    expect(t.calldata).toBe(4);
    expect(t.execution).toBe(2_100 + 2_600 + 2_900 + 3_100 + 750);
    expect(t.refund).toBe(0);
  });

  it("reports a storage refund as the difference from the receipt", () => {
    const t = breakdownTx({ gasUsed: 21_000 + 5_000 - 1_000, input: "0x", structLogs: [step(1, "SSTORE", 6_000, 5_000), step(1, "STOP", 1_000, 0)] });
    expect(t.refund).toBe(1_000);
  });

  it("adds transactions up", () => {
    const a = breakdownTx({ gasUsed: 21_100, input: "0x", structLogs: [step(1, "SLOAD", 200, 100)] });
    const total = sumTxGas([a, a]);
    expect(total).toEqual({ gasUsed: 42_200, intrinsic: 42_000, calldata: 0, execution: 200, refund: 0, byKind: { ...a.byKind, storageReads: 200 } });
  });
});
