/**
 * `hypha logs` as a user runs it, against `hypha up` (real chain, store, agents running the
 * workload in their sandbox, watcher): stdout and stderr merged in the order written,
 * --timestamps, --since/--since-time, --tail, --previous (the attempt before, on the node it ran
 * on then), -o json, and bad flags refused with the flag named.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startLocalSystem, type LocalSystem } from "../helpers/localSystem";

// Each test runs the CLI binary several times (1-2 s each on a quiet machine, several on the shared CI one).
vi.setConfig({ testTimeout: 240_000 });

let sys: LocalSystem;
let dir: string;

beforeAll(async () => {
  sys = await startLocalSystem({ nodes: 2, extraArgs: ["--restart-backoff-ms", "500"] });
  dir = sys.hyphaDir;
}, 200_000);

afterAll(async () => {
  await sys?.stop();
}, 60_000);

/** A job that talks on both streams, 1 s apart, and fails: placed twice (backoffLimit 1), then Failed. */
const TALK = `apiVersion: batch/v1
kind: Job
metadata:
  name: talk
  annotations:
    hypha.dev/quorum: "1"
spec:
  completions: 1
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: ubuntu:latest
        command: ["sh", "-c", "echo one; sleep 1; echo two >&2; sleep 1; echo three; exit 1"]
`;

describe("hypha logs", () => {
  it("merges stdout and stderr in the order written; --timestamps, --since-time, --tail, --stdout, -o json", async () => {
    const file = path.join(dir, "talk.yaml");
    fs.writeFileSync(file, TALK);
    const applied = sys.hypha(["apply", "-f", file, "--wait", "--timeout", "120"]);
    expect(applied.status, applied.stdout + applied.stderr).toBe(3); // it fails, by design
    expect(applied.stderr).toContain("ended Failed (ReplicaFailed)");

    const plain = sys.hypha(["logs", "talk"]);
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/^--- replica 0 \(Failed\) on node [12] \(http:\/\/127\.0\.0\.1:\d+\)\none\ntwo\nthree\n$/);

    const stamped = sys.hypha(["logs", "talk", "--timestamps"]);
    const lines = stamped.stdout.trim().split("\n").slice(1);
    expect(lines.map((l) => l.split(" ")[1])).toEqual(["one", "two", "three"]);
    const times = lines.map((l) => Date.parse(l.split(" ")[0]));
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z one$/);
    // When the agent saw each line: in order, within this test's run. (How close to the write it is,
    // a busy machine decides; the LogClock test measures that on a quiet process.)
    expect(times[1]).toBeGreaterThanOrEqual(times[0]);
    expect(times[2]).toBeGreaterThanOrEqual(times[1]);
    expect(Date.now() - times[0]).toBeLessThan(600_000);

    const since = sys.hypha(["logs", "talk", "--since-time", lines[1].split(" ")[0]]);
    expect(since.stdout.split("\n").slice(1).join("\n")).toBe("two\nthree\n");
    expect(sys.hypha(["logs", "talk", "--since", "1h"]).stdout).toBe(plain.stdout);
    expect(sys.hypha(["logs", "talk", "--tail", "1"]).stdout.split("\n").slice(1).join("\n")).toBe("three\n");
    expect(sys.hypha(["logs", "talk", "--stdout"]).stdout.split("\n").slice(1).join("\n")).toBe("one\nthree\n");

    const json = JSON.parse(sys.hypha(["logs", "talk", "-o", "json"]).stdout) as {
      name: string;
      logs: Array<{ replica: number; attempt: number; status: string; lines: Array<{ stream: string; text: string; time: string }> }>;
    };
    expect(json.name).toBe("talk");
    expect(json.logs).toHaveLength(1);
    expect(json.logs[0]).toMatchObject({ replica: 0, attempt: 2, status: "Failed" });
    expect(json.logs[0].lines.map((l) => [l.stream, l.text])).toEqual([
      ["stdout", "one"],
      ["stderr", "two"],
      ["stdout", "three"],
    ]);
  });

  it("--previous shows the attempt before, from the node it ran on then", async () => {
    const events = JSON.parse(sys.hypha(["get", "deployment", "talk", "-o", "json"]).stdout) as { id: string };
    const prev = sys.hypha(["logs", "talk", "--previous"]);
    expect(prev.status, prev.stderr).toBe(0);
    const m = /^--- replica 0 \(previous attempt 1, Failed\) on node ([12]) \(http:\/\/127\.0\.0\.1:(\d+)\)\none\ntwo\nthree\n$/.exec(prev.stdout);
    expect(m, prev.stdout).not.toBeNull();
    // the node of attempt 1 is the one the chain placed it on (describe's events say so)
    const describe = sys.hypha(["describe", "deployment", events.id]);
    expect(describe.stdout).toMatch(new RegExp(`replica 0 placed on node ${m![1]} \\(attempt 1\\)`));
  });

  it("refuses bad flags, naming them, and --previous when there was no attempt before", async () => {
    expect(sys.hypha(["logs", "talk", "--since", "5x"])).toMatchObject({
      status: 1,
      stderr: 'error: --since: must be a duration like 30s, 5m or 1h30m, got "5x"\n',
    });
    expect(sys.hypha(["logs", "talk", "--since-time", "yesterday"])).toMatchObject({
      status: 1,
      stderr: expect.stringMatching(/^error: --since-time: must be an RFC 3339 time/),
    });
    expect(sys.hypha(["logs", "talk", "--previous", "-f"])).toMatchObject({ status: 1, stderr: expect.stringMatching(/^error: --previous, --follow: /) });
    expect(sys.hypha(["logs", "talk", "--replica", "3"])).toMatchObject({ status: 1, stderr: "error: --replica: talk has replicas 0..0, got 3\n" });
    const once = path.join(dir, "once.yaml");
    fs.writeFileSync(once, TALK.replace("name: talk", "name: once").replace("backoffLimit: 1", "backoffLimit: 0"));
    expect(sys.hypha(["apply", "-f", once, "--wait", "--timeout", "120"]).status).toBe(3);
    const none = sys.hypha(["logs", "once", "--previous"]);
    expect(none).toMatchObject({
      status: 1,
      stderr:
        "error: --previous: no replica of once has a previous attempt\neach replica is on its first placement; `hypha logs` without --previous shows it\n",
    });
  });
});
