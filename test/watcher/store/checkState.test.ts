// The pure checks behind the watcher's start-up check: which stored records are unreadable, and a
// cursor behind the state it describes.
import { describe, expect, it } from "vitest";
import { checkCursor, checkRecord } from "../../../src/watcher/store/checkState";
import { encodeRecord } from "../../../src/watcher/store/codec";

const H = (b: string) => `0x${b.repeat(32)}`;

describe("checkRecord", () => {
  it("reads what the store writes", () => {
    expect(checkRecord("s:node:0000000001", encodeRecord({ nodeId: 1, pricePerSecond: 5n }))).toBeUndefined();
    expect(checkRecord("s:meas:0xab", "true")).toBeUndefined();
    expect(
      checkRecord(
        "u:0000000000000012",
        JSON.stringify([
          ["node:1", null],
          ["dep:x", "{}"],
        ]),
      ),
    ).toBeUndefined();
    expect(checkRecord("h:0000000000000012", H("ab"))).toBeUndefined();
    expect(checkRecord("m:cursor", encodeRecord({ number: 12n, hash: H("ab") }))).toBeUndefined();
    expect(checkRecord("o:nonce:0xabc", "7")).toBeUndefined();
  });

  it("names the key and the reason of each unreadable record", () => {
    expect(checkRecord("s:node:0000000001", "garbage{not json")).toEqual({
      kind: "unreadable",
      key: "s:node:0000000001",
      reason: expect.stringMatching(/^not valid JSON: /),
    });
    expect(checkRecord("s:dep:0x1", "12")?.reason).toBe("expected a record (an object)");
    expect(checkRecord("u:0000000000000012", "[1,2]")?.reason).toMatch(/expected an undo log/);
    expect(checkRecord("u:12", "[]")?.reason).toMatch(/16-digit block number/);
    expect(checkRecord("h:0000000000000012", "0x12")?.reason).toMatch(/expected a block hash/);
    expect(checkRecord("m:cursor", encodeRecord({ number: 12, hash: H("ab") }))?.reason).toMatch(/expected a cursor/);
    expect(checkRecord("o:op:k", "{")).toMatchObject({ kind: "unreadable", key: "o:op:k" });
    expect(checkRecord("o:nonce:0xabc", "-1")?.reason).toMatch(/expected a nonce/);
  });
});

describe("checkCursor", () => {
  const cursor = { number: 10n, hash: H("aa") };
  it("accepts a cursor at the newest block the state holds", () => {
    expect(checkCursor(cursor, [8n, 10n], [8n, 9n], H("aa"), true)).toBeUndefined();
    expect(checkCursor(undefined, [], [], undefined, false)).toBeUndefined();
  });
  it("finds a cursor behind the state, a cursor missing, and a cursor whose hash disagrees", () => {
    expect(checkCursor(cursor, [10n, 14n], [12n], H("aa"), true)).toEqual({
      kind: "inconsistent",
      key: "m:cursor",
      reason: expect.stringMatching(/cursor \(block 10\) is behind the state, which already holds block 14/),
    });
    expect(checkCursor(undefined, [], [], undefined, true)?.reason).toBe("state records exist but the cursor is missing");
    expect(checkCursor(cursor, [10n], [], H("bb"), true)?.reason).toMatch(/differs from the stored hash of block 10/);
  });
});
