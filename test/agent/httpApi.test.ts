/**
 * The agent's log endpoint over real HTTP with real log files: the whole log, only what was
 * written since a byte offset (for `hypha logs -f`), and a bad offset refused with its field.
 * The source here is a small table of runs (what the agent's runs would report).
 */
import { promises as fs } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgentApi } from "../../src/agent/httpApi";

const ID = `0x${"ab".repeat(32)}` as const;
let server: Server;
let url: string;
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "hypha-agent-api-"));
  await fs.writeFile(path.join(dir, "stdout.log"), "héllo\nworld\n");
  await fs.writeFile(path.join(dir, "stderr.log"), "");
  const app = createAgentApi({
    node: () => ({ nodeId: 1, agent: `0x${"11".repeat(20)}`, measurement: `0x${"22".repeat(32)}`, agentVersion: "test", driver: "bwrap", sandbox: true, chainId: 31337, deploymentRegistry: `0x${"33".repeat(20)}` }),
    replicas: () => [],
    logFiles: (id, index) => (id === ID && index === 0 ? { stdout: path.join(dir, "stdout.log"), stderr: path.join(dir, "stderr.log") } : null),
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
});
