import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Readable } from "node:stream";
import { MAX_CHUNK, MIN_CHUNK, chunkFile, chunkStream } from "../../src/image/chunker";
import { cidForBytes } from "../../src/image/cid";
import { seededBytes } from "./helpers";

describe("FastCDC chunker", () => {
  const data = seededBytes(3 * 1024 * 1024, "chunker");

  it("cuts within [min, max], covers the input exactly, and averages near 64 KiB", () => {
    const chunks = chunkFile(data);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    chunks.slice(0, -1).forEach((c) => {
      expect(c.length).toBeGreaterThanOrEqual(MIN_CHUNK);
      expect(c.length).toBeLessThanOrEqual(MAX_CHUNK);
    });
    const avg = data.length / chunks.length;
    expect(avg).toBeGreaterThan(40 * 1024);
    expect(avg).toBeLessThan(100 * 1024);
  });

  it("a one-byte insertion in the middle moves only the chunks around it", () => {
    const mid = data.length >> 1;
    const edited = Buffer.concat([data.subarray(0, mid), Buffer.from([42]), data.subarray(mid)]);
    const a = new Set(chunkFile(data).map((c) => cidForBytes(c).toString()));
    const b = chunkFile(edited).map((c) => cidForBytes(c).toString());
    const changed = b.filter((c) => !a.has(c)).length;
    expect(changed).toBeGreaterThanOrEqual(1);
    expect(changed).toBeLessThanOrEqual(3);
  });

  it("streaming gives the same boundaries as whole-buffer chunking, for any block sizes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 300_000 }), { minLength: 1, maxLength: 30 }), async (sizes) => {
        const blocks: Buffer[] = [];
        let pos = 0;
        for (const s of sizes) {
          if (pos >= data.length) break;
          blocks.push(data.subarray(pos, pos + s));
          pos += s;
        }
        const input = Buffer.concat(blocks);
        const streamed: number[] = [];
        for await (const c of chunkStream(Readable.from(blocks))) streamed.push(c.length);
        expect(streamed).toEqual(chunkFile(input).map((c) => c.length));
      }),
      { numRuns: 25 },
    );
  });

  it("small and empty inputs", () => {
    expect(chunkFile(new Uint8Array(0))).toEqual([]);
    expect(chunkFile(Buffer.from("abc")).map((c) => c.length)).toEqual([3]);
  });
});
