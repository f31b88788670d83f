/**
 * End to end, with nothing mocked: `hypha up` (real hardhat node over JSON-RPC, store, three agent
 * processes running workloads under bubblewrap, the watcher), then the CLI as a user runs it.
 * A signed intent must become verified replicas with agents' attestations on-chain, audit must
 * PASS, a job with quorum 2 of 3 must finalize, a killed agent's replicas must run elsewhere
 * within 10 s, and nothing `hypha up` started may outlive it.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkMetrics } from "../helpers/promtool";
import { parseAbiItem, type Hex } from "viem";
import { makePublicClient, loadContracts } from "../../src/chain/clients";
import { readDeployment, readReplicas, deploymentStatusName, replicaStatusName } from "../../src/chain/deployments";
import { readNode } from "../../src/chain/nodes";
import type { HyphaAddresses } from "../../src/chain/addresses";
import { deploymentRegistryAbi } from "../../src/chain/abi";
import { cliPath, projectDir, startLocalSystem, type LocalSystem } from "../helpers/localSystem";

let sys: LocalSystem;
let addresses: HyphaAddresses;
let pc: ReturnType<typeof makePublicClient>;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function applyFile(file: string): Hex {
  const res = sys.hypha(["apply", "-f", file]);
  expect(res.status, res.stderr).toBe(0);
  const id = /deployment (0x[0-9a-f]{64})/.exec(res.stdout)?.[1];
  expect(id, res.stdout).toBeDefined();
  return id as Hex;
}

async function waitForStatus(id: Hex, statuses: string[], timeoutMs = 40_000): Promise<void> {
  await waitFor(
    `deployment ${id} to reach ${statuses.join("/")}`,
    async () => {
      const d = await readDeployment(pc, addresses, id);
      return statuses.includes(deploymentStatusName(d.status)) ? true : undefined;
    },
    timeoutMs,
  );
}

beforeAll(async () => {
  sys = await startLocalSystem({ extraArgs: ["--restart-backoff-ms", "1000", "--node-lost-after-ms", "2000"] });
  // A --dir other than ./.hypha keeps its contract addresses inside it (parallel systems never share a file).
  expect(sys.state.deploymentFile.startsWith(sys.hyphaDir)).toBe(true);
  pc = makePublicClient(sys.state.rpcUrl);
  addresses = await loadContracts(pc, sys.state.deploymentFile);
}, 200_000);

afterAll(async () => {
  await sys?.stop();
}, 60_000);

describe("the whole system", () => {
  it("runs the seed's Deployment on 3 nodes, attested on-chain by each node's agent key, and audit passes", async () => {
    const id = applyFile("examples/deployment.yaml");
    await waitForStatus(id, ["Running"]);
    const replicas = await readReplicas(pc, addresses, id);
    expect(replicas.map((r) => replicaStatusName(r.status))).toEqual(["Running", "Running", "Running"]);
    expect(new Set(replicas.map((r) => r.nodeId)).size).toBe(3); // spread over different nodes

    // Every Running attestation on-chain was signed by the agent key registered for the replica's node.
    const logs = await pc.getContractEvents({
      address: addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      eventName: "Attested",
      args: { id },
      fromBlock: 0n,
    });
    expect(logs.length).toBeGreaterThanOrEqual(3);
    for (const log of logs) {
      const node = await readNode(pc, addresses, Number(log.args.nodeId));
      expect(log.args.signer?.toLowerCase()).toBe(node.agent.toLowerCase());
    }

    const audit = sys.hypha(["audit", id, "-f", "examples/deployment.yaml"]);
    expect(audit.status, audit.stdout + audit.stderr).toBe(0);
    expect(audit.stdout).toMatch(/PASS: deployment/);
    expect(audit.stdout).not.toMatch(/\bFAIL\b/);

    // The workload really ran: its output is in the agents' logs.
    const logsOut = sys.hypha(["logs", id, "--replica", "0"]);
    expect(logsOut.stdout).toContain("Deterministic deployment");

    // `hypha node measurement` prints what the running agents report, and what the chain approved for them.
    const printed = sys.hypha(["node", "measurement"]).stdout.trim();
    const reported = ((await (await fetch(`${sys.state.nodes[0].url}/v1/node`)).json()) as { measurement: string }).measurement;
    expect(printed).toMatch(/^0x[0-9a-f]{64}$/);
    expect(printed).toBe(reported);
    expect((await readNode(pc, addresses, 1)).measurement).toBe(printed);

    // The REST API that `hypha up` serves tells the same: Running on 3 nodes, audit PASS.
    const viaApi = (await (await fetch(`${sys.state.apiUrl}/v1/deployments/${id}`)).json()) as {
      status: string;
      phase: string;
      name: string;
      replicaSet: { status: string }[];
    };
    expect(viaApi).toMatchObject({ status: "Running", phase: "Running", name: "deterministic-app" });
    expect(viaApi.replicaSet.map((r) => r.status)).toEqual(["Running", "Running", "Running"]);
    // ... and the CLI prints the same JSON for it, found by its name
    expect(JSON.parse(sys.hypha(["get", "deployment", "deterministic-app", "-o", "json"]).stdout)).toEqual(viaApi);
    expect(((await (await fetch(`${sys.state.apiUrl}/v1/deployments/${id}/audit`)).json()) as { verdict: string }).verdict).toBe("PASS");

    // Auditing against a manifest that says something else fails.
    const altered = sys.hypha(["audit", id, "-f", "examples/zero-image-pod.yaml"]);
    expect(altered.status).not.toBe(0);
    expect(altered.stdout).toMatch(/FAIL/);
  });

  it("every service serves Prometheus /metrics with domain gauges that promtool accepts", async () => {
    const scrape = async (url: string) => {
      const res = await fetch(`${url}/metrics`);
      expect(res.status, url).toBe(200);
      const text = await res.text();
      const check = checkMetrics(text);
      expect(check.problems, `${url}/metrics (${check.tool})`).toBe("");
      return text;
    };
    const watcher = await scrape(sys.state.watcherUrl);
    expect(watcher).toMatch(/^hypha_watcher_nodes\{state="Active"\} 3$/m);
    expect(watcher).toMatch(/^hypha_watcher_deployments\{status="Running"\} [1-9]/m);
    expect(watcher).toMatch(/^hypha_watcher_transactions_sent_total [1-9]/m);
    expect(watcher).toMatch(/^hypha_watcher_sender_balance_wei\{address="0x[0-9a-fA-F]{40}"\} [1-9]/m);
    const agent = await scrape(sys.state.nodes[0].url);
    expect(agent).toMatch(/^hypha_agent_attestations\{status="Running",node="1"\} [1-9]/m);
    expect(agent).toMatch(/^hypha_agent_image_bytes_fetched\{node="1"\} \d+/m);
    const storeText = await scrape(sys.state.storeUrl);
    expect(storeText).toMatch(/^hypha_store_bytes_served_total [1-9]/m);
    const apiText = await scrape(sys.state.apiUrl);
    expect(apiText).toMatch(/^hypha_deployments\{phase="Running",kind="service"\} [1-9]/m);
    expect(apiText).toMatch(/^hypha_nodes\{state="Active",agent="reachable"\} 3$/m);
  });

  it("finalizes a job when 2 of 3 replicas attest the same output hash", async () => {
    // `apply --wait` judges each event in order: the watcher finalizes and settles the job in one
    // batch (Completed, then Terminated), and that is a success, exit 0.
    const res = sys.hypha(["apply", "-f", "examples/job.yaml", "--wait", "--timeout", "120"]);
    if (!sys.state.sandbox) {
      // Without bubblewrap the replicas run unsandboxed and cannot write the declared /out/result.txt,
      // so every attempt fails: then `apply --wait` must say so, with the reason, and exit 3.
      expect(res.status, res.stdout + res.stderr).toBe(3);
      expect(res.stderr).toMatch(
        /^error: deployment sum-of-squares \(0x[0-9a-f]{64}\) ended Failed \(ReplicaFailed\): replica \d failed on node \d with no retries left/,
      );
      return;
    }
    expect(res.status, res.stdout + res.stderr).toBe(0);
    const id = /deployment (0x[0-9a-f]{64})/.exec(res.stdout)![1] as Hex;
    expect(res.stdout).toContain(`deployment sum-of-squares (${id}) is Succeeded: job result`);
    await waitForStatus(id, ["Terminated"]);
    expect(JSON.parse(sys.hypha(["get", "deployment", id, "-o", "json"]).stdout)).toMatchObject({
      phase: "Succeeded",
      status: "Terminated",
      reason: "QuorumReached",
    });
    const finalized = await pc.getLogs({
      address: addresses.deploymentRegistry,
      event: parseAbiItem("event JobFinalized(bytes32 indexed id, bytes32 outputHash, uint8 agreeing)"),
      args: { id },
      fromBlock: 0n,
    });
    expect(finalized).toHaveLength(1);
    expect(finalized[0].args.agreeing).toBeGreaterThanOrEqual(2);
    const result = (await pc.readContract({ address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "jobResult", args: [id] })) as Hex;
    expect(result).toBe(finalized[0].args.outputHash);
    const audit = sys.hypha(["audit", id, "-f", "examples/job.yaml"]);
    expect(audit.status, audit.stdout + audit.stderr).toBe(0);
  });

  it("hypha logs -f prints a running replica's new output as it is written, until Ctrl-C", async () => {
    const file = path.join(sys.hyphaDir, "ticker.yaml");
    fs.writeFileSync(
      file,
      `apiVersion: v1
kind: Pod
metadata:
  name: ticker
spec:
  containers:
  - name: tick
    image: ubuntu:latest
    command: ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"]
`,
    );
    const id = applyFile(file);
    await waitForStatus(id, ["Running"]);
    const child = spawn(process.execPath, [cliPath, ...sys.flags, "logs", id, "-f"], { cwd: projectDir, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    await waitFor("first ticks", async () => (/tick \d+/.test(out) ? true : undefined), 15_000);
    const early = out.match(/tick \d+/g)!.length;
    await new Promise((r) => setTimeout(r, 2_500));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    const ticks = out.match(/^tick (\d+)$/gm)!.map((l) => Number(l.split(" ")[1]));
    expect(ticks.length).toBeGreaterThan(early); // new output kept coming
    // every line once, in order, whole (no line split or repeated across reads)
    expect(ticks).toEqual(Array.from({ length: ticks.length }, (_, i) => ticks[0] + i));
  });

  it("re-places a killed agent's replicas on other nodes within 10 s", async () => {
    const id = applyFile("examples/zero-image-pod.yaml");
    await waitForStatus(id, ["Running"]);
    const [replica] = await readReplicas(pc, addresses, id);
    const victim = sys.state.nodes.find((n) => n.nodeId === replica.nodeId)!;
    process.kill(victim.pid, "SIGKILL");
    const killedAt = Date.now();
    const healed = await waitFor(
      "the replica running on another node",
      async () => {
        const [r] = await readReplicas(pc, addresses, id);
        return r.nodeId !== victim.nodeId && replicaStatusName(r.status) === "Running" ? r : undefined;
      },
      20_000,
    );
    const seconds = (Date.now() - killedAt) / 1000;
    expect(healed.attempt).toBe(replica.attempt + 1);
    expect(seconds).toBeLessThan(10);
  });

  // Last: it ends the system. `hypha up` SIGKILLed cannot stop its children; they must notice.
  it("every process `hypha up` started stops when `hypha up` itself is killed", async () => {
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
      } catch {
        return false;
      }
      // an exited orphan may wait as a zombie until its new parent reaps it: that is not running
      return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
    };
    const children = [sys.state.chainPid, sys.state.storePid, sys.state.watcherPid, sys.state.apiPid, ...sys.state.nodes.map((n) => n.pid)];
    const running = children.filter(alive);
    expect(running.length).toBeGreaterThanOrEqual(children.length - 1); // one agent was killed above
    process.kill(sys.state.pid, "SIGKILL");
    const left = () => running.filter(alive).map((pid) => `${pid} ${fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, 4).join(" ")}`);
    await waitFor("hypha up's children to stop", async () => (running.every((pid) => !alive(pid)) ? true : undefined), 20_000).catch((err: Error) => {
      throw new Error(`${err.message}; still running: ${left().join("; ")}`);
    });
  });
});
