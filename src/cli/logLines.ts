/**
 * The pure part of `hypha logs`: kubectl's --since durations, the agents' stamped lines
 * ("RFC3339-TIME TEXT", see agent/logClock.ts) read back, and stdout and stderr merged in the
 * order they were written.
 */
import { HyphaError } from "../errors";

/** One line of a replica's output. */
export interface LogLine {
  /** When the agent saw it written (RFC 3339), null when the agent did not say. */
  time: string | null;
  stream: "stdout" | "stderr";
  text: string;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a kubectl-style duration (`90s`, `5m`, `1h30m`, `500ms`) into milliseconds.
 * @example parseDuration("--since", "1h30m") // 5_400_000
 */
export function parseDuration(flag: string, text: string): number {
  const parts = /^(\d+(ms|s|m|h))+$/.test(text) ? [...text.matchAll(/(\d+)(ms|s|m|h)/g)] : [];
  if (parts.length === 0) throw new HyphaError(`${flag}: must be a duration like 30s, 5m or 1h30m, got ${JSON.stringify(text)}`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]], 0);
}

/**
 * Parses an RFC 3339 time (as `--timestamps` prints them) into epoch ms.
 * @example parseRfc3339("--since-time", "2026-11-29T22:00:00Z") // 1795989600000
 */
export function parseRfc3339(flag: string, text: string): number {
  const ms = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new HyphaError(`${flag}: must be an RFC 3339 time like 2026-01-01T12:00:00Z, got ${JSON.stringify(text)}`);
  return ms;
}

/**
 * Reads an agent's `?timestamps=true` answer back into lines.
 * @example parseStamped("2026-01-01T00:00:00.000Z hello\n", "stdout") // [{ time: "2026-01-01T00:00:00.000Z", stream: "stdout", text: "hello" }]
 */
export function parseStamped(body: string, stream: LogLine["stream"]): LogLine[] {
  const lines = body.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.map((l) => {
    const m = /^(\d{4}-\d\d-\d\dT[^ ]+) (.*)$/s.exec(l);
    return m ? { time: m[1], stream, text: m[2] } : { time: null, stream, text: l };
  });
}

/**
 * Merges streams in time order; lines of one stream keep their order, and at equal times stdout
 * comes first (lines without a time keep their place after the timed ones before them).
 * @example mergeByTime([[{ time: "…:01Z", stream: "stdout", text: "a" }], [{ time: "…:00Z", stream: "stderr", text: "b" }]]) // b, a
 */
export function mergeByTime(streams: LogLine[][]): LogLine[] {
  const at = (l: LogLine, last: number) => (l.time === null ? last : Date.parse(l.time));
  const pos = streams.map(() => 0);
  const last = streams.map(() => -Infinity);
  const out: LogLine[] = [];
  for (;;) {
    let best = -1;
    for (let s = 0; s < streams.length; s++) {
      if (pos[s] >= streams[s].length) continue;
      if (best < 0 || at(streams[s][pos[s]], last[s]) < at(streams[best][pos[best]], last[best])) best = s;
    }
    if (best < 0) return out;
    const line = streams[best][pos[best]++];
    last[best] = at(line, last[best]);
    out.push(line);
  }
}

/**
 * A line as printed: with its time first when asked (kubectl --timestamps).
 * @example formatLine({ time: "2026-01-01T00:00:00.000Z", stream: "stdout", text: "hi" }, true) // "2026-01-01T00:00:00.000Z hi"
 */
export function formatLine(line: LogLine, timestamps: boolean): string {
  return timestamps ? `${line.time ?? "-"} ${line.text}` : line.text;
}
