// The eth_getLogs range sizing: grows on quiet ranges, halves on errors, and follows the log
// density so one reply holds about the target number of logs (a cold start's memory peak).
import { describe, expect, it } from "vitest";
import { nextRangeSize } from "../../../src/watcher/ingest/rangeSize";

describe("nextRangeSize", () => {
  it("doubles up to the max when replies are small, halves on an error", () => {
    expect(nextRangeSize(100, "ok", 2000)).toBe(200);
    expect(nextRangeSize(1500, "ok", 2000, { logs: 10, targetLogs: 2000 })).toBe(2000);
    expect(nextRangeSize(100, "error", 2000)).toBe(50);
    expect(nextRangeSize(1, "error", 2000)).toBe(1);
  });

  it("shrinks a dense range to the target, and holds one that is near it", () => {
    expect(nextRangeSize(100, "ok", 2000, { logs: 8000, targetLogs: 2000 })).toBe(25);
    expect(nextRangeSize(3, "ok", 2000, { logs: 100_000, targetLogs: 2000 })).toBe(1);
    expect(nextRangeSize(100, "ok", 2000, { logs: 1500, targetLogs: 2000 })).toBe(100);
  });
});
