/**
 * The agent's log endpoint over real HTTP with real log files: the whole log, only what was
 * written since a byte offset (for `hypha logs -f`), whole lines stamped with when the LogClock
 * saw them (?timestamps, ?since), an earlier attempt's run (?attempt), and bad parameters refused
 * with their field.
 * The source here is a small table of runs (what the agent's runs would report).
 */
import { promises as fs } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgentApi } from "../../src/agent/httpApi";
import { LogClock } from "../../src/agent/logClock";

const ID = `0x${"ab".repeat(32)}` as const;
let server: Server;
let url: string;
let dir: string;
let clock: LogClock;
let ended = false;
let now = 1_000;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "hypha-agent-api-"));
  await fs.writeFile(path.join(dir, "stdout.log"), "héllo\nworld\n");
  await fs.writeFile(path.join(dir, "stderr.log"), "");
  await fs.writeFile(path.join(dir, "stamped.log"), "");
  clock = new LogClock(path.join(dir, "stamped.log"), () => now);
  const app = createAgentApi({
    node: () => ({
      nodeId: 1,
      agent: `0x${"11".repeat(20)}`,
      measurement: `0x${"22".repeat(32)}`,
      agentVersion: "test",
      driver: "bwrap",
      sandbox: true,
      chainId: 31337,
      deploymentRegistry: `0x${"33".repeat(20)}`,
    }),
    replicas: () => [],
    logFiles: (id, index, attempt) => {
      if (id !== ID) return null;
      if (index === 0 && (attempt === undefined || attempt === 1)) return { stdout: path.join(dir, "stdout.log"), stderr: path.join(dir, "stderr.log") };
      if (index === 2 && (attempt === undefined || attempt === 1))
        return { stdout: path.join(dir, "stamped.log"), stderr: path.join(dir, "stderr.log"), ended: ended, sample: () => clock.sample() };
      return null;
    },
  });
  server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/replicas/${ID}/0/logs`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await fs.rm(dir, { recursive: true, force: true });
});

describe("agent log endpoint", () => {
  it("serves the whole log, or what was written since a byte offset", async () => {
    const all = await fetch(url);
    expect(await all.text()).toBe("héllo\nworld\n");
    expect(all.headers.get("x-log-size")).toBe(String(Buffer.byteLength("héllo\nworld\n")));
    // "é" is two bytes: a read from the middle of it gets the raw bytes, for the follower to decode
    const mid = await fetch(`${url}?from=2`);
    expect(Buffer.from(await mid.arrayBuffer())).toEqual(Buffer.from("héllo\nworld\n").subarray(2));
    expect(mid.headers.get("x-log-from")).toBe("2");
    await fs.appendFile(path.join(dir, "stdout.log"), "more\n");
    const since = await fetch(`${url}?from=${all.headers.get("x-log-size")}`);
    expect(await since.text()).toBe("more\n");
    const past = await fetch(`${url}?from=99999`);
    expect(await past.text()).toBe("");
    expect(past.headers.get("x-log-size")).toBe(String(Buffer.byteLength("héllo\nworld\nmore\n")));
  });

  it("refuses a bad offset and an unknown replica", async () => {
    const bad = await fetch(`${url}?from=-1`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe("from");
    expect((await fetch(url.replace("/0/logs", "/1/logs"))).status).toBe(404);
  });

  it("?timestamps: whole lines, each after the time the clock saw it; a line still being written waits until the run ends", async () => {
    const stamped = `${url.replace("/0/logs", "/2/logs")}`;
    const file = path.join(dir, "stamped.log");
    await fs.appendFile(file, "first\n");
    now = Date.parse("2026-01-01T00:00:01.000Z");
    await clock.sample();
    await fs.appendFile(file, "second\nthi");
    now = Date.parse("2026-01-01T00:00:02.500Z");
    const r = await fetch(`${stamped}?timestamps=true`); // the endpoint samples before it reads
    expect(await r.text()).toBe("2026-01-01T00:00:01.000Z first\n2026-01-01T00:00:02.500Z second\n");
    expect(r.headers.get("x-log-size")).toBe(String("first\nsecond\n".length)); // the next read starts at "thi"
    const since = await fetch(`${stamped}?timestamps=true&since=2026-01-01T00:00:02Z`);
    expect(await since.text()).toBe("2026-01-01T00:00:02.500Z second\n");
    const plain = await fetch(`${stamped}?since=2026-01-01T00:00:02Z`);
    expect(await plain.text()).toBe("second\n");
    ended = true;
    now = Date.parse("2026-01-01T00:00:03.000Z");
    const last = await fetch(`${stamped}?timestamps=true&from=${"first\nsecond\n".length}`);
    expect(await last.text()).toBe("2026-01-01T00:00:02.500Z thi\n"); // seen at the 2.5 s sample, final now
    expect(last.headers.get("x-log-size")).toBe(String("first\nsecond\nthi".length));
  });

  it("?attempt picks a placement's run; bad timestamps, since and attempt are refused with their field", async () => {
    expect(await (await fetch(`${url}?attempt=1`)).text()).toContain("world\n");
    const missing = await fetch(`${url}?attempt=2`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { field: string; reason: string } }).error).toEqual({
      field: "attempt",
      reason: `replica ${ID}/0 attempt 2 has not run on this node`,
    });
    for (const [q, field] of [
      ["attempt=0", "attempt"],
      ["attempt=x", "attempt"],
      ["timestamps=maybe", "timestamps"],
      ["since=yesterday", "since"],
      ["since=2026-01-01", "since"],
    ]) {
      const bad = await fetch(`${url}?${q}`);
      expect({ q, status: bad.status, field: ((await bad.json()) as { error: { field: string } }).error.field }).toEqual({ q, status: 400, field });
    }
  });
});
