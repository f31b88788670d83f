/**
 * `promtool check metrics` for tests: the promtool on PATH, else the one in Debian's `prometheus`
 * package, downloaded with `apt-get download` and unpacked with `dpkg -x` (no install) into a
 * cache folder. Undefined when neither works (a machine without apt or network), and the caller
 * then checks the exposition format itself.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

let cached: string | null | undefined;

/** Path of a working promtool, or undefined. */
export function findPromtool(): string | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  const onPath = spawnSync("promtool", ["--version"], { encoding: "utf8" });
  if (onPath.status === 0) return (cached = "promtool");
  const dir = path.join(os.tmpdir(), "hypha-promtool");
  const bin = path.join(dir, "x", "usr", "bin", "promtool");
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(dir, { recursive: true });
    const dl = spawnSync("apt-get", ["download", "prometheus"], { cwd: dir, encoding: "utf8", timeout: 120_000 });
    const deb = fs.readdirSync(dir).find((f) => f.startsWith("prometheus_") && f.endsWith(".deb"));
    if (dl.status !== 0 || !deb) return undefined;
    if (spawnSync("dpkg", ["-x", deb, "x"], { cwd: dir, timeout: 120_000 }).status !== 0) return undefined;
  }
  return spawnSync(bin, ["--version"]).status === 0 ? (cached = bin) : undefined;
}

/**
 * Checks an exposition text: promtool's verdict when available, else the basic rules (every
 * sample's family has HELP and TYPE; sample lines are `name{labels} value`). Returns the problems.
 */
export function checkMetrics(text: string): { tool: string; problems: string } {
  const tool = findPromtool();
  if (tool) {
    const r = spawnSync(tool, ["check", "metrics"], { input: text, encoding: "utf8" });
    return { tool: "promtool", problems: r.status === 0 ? "" : `${r.stdout}${r.stderr}` };
  }
  const problems: string[] = [];
  const typed = new Set<string>();
  for (const line of text.split("\n")) {
    const t = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (t) typed.add(t[1]);
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? -?[0-9.e+-]+|NaN|[+-]Inf$/.exec(line);
    if (!m) problems.push(`bad sample line: ${line}`);
    else if (![...typed].some((f) => m[1] === f || m[1].startsWith(`${f}_`))) problems.push(`no TYPE for ${m[1]}`);
  }
  return { tool: "built-in check", problems: problems.join("\n") };
}
