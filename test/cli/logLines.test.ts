/** `hypha logs`' pure part: durations, stamped lines read back, and streams merged in time order. */
import { describe, expect, it } from "vitest";
import { formatLine, mergeByTime, parseDuration, parseRfc3339, parseStamped, type LogLine } from "../../src/cli/logLines";

describe("logs' pure part", () => {
  it("parses kubectl durations and refuses anything else, naming the flag", () => {
    expect(parseDuration("--since", "90s")).toBe(90_000);
    expect(parseDuration("--since", "1h30m")).toBe(5_400_000);
    expect(parseDuration("--since", "500ms")).toBe(500);
    for (const bad of ["", "5", "5d", "1h 30m", "-5s", "s"])
      expect(() => parseDuration("--since", bad)).toThrow(/^--since: must be a duration like 30s, 5m or 1h30m/);
    expect(parseRfc3339("--since-time", "2026-01-01T00:00:00Z")).toBe(Date.UTC(2026, 0, 1));
    expect(() => parseRfc3339("--since-time", "2026-01-01")).toThrow(/^--since-time: must be an RFC 3339 time/);
  });

  it("reads stamped lines back, keeping spaces in the text", () => {
    expect(parseStamped("2026-01-01T00:00:00.000Z a  b\nno time\n", "stderr")).toEqual([
      { time: "2026-01-01T00:00:00.000Z", stream: "stderr", text: "a  b" },
      { time: null, stream: "stderr", text: "no time" },
    ]);
  });

  it("merges stdout and stderr in time order, stdout first at equal times, each stream's order kept", () => {
    const t = (s: number) => `2026-01-01T00:00:0${s}.000Z`;
    const out: LogLine[] = [
      { time: t(1), stream: "stdout", text: "one" },
      { time: t(3), stream: "stdout", text: "three" },
      { time: t(3), stream: "stdout", text: "three-b" },
    ];
    const err: LogLine[] = [
      { time: t(2), stream: "stderr", text: "two" },
      { time: t(3), stream: "stderr", text: "three-err" },
    ];
    expect(mergeByTime([out, err]).map((l) => l.text)).toEqual(["one", "two", "three", "three-b", "three-err"]);
    expect(formatLine(out[0], true)).toBe(`${t(1)} one`);
    expect(formatLine(out[0], false)).toBe("one");
  });
});
