/**
 * encodeRecord writes by hand what JSON.stringify with a bigint replacer writes (the format the
 * stores already hold), and decodeRecord reads it back.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeRecord, encodeRecord } from "../../../src/watcher/store/codec";

const viaReplacer = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? { $n: x.toString() } : x));
const values = fc.object({
  key: fc.string(),
  values: [fc.bigInt(), fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined)],
  withNullPrototype: false,
});

describe("codec", () => {
  it("encodes every record as JSON.stringify with the bigint replacer does", () => {
    fc.assert(
      fc.property(fc.oneof(values, fc.array(values)), (v) => {
        expect(encodeRecord(v)).toBe(viaReplacer(v));
      }),
      { numRuns: 500 },
    );
    expect(encodeRecord({ a: 5n, b: [1, undefined, "x"], c: undefined, d: -0, e: Number.NaN })).toBe('{"a":{"$n":"5"},"b":[1,null,"x"],"d":0,"e":null}');
  });

  it("reads back what it wrote, bigints exact", () => {
    fc.assert(
      fc.property(
        fc.record({ price: fc.bigInt(), n: fc.integer(), s: fc.string(), nested: fc.record({ t: fc.bigInt({ min: 0n, max: 2n ** 256n }) }) }),
        (v) => {
          expect(decodeRecord(encodeRecord(v))).toEqual(v);
        },
      ),
    );
  });
});
