/**
 * Command-line amounts: token amounts are exact (no floating point), quantities follow Kubernetes
 * units, and every bad value names its flag.
 */
import { describe, expect, it } from "vitest";
import { parseCpu, parseIntIn, parseMiB, parseTokenAmount } from "../../src/cli/amounts";
import { parseOutputFormat, renderTable, toJson } from "../../src/cli/output";

describe("amount flags", () => {
  it("parses token amounts exactly", () => {
    expect(parseTokenAmount("--budget", "1.5")).toBe(1_500_000_000_000_000_000n);
    expect(parseTokenAmount("--budget", "0.000000000000000001")).toBe(1n);
    expect(parseTokenAmount("--budget", "1500wei")).toBe(1500n);
    expect(() => parseTokenAmount("--budget", "-1")).toThrow(/^--budget: not a token amount/);
    expect(() => parseTokenAmount("--budget", "1e3")).toThrow(/^--budget/);
    expect(() => parseTokenAmount("--budget", "0.0000000000000000001")).toThrow(/^--budget/);
    expect(() => parseTokenAmount("--budget", "99999999999")).toThrow(/^--budget: .* too large/);
  });

  it("parses CPU and sizes in Kubernetes units", () => {
    expect(parseCpu("--cpu", "1.5")).toBe(1500);
    expect(parseCpu("--cpu", "250m")).toBe(250);
    expect(parseMiB("--mem", "4Gi")).toBe(4096);
    expect(parseMiB("--mem", "1G")).toBe(954); // 10^9 bytes rounded up to MiB
    expect(parseMiB("--mem", "512")).toBe(512);
    expect(() => parseCpu("--cpu", "0.0001")).toThrow(/^--cpu: /);
    expect(() => parseMiB("--mem", "lots")).toThrow(/^--mem: /);
    expect(() => parseIntIn("--replicas", "2.5", 1, 10)).toThrow(/^--replicas: must be a whole number/);
    expect(() => parseIntIn("--replicas", "11", 1, 10)).toThrow(/^--replicas: must be from 1 to 10, got 11/);
  });

  it("formats output", () => {
    expect(parseOutputFormat(undefined)).toBe("table");
    expect(() => parseOutputFormat("xml")).toThrow(/^-o: must be one of/);
    expect(toJson({ a: 1n })).toBe('{\n  "a": "1"\n}');
    expect(
      renderTable([
        { ID: "1", NAME: "a" },
        { ID: "22", NAME: "bb" },
      ]),
    ).toBe("ID  NAME\n1   a\n22  bb");
  });
});
