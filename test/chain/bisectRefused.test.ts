// The one batch-refusal recovery (pure logic, an attempt function standing in for the chain): every
// good item goes through exactly once, every refused one is given up exactly once, the attempts
// stay within 2·k·ceil(log2 n) + 1 for k refused among n (one per item would be n), and an error
// that is not a refusal propagates with nothing more attempted.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bisectRefused } from "../../src/chain/bisectRefused";

class Refused extends Error {}

function run(n: number, bad: Set<number>) {
  const sent: number[] = [];
  const refused: number[] = [];
  let attempts = 0;
  const attempt = async (batch: number[]) => {
    attempts++;
    if (batch.some((i) => bad.has(i))) throw new Refused(`refused: ${batch.find((i) => bad.has(i))}`);
    sent.push(...batch);
    return batch.length;
  };
  const items = Array.from({ length: n }, (_, i) => i);
  return bisectRefused(items, attempt, { isRefused: (e) => e instanceof Refused, onRefused: (i) => void refused.push(i) }).then((results) => ({
    sent,
    refused,
    attempts,
    results,
  }));
}

describe("bisectRefused", () => {
  it("sends a clean batch once, and isolates one bad item among 16 in 9 attempts (not 16)", async () => {
    expect(await run(16, new Set())).toEqual({ sent: [...Array(16).keys()], refused: [], attempts: 1, results: [16] });
    const one = await run(16, new Set([5]));
    expect(one.refused).toEqual([5]);
    expect(one.sent.sort((a, b) => a - b)).toEqual([...Array(16).keys()].filter((i) => i !== 5));
    expect(one.attempts).toBe(9); // 1 + 2 per level below the root, 4 levels
  });

  it("every good item once, every bad one given up once, attempts within 2·k·ceil(log2 n) + 1 (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 64 }), fc.array(fc.nat(), { maxLength: 6 }), async (n, picks) => {
        const bad = new Set(picks.map((p) => p % n));
        const r = await run(n, bad);
        const good = [...Array(n).keys()].filter((i) => !bad.has(i));
        expect([...r.sent].sort((a, b) => a - b)).toEqual(good);
        expect([...r.refused].sort((a, b) => a - b)).toEqual([...bad].sort((a, b) => a - b));
        expect(r.attempts).toBeLessThanOrEqual(2 * bad.size * Math.max(1, Math.ceil(Math.log2(n))) + 1);
      }),
    );
  });

  it("an error that is not a refusal propagates, and nothing more is attempted", async () => {
    let attempts = 0;
    const down = async () => {
      attempts++;
      throw new Error("connection refused");
    };
    await expect(bisectRefused([1, 2, 3, 4], down, { isRefused: (e) => e instanceof Refused, onRefused: () => undefined })).rejects.toThrow(
      /connection refused/,
    );
    expect(attempts).toBe(1);
  });
});
