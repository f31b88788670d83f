/**
 * The services' logs: JSON lines for machines, one human line per record on a terminal. The pure
 * formatter and choice, then the real `hypha store serve` process: on a pseudo-terminal (util-linux
 * `script`, present wherever bsdutils is, an essential Debian package), through a pipe, forced
 * with --log-format, and a bad value refused before anything starts.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { chooseLogFormat, formatLogRecord } from "../../src/cli/serviceLogger";

const CLI = path.join(__dirname, "..", "..", "bin", "hypha.js");

/** Runs `argv` until its output shows `until`, then stops it; resolves with what it printed. */
function runUntil(argv: string[], until: RegExp, env: NodeJS.ProcessEnv = process.env): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], env });
    let out = "";
    const timer = setTimeout(() => child.kill("SIGTERM"), 20_000);
    const onData = (d: Buffer) => {
      out += d;
      if (until.test(out)) child.kill("SIGTERM");
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ out, code });
    });
  });
}

describe("service logs", () => {
  it("formats a record as one human line, an error's stack indented under it", () => {
    const rec = {
      level: 40,
      time: Date.UTC(2026, 0, 1, 12, 0, 1, 234),
      pid: 1,
      hostname: "h",
      name: "watcher",
      msg: "node lost",
      nodeId: 3,
      reason: "no answer for 5 s",
    };
    expect(formatLogRecord(rec)).toBe('12:00:01.234 WARN  watcher: node lost nodeId=3 reason="no answer for 5 s"');
    const err = formatLogRecord({
      level: 50,
      time: 0,
      name: "agent-1",
      msg: "replica run failed",
      err: { type: "Error", message: "boom", stack: "Error: boom\n    at x" },
    });
    expect(err).toBe("00:00:00.000 ERROR agent-1: replica run failed err=boom\n    Error: boom\n        at x");
    expect(formatLogRecord(rec, { color: true })).toContain("\x1b[33mWARN \x1b[0m");
  });

  it("chooses pretty on a terminal and JSON otherwise; the flag beats the variable; bad values name their source", () => {
    expect(chooseLogFormat(undefined, undefined, true)).toBe("pretty");
    expect(chooseLogFormat(undefined, undefined, false)).toBe("json");
    expect(chooseLogFormat("json", "pretty", true)).toBe("json");
    expect(chooseLogFormat(undefined, "pretty", false)).toBe("pretty");
    expect(() => chooseLogFormat("xml", undefined, true)).toThrow('--log-format: must be auto, json or pretty, got "xml"');
    expect(() => chooseLogFormat(undefined, "text", true)).toThrow('HYPHA_LOG_FORMAT: must be auto, json or pretty, got "text"');
  });

  it("`hypha store serve` logs human lines on a terminal, JSON through a pipe, and refuses a bad --log-format before starting", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hypha-logfmt-"));
    const env = { ...process.env, HYPHA_LOG_FORMAT: undefined, NO_COLOR: "1" };
    const serve = (store: string, extra: string[] = []) => [process.execPath, CLI, "store", "serve", "--dir", path.join(dir, store), "--port", "0", ...extra];
    const tty = await runUntil(
      [
        "script",
        "-qec",
        serve("a")
          .map((a) => `'${a}'`)
          .join(" "),
        "/dev/null",
      ],
      /store serving/,
      env,
    );
    expect(tty.out).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}store: store serving url=http:\/\/127\.0\.0\.1:\d+ dir=\S+ catalog=open/m);
    expect(tty.out).not.toContain('"msg"');
    const piped = await runUntil(serve("b"), /store serving/, env);
    const json = JSON.parse(piped.out.split("\n")[0]) as Record<string, unknown>;
    expect(json).toMatchObject({ level: 30, name: "store", msg: "store serving", catalog: "open" });
    const forced = await runUntil(serve("c", ["--log-format", "pretty"]), /store serving/, env);
    expect(forced.out).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}store: store serving /);
    const bad = await runUntil(serve("d", ["--log-format", "xml"]), /$^/, env);
    expect(bad).toEqual({ out: 'error: --log-format: must be auto, json or pretty, got "xml"\n', code: 1 });
    expect(fs.existsSync(path.join(dir, "d"))).toBe(false);
  }, 60_000);
});
