import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { byteQuantityToBytes, cpuQuantityToMillis, formatBytes, formatMillis, parseQuantity } from "../../src/spec/quantity";

const cpu = (s: string) => {
  const r = cpuQuantityToMillis(s);
  return r.ok ? Number(r.value) : r.reason;
};
const bytes = (s: string) => {
  const r = byteQuantityToBytes(s);
  return r.ok ? r.value : r.reason;
};

describe("Kubernetes quantities, exact", () => {
  it.each([
    ["500m", 500],
    ["0.5", 500],
    [".5", 500],
    ["1", 1000],
    ["1.5", 1500],
    ["0.1", 100],
    ["2", 2000],
    ["1e3", 1_000_000],
    ["1e-3", 1],
    ["1E0", 1000],
    ["+250m", 250],
    ["1000000n", 1],
    ["1k", 1_000_000],
  ])("cpu %s = %im", (text, millis) => expect(cpu(text)).toBe(millis));

  it.each([
    ["128Mi", 134217728n],
    ["1Gi", 1073741824n],
    ["1024Mi", 1073741824n],
    ["1G", 1_000_000_000n],
    ["1e3", 1000n],
    ["1.5Gi", 1610612736n],
    ["0.5Ki", 512n],
    ["1k", 1000n],
    ["1M", 1_000_000n],
    ["64", 64n],
    ["2Ti", 2199023255552n],
    ["1E", 10n ** 18n],
    ["1Ei", 1n << 60n],
  ])("memory %s = %s bytes", (text, b) => expect(bytes(text)).toBe(b));

  it.each([
    ["0.0001", /finer than 1m/],
    ["1u", /finer than 1m/],
  ])("cpu %s is rejected: %s", (text, re) => expect(cpu(text)).toMatch(re));

  it.each([
    ["500m", /not a whole number of bytes/],
    ["1.5", /not a whole number of bytes/],
    ["-1Gi", /negative/],
    ["1Gb", /not a quantity/],
    ["1 Gi", /not a quantity/],
    ["", /empty/],
    ["Mi", /not a quantity/],
    ["1.2.3", /not a quantity/],
    ["0x10", /not a quantity/],
    ["1e100", /exponent/],
    ["1e2Mi", /not a quantity/],
    ["9".repeat(80), /too long/],
  ])("memory %j is rejected: %s", (text, re) => expect(bytes(text)).toMatch(re));

  it("binary suffixes multiply by 2^(10k) (checked with independent bigint shifts)", () => {
    const suffixes = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    fc.assert(
      fc.property(fc.nat({ max: 1 << 20 }), fc.integer({ min: 0, max: 5 }), (n, i) => {
        expect(bytes(`${n}${suffixes[i]}`)).toBe(BigInt(n) << BigInt(10 * (i + 1)));
      }),
    );
  });

  it("decimal cores with up to 3 fraction digits equal millicores (string arithmetic oracle)", () => {
    fc.assert(
      fc.property(fc.nat({ max: 100_000 }), fc.stringMatching(/^[0-9]{1,3}$/), (whole, frac) => {
        const expected = whole * 1000 + Number(frac.padEnd(3, "0"));
        fc.pre(expected > 0);
        expect(cpu(`${whole}.${frac}`)).toBe(expected);
        expect(cpu(`${expected}m`)).toBe(expected);
      }),
    );
  });

  it("formatBytes / formatMillis are exact inverses", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 50 }), (n) => {
        expect(bytes(formatBytes(n))).toBe(BigInt(n));
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), (m) => {
        expect(cpu(formatMillis(m))).toBe(m);
      }),
    );
    expect(formatBytes(64 * 1024 * 1024)).toBe("64Mi");
    expect(formatMillis(2000)).toBe("2");
    expect(formatMillis(250)).toBe("250m");
  });

  it("keeps exact rationals (no float): 0.1 + 0.2 style values", () => {
    const q = parseQuantity("0.3");
    expect(q).toEqual({ ok: true, value: { num: 3n, den: 10n } });
  });
});
