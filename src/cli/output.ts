/**
 * How the CLI prints for people and machines: aligned tables, JSON and YAML with bigints as
 * decimal strings, and the one-line error format.
 */
import YAML from "yaml";
import { HyphaError } from "../errors";
import { exitCodeOf } from "./exitCode";

export type OutputFormat = "table" | "wide" | "json" | "yaml" | "name";

/** The -o values every command that prints a resource accepts. */
export const OUTPUT_FORMATS: OutputFormat[] = ["table", "wide", "json", "yaml", "name"];

/** Help text for the -o flag. */
export const OUTPUT_HELP = "output format: table (default), wide, json, yaml or name";

/**
 * Parses an `-o` value.
 * @example parseOutputFormat("json") // "json"
 */
export function parseOutputFormat(value: string | undefined, allowed: OutputFormat[] = OUTPUT_FORMATS): OutputFormat {
  const v = (value === undefined || value === "text" ? "table" : value) as OutputFormat;
  if (!allowed.includes(v)) throw new HyphaError(`-o: must be one of ${allowed.join(", ")}, got ${value}`);
  return v;
}

/** Deep copy with bigints as decimal strings (JSON and YAML cannot hold bigint). */
export function plain(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = plain(v);
    return out;
  }
  return value;
}

/** @example toJson({ a: 1n }) // '{\n  "a": "1"\n}' */
export function toJson(value: unknown): string {
  return JSON.stringify(plain(value), null, 2);
}

/** @example toYaml({ a: 1n }) // "a: \"1\"\n" */
export function toYaml(value: unknown): string {
  return YAML.stringify(plain(value));
}

/**
 * Prints `data` in a machine format, or `table()` for people; `name` prints `names()` one a line.
 * @example emitAs(ctx.print, "json", data, () => renderTable(rows), () => ["deployment/0x12…"])
 */
export function emitAs(print: (text: string) => void, format: OutputFormat, data: unknown, table: () => string, names: () => string[] = () => []): void {
  if (format === "json") print(toJson(data));
  else if (format === "yaml") print(toYaml(data));
  else if (format === "name") {
    const lines = names();
    if (lines.length) print(lines.join("\n"));
  } else print(table());
}

/**
 * Renders rows as a kubectl-style table (upper-case headers, two-space gaps).
 * @example renderTable([{ ID: "1", STATUS: "Running" }])
 */
export function renderTable(rows: Record<string, string | number>[], columns?: string[]): string {
  const cols = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  if (cols.length === 0) return "";
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(cols), ...rows.map((r) => line(cols.map((c) => String(r[c] ?? ""))))].join("\n");
}

/**
 * One line for stderr: "error: <reason>" (with details for multi-problem errors), never a stack.
 * @example formatError(new HyphaError("replicas: must be at least 1")) // "error: replicas: must be at least 1"
 */
export function formatError(err: unknown): { text: string; exitCode: number } {
  if (err instanceof HyphaError) {
    return { text: `error: ${err.shortMessage}${err.details ? `\n${err.details}` : ""}`, exitCode: exitCodeOf(err) };
  }
  const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return { text: `error: ${message}`, exitCode: 1 };
}
