import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { agentMeasurement, computeMeasurement } from "../../src/agent/measurement";
import { computeOutputHash } from "../../src/agent/outputHash";

const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");
const specHash = `0x${"ab".repeat(32)}` as const;
const imageRoot = `0x${"cd".repeat(32)}` as const;

describe("launch measurement", () => {
  it("is sha256 of the RFC 8785 JSON, written out by hand here", () => {
    const m = computeMeasurement({
      specHash,
      imageRoot,
      argv: ["echo", "hi"],
      env: { ZED: "1", PATH: "/bin" },
      limits: { cpuMillis: 500, memoryMiB: 64, pids: 32 },
      driver: "bwrap",
      agentVersion: "v",
    });
    // Keys sorted by UTF-16 code units, no whitespace (RFC 8785).
    const json =
      `{"agentVersion":"v","argv":["echo","hi"],"driver":"bwrap","env":{"PATH":"/bin","ZED":"1"},` +
      `"imageRoot":"${imageRoot}","limits":{"cpuMillis":500,"memoryMiB":64,"pids":32},"specHash":"${specHash}"}`;
    expect(m).toBe(`0x${sha(json)}`);
  });

  it("changes with any launched detail", () => {
    const base = { specHash, imageRoot, argv: ["echo"], env: {}, limits: { cpuMillis: 1, memoryMiB: 1, pids: 1 }, driver: "bwrap", agentVersion: "v" };
    const m = computeMeasurement(base);
    expect(computeMeasurement({ ...base, argv: ["echo", ""] })).not.toBe(m);
    expect(computeMeasurement({ ...base, env: { A: "" } })).not.toBe(m);
    expect(computeMeasurement({ ...base, limits: { cpuMillis: 1, memoryMiB: 2, pids: 1 } })).not.toBe(m);
    expect(computeMeasurement({ ...base, driver: "process" })).not.toBe(m);
  });
});

describe("agent measurement", () => {
  it("hashes the sources as documented and changes when one changes", () => {
    const src = mkdtempSync(path.join(os.tmpdir(), "hypha-src-"));
    mkdirSync(path.join(src, "agent", "runtime"), { recursive: true });
    writeFileSync(path.join(src, "agent", "a.ts"), "A");
    writeFileSync(path.join(src, "agent", "runtime", "b.ts"), "B");
    writeFileSync(path.join(src, "agent", "notes.md"), "ignored");
    writeFileSync(path.join(src, "errors.ts"), "E");
    const json = `{"files":{"agent/a.ts":"${sha("A")}","agent/runtime/b.ts":"${sha("B")}","errors.ts":"${sha("E")}"},"name":"hypha-agent","version":"0.1.0"}`;
    expect(agentMeasurement(src)).toBe(`0x${sha(json)}`);
    writeFileSync(path.join(src, "agent", "a.ts"), "A2");
    expect(agentMeasurement(src)).not.toBe(`0x${sha(json)}`);
    expect(agentMeasurement()).toMatch(/^0x[0-9a-f]{64}$/);
  });
});

describe("outputHash", () => {
  it("is sha256 of the documented JSON", () => {
    const h = computeOutputHash(Buffer.from("hello\n"), { "/out/b": Buffer.from("2"), "/out/a": null });
    const json = `{"files":{"/out/a":null,"/out/b":"${sha("2")}"},"stdout":"${sha("hello\n")}"}`;
    expect(h).toBe(`0x${sha(json)}`);
    expect(computeOutputHash(Buffer.from("hello"), {})).not.toBe(computeOutputHash(Buffer.from("hello\n"), {}));
  });
});
