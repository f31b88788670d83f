/**
 * When each line of a replica's log was written. The workload writes its stdout and stderr
 * straight to files (so it outlives an agent restart, and a job's output hash reads the bytes
 * as written); the agent notes beside each file, as soon as it sees the file grow (inotify, and a
 * poll as a fallback), "<size> <epoch ms>" in `<file>.times`. A line's time is that of the first
 * mark at or past its end: when the agent saw it, within milliseconds of the write while the
 * agent runs (bytes written while no agent ran get the time the next agent saw them).
 * `stampLines` is the pure part; `LogClock` the I/O.
 */
import fs, { promises as fsp } from "node:fs";

/** The file had `offset` bytes at `time` (epoch ms). */
export interface LogMark {
  offset: number;
  time: number;
}

/** A whole line (without its newline) and when it was written (epoch ms). */
export interface StampedLine {
  time: number;
  text: string;
}

/**
 * Parses a `.times` file (a torn last line, from a crash mid-append, is ignored).
 * @example parseMarks("5 1000\n9 2000\n") // [{ offset: 5, time: 1000 }, { offset: 9, time: 2000 }]
 */
export function parseMarks(text: string): LogMark[] {
  const marks: LogMark[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+) (\d+)$/.exec(line);
    if (m) marks.push({ offset: Number(m[1]), time: Number(m[2]) });
  }
  return marks;
}

/**
 * Splits `bytes` (the log from byte `start`) into lines with their times. A trailing piece with no
 * newline is a line only when `final` (the run has ended); else it is left for the next read, and
 * `end` says where that read starts. `since` (epoch ms) drops lines written before it.
 * `fallbackTime` stamps bytes past the last mark.
 * @example stampLines(Buffer.from("a\nb\nc"), 0, [{ offset: 2, time: 10 }, { offset: 4, time: 20 }], { final: false, fallbackTime: 30 })
 * // { lines: [{ time: 10, text: "a" }, { time: 20, text: "b" }], end: 4 }
 */
export function stampLines(
  bytes: Buffer,
  start: number,
  marks: LogMark[],
  opts: { final: boolean; since?: number; fallbackTime: number },
): { lines: StampedLine[]; end: number } {
  const lines: StampedLine[] = [];
  let m = 0;
  let lineStart = 0;
  const timeAt = (end: number) => {
    while (m < marks.length && marks[m].offset < end) m++;
    return m < marks.length ? marks[m].time : opts.fallbackTime;
  };
  const push = (from: number, to: number, endOffset: number) => {
    const time = timeAt(endOffset);
    if (opts.since === undefined || time >= opts.since) lines.push({ time, text: bytes.subarray(from, to).toString("utf8") });
  };
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x0a) continue;
    push(lineStart, i, start + i + 1);
    lineStart = i + 1;
  }
  if (opts.final && lineStart < bytes.length) {
    push(lineStart, bytes.length, start + bytes.length);
    lineStart = bytes.length;
  }
  return { lines, end: start + lineStart };
}

/** The `.times` file beside a log file. */
export function marksFileOf(logFile: string): string {
  return `${logFile}.times`;
}

/**
 * Notes when a log file grows. `sample()` may be called any time (the HTTP API does before it
 * answers, so what it reads is stamped); `start()` samples on every change the kernel reports
 * and every `pollMs`; `stop()` takes a last sample.
 * @example const clock = new LogClock("/data/r/stdout.log"); clock.start(); … await clock.stop();
 */
export class LogClock {
  private last = -1;
  private watcher: fs.FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Appends a mark if the file grew since the last one (serialized: marks stay in order). */
  sample(): Promise<void> {
    this.chain = this.chain
      .then(() => {
        // Synchronous: a stat and a one-line append on the node's own disk, on every replica's
        // path (two clocks a run); through fs.promises each costs several times the system call.
        const size = fs.statSync(this.file, { throwIfNoEntry: false })?.size ?? -1;
        if (this.last < 0) {
          // An earlier agent process may have noted marks already: continue after them.
          let text = "";
          try {
            text = fs.readFileSync(marksFileOf(this.file), "utf8");
          } catch {
            /* no marks yet */
          }
          const marks = parseMarks(text);
          this.last = marks.length ? marks[marks.length - 1].offset : 0;
        }
        if (size > this.last) {
          fs.appendFileSync(marksFileOf(this.file), `${size} ${this.now()}\n`);
          this.last = size;
        }
      })
      .catch(() => undefined); // the run's folder gone: nothing left to stamp
    return this.chain;
  }

  start(pollMs = 1000): void {
    if (this.timer) return;
    try {
      this.watcher = fs.watch(this.file, () => void this.sample());
      this.watcher.on("error", () => undefined);
    } catch {
      this.watcher = null; // no inotify here: the poll alone
    }
    this.timer = setInterval(() => void this.sample(), pollMs);
    this.timer.unref();
    void this.sample();
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    this.watcher = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sample();
  }
}

/**
 * Reads a `.times` file (none yet: no marks).
 * @example await readMarks("/data/r/stdout.log") // [{ offset: 12, time: 1795990545916 }]
 */
export async function readMarks(logFile: string): Promise<LogMark[]> {
  return parseMarks(await fsp.readFile(marksFileOf(logFile), "utf8").catch(() => ""));
}
