/**
 * The canonicalization package against RFC 8785's published examples, and the specHash against an
 * independent sha256 (viem / @noble/hashes) over a canonical JSON written out by hand.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import canonicalize from "canonicalize";
import { sha256, stringToBytes } from "viem";
import { canonicalSpecJson, computeSpecHash, parseManifests } from "../../src/spec";

function fromBits(hex: string): number {
  const buf = Buffer.from(hex, "hex");
  return buf.readDoubleBE(0);
}

describe("RFC 8785 (JCS) vectors", () => {
  it("section 3.2.2: the sample object", () => {
    const input =
      '{\n  "numbers": [333333333.33333329, 1E30, 4.50,\n              2e-3, 0.000000000000000000000000001],\n  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n  "literals": [null, true, false]\n}';
    const expected = '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';
    expect(canonicalize(JSON.parse(input))).toBe(expected);
  });

  it("section 3.2.3: property sorting by UTF-16 code units", () => {
    const input = JSON.parse(
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}',
    );
    // read values in text order (JSON.parse would move the integer-like key "1" first)
    const values = [...canonicalize(input)!.matchAll(/":"([^"]*)"/g)].map((m) => m[1]);
    expect(values).toEqual([
      "Carriage Return",
      "One",
      "Control",
      "Latin Small Letter O With Diaeresis",
      "Euro Sign",
      "Emoji: Grinning Face",
      "Hebrew Letter Dalet With Dagesh",
    ]);
  });

  it.each([
    ["0000000000000000", "0"],
    ["8000000000000000", "0"],
    ["0000000000000001", "5e-324"],
    ["8000000000000001", "-5e-324"],
    ["7fefffffffffffff", "1.7976931348623157e+308"],
    ["ffefffffffffffff", "-1.7976931348623157e+308"],
    ["4340000000000000", "9007199254740992"],
    ["c340000000000000", "-9007199254740992"],
    ["4430000000000000", "295147905179352830000"],
    ["44b52d02c7e14af5", "9.999999999999997e+22"],
    ["44b52d02c7e14af6", "1e+23"],
    ["44b52d02c7e14af7", "1.0000000000000001e+23"],
    ["444b1ae4d6e2ef4e", "999999999999999700000"],
    ["444b1ae4d6e2ef4f", "999999999999999900000"],
    ["444b1ae4d6e2ef50", "1e+21"],
    ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
    ["3eb0c6f7a0b5ed8d", "0.000001"],
    ["41b3de4355555553", "333333333.3333332"],
    ["41b3de4355555554", "333333333.33333325"],
    ["41b3de4355555555", "333333333.3333333"],
    ["41b3de4355555556", "333333333.3333334"],
    ["41b3de4355555557", "333333333.33333343"],
    ["becbf647612f3696", "-0.0000033333333333333333"],
    ["43143ff3c1cb0959", "1424953923781206.2"],
  ])("appendix B: number %s serializes as %s", (bits, text) => {
    expect(canonicalize(fromBits(bits))).toBe(text);
  });

  it("appendix B: NaN and Infinity are errors", () => {
    expect(() => canonicalize(fromBits("7fffffffffffffff"))).toThrow();
    expect(() => canonicalize(fromBits("7ff0000000000000"))).toThrow();
  });
});

describe("specHash", () => {
  // Written out by hand from the seed's Deployment and the documented defaults (100m, 64Mi, 256Mi disk).
  const SEED_DEPLOYMENT_CANONICAL =
    '{"args":[],"command":["echo","Deterministic deployment"],"env":[],"format":"hypha.spec/v1","image":"ubuntu:latest",' +
    '"job":null,"kind":"service","labels":{"app":"deterministic-app"},"name":"deterministic-app","ports":[],"replicas":3,' +
    '"resources":{"cpuMillis":100,"diskBytes":268435456,"memoryBytes":67108864},"restartPolicy":"Always","workingDir":null}';

  it("is sha256 (independent implementation) of the canonical JSON of the seed Deployment", () => {
    const [w] = parseManifests(readFileSync("examples/deployment.yaml", "utf8"));
    expect(canonicalSpecJson(w.spec)).toBe(SEED_DEPLOYMENT_CANONICAL);
    expect(computeSpecHash(w.spec)).toBe(sha256(stringToBytes(SEED_DEPLOYMENT_CANONICAL)));
    expect(computeSpecHash(w.spec)).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it("hashes UTF-8 bytes (non-ASCII args) like an independent sha256", () => {
    const [w] = parseManifests('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - image: busybox\n    command: ["echo", "€ 😀 ö"]\n');
    const json = canonicalSpecJson(w.spec);
    expect(json).toContain('"command":["echo","€ 😀 ö"]');
    expect(computeSpecHash(w.spec)).toBe(sha256(stringToBytes(json)));
  });
});
