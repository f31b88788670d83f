/**
 * When each log line was written (agent/logClock.ts): the pure stamping of lines from marks, and
 * the clock on a real file, noting each growth once, continuing after an earlier process's marks,
 * and stamping a real process's output within a fraction of a second of its writes.
 */
import { spawn } from "node:child_process";
import { promises as fs, openSync, closeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LogClock, parseMarks, readMarks, stampLines } from "../../src/agent/logClock";

describe("stampLines", () => {
  const marks = [
    { offset: 2, time: 10 },
    { offset: 6, time: 20 },
  ];
  it("gives each line the time of the first mark at or past its end", () => {
    expect(stampLines(Buffer.from("a\nb\ncc\nd"), 0, marks, { final: false, fallbackTime: 99 })).toEqual({
      lines: [
        { time: 10, text: "a" },
        { time: 20, text: "b" },
        { time: 99, text: "cc" }, // past the last mark
      ],
      end: 7,
    });
  });
  it("keeps the unfinished last line for later unless the run has ended; reads from an offset; drops lines before since", () => {
    expect(stampLines(Buffer.from("b\nccc"), 2, marks, { final: true, fallbackTime: 99 }).lines).toEqual([
      { time: 20, text: "b" },
      { time: 99, text: "ccc" },
    ]);
    expect(stampLines(Buffer.from("a\nb\n"), 0, marks, { final: false, since: 15, fallbackTime: 99 })).toEqual({ lines: [{ time: 20, text: "b" }], end: 4 });
  });
  it("parseMarks ignores a torn last line", () => {
    expect(parseMarks("5 1000\n9 20")).toEqual([
      { offset: 5, time: 1000 },
      { offset: 9, time: 20 },
    ]);
    expect(parseMarks("5 1000\n9 ")).toEqual([{ offset: 5, time: 1000 }]);
  });
});

describe("LogClock on a real file", () => {
  it("notes each growth once, and a new clock continues after the marks already there", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "hypha-clock-"));
    const file = path.join(dir, "stdout.log");
    await fs.writeFile(file, "");
    let now = 100;
    const clock = new LogClock(file, () => now);
    await clock.sample(); // empty: nothing to note
    await fs.appendFile(file, "abc\n");
    await clock.sample();
    now = 200;
    await clock.sample(); // unchanged: no new mark
    expect(await readMarks(file)).toEqual([{ offset: 4, time: 100 }]);
    await fs.appendFile(file, "de\n");
    now = 300;
    await new LogClock(file, () => now).sample(); // a restarted agent
    expect(await readMarks(file)).toEqual([
      { offset: 4, time: 100 },
      { offset: 7, time: 300 },
    ]);
  });

  it("stamps a real process's lines within a fraction of a second of when they were written", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "hypha-clock-"));
    const file = path.join(dir, "stdout.log");
    const fd = openSync(file, "a");
    const started = Date.now();
    const child = spawn("sh", ["-c", "echo one; sleep 1; echo two"], { stdio: ["ignore", fd, "ignore"] });
    closeSync(fd);
    const clock = new LogClock(file);
    clock.start(5_000); // the poll is slow: the kernel's change notices must do it
    await new Promise((r) => child.on("exit", r));
    await clock.stop();
    const { lines } = stampLines(await fs.readFile(file), 0, await readMarks(file), { final: true, fallbackTime: 0 });
    expect(lines.map((l) => l.text)).toEqual(["one", "two"]);
    // 1 s apart as written (allowing the shared machine a stall of half a second); with only the
    // 5 s poll both would share a mark, or be 5 s apart
    const gap = lines[1].time - lines[0].time;
    expect(gap).toBeGreaterThan(500);
    expect(gap).toBeLessThan(3_000);
    expect(lines[0].time - started).toBeLessThan(2_000);
  });
});
