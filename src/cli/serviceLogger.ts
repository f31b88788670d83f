/**
 * The services' logger (watcher, node agent, API, store): pino's JSON lines for machines, or, on a
 * terminal, one human line per record in the manner of pino-pretty ("12:00:01.234 INFO  watcher:
 * message key=value"). `--log-format` or HYPHA_LOG_FORMAT chooses; `auto` is pretty only when
 * stdout is a TTY, so a file or a pipe (`hypha up`'s logs, a log shipper) always gets JSON.
 */
import pino, { type Logger } from "pino";
import { HyphaError } from "../errors";

export type LogFormat = "json" | "pretty";

/** Help text of --log-format. */
export const LOG_FORMAT_HELP = "auto (pretty on a terminal, JSON lines otherwise), json or pretty (env HYPHA_LOG_FORMAT)";

/**
 * Which format: the flag, else the variable, else auto.
 * @example chooseLogFormat(undefined, undefined, true) // "pretty"
 */
export function chooseLogFormat(flag: string | undefined, env: string | undefined, isTTY: boolean): LogFormat {
  const [value, from] = flag !== undefined ? [flag, "--log-format"] : env !== undefined ? [env, "HYPHA_LOG_FORMAT"] : ["auto", ""];
  if (value === "json" || value === "pretty") return value;
  if (value === "auto") return isTTY ? "pretty" : "json";
  throw new HyphaError(`${from}: must be auto, json or pretty, got ${JSON.stringify(value)}`);
}

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: "TRACE", color: "90" },
  20: { name: "DEBUG", color: "36" },
  30: { name: "INFO", color: "32" },
  40: { name: "WARN", color: "33" },
  50: { name: "ERROR", color: "31" },
  60: { name: "FATAL", color: "35" },
};

/** Fields every record has, shown in the line's head instead of as key=value. */
const HEAD_FIELDS = new Set(["level", "time", "pid", "hostname", "name", "msg"]);

function showValue(v: unknown): string {
  if (typeof v === "string") return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

/**
 * One pino record as a human line (and an error's stack indented under it).
 * @example formatLogRecord({ level: 30, time: 0, name: "watcher", msg: "watcher running", status: "http://x" }, false)
 * // "00:00:00.000 INFO  watcher: watcher running status=http://x" (in UTC)
 */
export function formatLogRecord(rec: Record<string, unknown>, opts: { color: boolean; timeZone?: "UTC" | "local" } = { color: false }): string {
  const level = LEVELS[Number(rec.level)] ?? { name: String(rec.level), color: "0" };
  const d = new Date(Number(rec.time));
  const utc = opts.timeZone !== "local";
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const time = utc
    ? `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`
    : `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  const levelText = level.name.padEnd(5);
  const head = `${opts.color ? `\x1b[90m${time}\x1b[0m` : time} ${opts.color ? `\x1b[${level.color}m${levelText}\x1b[0m` : levelText} ${rec.name ? `${String(rec.name)}: ` : ""}${String(rec.msg ?? "")}`;
  const extra: string[] = [];
  let stack: string | undefined;
  for (const [k, v] of Object.entries(rec)) {
    if (HEAD_FIELDS.has(k)) continue;
    if ((k === "err" || k === "error") && v && typeof v === "object" && "message" in v) {
      extra.push(`${k}=${showValue((v as { message: unknown }).message)}`);
      stack = (v as { stack?: string }).stack;
      continue;
    }
    extra.push(`${k}=${showValue(v)}`);
  }
  const line = extra.length ? `${head} ${opts.color ? `\x1b[2m${extra.join(" ")}\x1b[0m` : extra.join(" ")}` : head;
  return stack
    ? `${line}\n${stack
        .split("\n")
        .map((l) => `    ${l}`)
        .join("\n")}`
    : line;
}

/**
 * A service's logger in the chosen format, writing to `out`.
 * @example const logger = serviceLogger("watcher", chooseLogFormat(o.logFormat, env.HYPHA_LOG_FORMAT, process.stdout.isTTY === true));
 */
export function serviceLogger(name: string, format: LogFormat, out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout): Logger {
  if (format === "json") return pino({ name });
  const color = out.isTTY === true && process.env.NO_COLOR === undefined;
  return pino(
    { name },
    {
      write(chunk: string) {
        for (const text of chunk.split("\n")) {
          if (!text) continue;
          let rec: Record<string, unknown>;
          try {
            rec = JSON.parse(text) as Record<string, unknown>;
          } catch {
            out.write(`${text}\n`);
            continue;
          }
          out.write(`${formatLogRecord(rec, { color, timeZone: "local" })}\n`);
        }
      },
    },
  );
}
