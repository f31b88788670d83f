/**
 * An agent SIGKILLed and restarted within the node-lost window adopts the replicas still running
 * instead of starting them twice, and stops those the chain no longer assigns to it, so none is
 * orphaned. Real `hardhat node`, real agent processes (`hypha node run`), the strongest sandbox
 * here (bubblewrap, else util-linux namespaces), processes counted in /proc.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hex } from "viem";
import { devPrivateKey } from "../../src/chain/devAccounts";
import { writeAddresses } from "../../src/chain/addresses";
import { deploymentRegistryAbi } from "../../src/chain/abi";
import { autoRuntime } from "../../src/agent/runtime/registry";
import { freePort } from "../helpers/chain";
import { specOf, startAgentFixture, type AgentFixture } from "./helpers/agentChain";

const cli = path.join(__dirname, "..", "..", "bin", "hypha.js");
const auto = autoRuntime();

/** A service sleeping `seconds` (distinct per deployment, so its processes can be counted). */
const SLEEPER = (name: string, seconds: number) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  containers:
  - name: app
    image: ubuntu:latest
    command: ["sleep", "${seconds}"]
`;

function cmdlines(): Array<{ pid: number; argv: string[] }> {
  const out: Array<{ pid: number; argv: string[] }> = [];
  for (const p of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      if (/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${p}/stat`, "utf8"))) continue; // exited, not yet reaped
      out.push({ pid: Number(p), argv: readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").filter(Boolean) });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}
/** Host pids of the workload `sleep seconds`. */
const workloads = (seconds: number) =>
  cmdlines()
    .filter((c) => c.argv.join(" ") === `sleep ${seconds}`)
    .map((c) => c.pid);
/** Host pids of the shim of the replica named `name` (one per running replica). */
const shims = (name: string) =>
  cmdlines()
    .filter((c) => c.argv[0] === "/bin/sh" && c.argv[3] === `hypha-replica:${name}`)
    .map((c) => c.pid);
const runtimeName = (id: Hex, index: number, attempt: number) => `${id.slice(2, 18)}-${index}-${attempt}`;

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await Promise.resolve(probe()).catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Needs a sandbox (bubblewrap, or root with util-linux); skipped only where neither can run.
describe.skipIf(auto.name === null)("agent restarted after SIGKILL", () => {
  let fx: AgentFixture;
  let port: number;
  let deploymentFile: string;
  let agent: ChildProcess | null = null;
  const agentDir = () => path.join(fx.dir, "agent-adopt");

  // A lease longer than the agent's restart here (no watcher re-places anything in this test): the
  // replicas outlive the killed agent until the new one adopts them. With a lease shorter than the
  // restart, its node monitor stops them first and the new agent launches them again (test/chaos).
  const startAgent = async (): Promise<ChildProcess> => {
    const child = spawn(
      process.execPath,
      [
        cli,
        "node",
        "run",
        "--rpc",
        fx.rpcUrl,
        "--deployment",
        deploymentFile,
        "--node-id",
        "1",
        "--listen",
        `127.0.0.1:${port}`,
        "--store",
        fx.store.url,
        "--data-dir",
        agentDir(),
        "--runtime",
        "auto",
        "--poll-interval-ms",
        "100",
        "--lease-ms",
        "30000",
      ],
      { env: { ...process.env, HYPHA_AGENT_KEY: devPrivateKey(8) }, stdio: ["ignore", "ignore", "inherit"] },
    );
    await until("the agent's API", async () => ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok ? true : undefined));
    return child;
  };

  beforeAll(async () => {
    port = await freePort();
    fx = await startAgentFixture([`http://127.0.0.1:${port}`]);
    deploymentFile = writeAddresses(path.join(fx.dir, "deployments"), fx.addresses);
  }, 120_000);

  afterAll(async () => {
    agent?.kill("SIGTERM");
    if (agent) await new Promise((r) => agent!.once("exit", r));
    await fx?.stop();
  });

  it("adopts what is still assigned (each replica runs once) and stops what is not (none orphaned)", async () => {
    agent = await startAgent();
    const kept = await fx.deploy(specOf(SLEEPER("kept", 4242)), [{ replicaIndex: 0, nodeId: 1 }]);
    const gone = await fx.deploy(specOf(SLEEPER("gone", 4243)), [{ replicaIndex: 0, nodeId: 1 }]);
    await fx.waitReplica(kept.id, 0, "Running");
    await fx.waitReplica(gone.id, 0, "Running");
    const keptPid = await until("kept's workload", () => (workloads(4242).length === 1 ? workloads(4242)[0] : undefined));
    await until("gone's workload", () => (workloads(4243).length === 1 ? true : undefined));

    agent.kill("SIGKILL");
    await new Promise((r) => agent!.once("exit", r));
    agent = null;
    await new Promise((r) => setTimeout(r, 500));
    // The agent is gone; its replicas are not.
    expect(workloads(4242)).toEqual([keptPid]);
    expect(workloads(4243)).toHaveLength(1);
    // While it is down, the deployer ends one deployment: the restarted agent must stop its replica.
    const hash = await fx.wallets[11].writeContract({
      address: fx.addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      functionName: "terminate",
      args: [gone.intent],
      account: fx.wallets[11].account!,
      chain: null,
    } as never);
    await fx.publicClient.waitForTransactionReceipt({ hash });

    agent = await startAgent();
    await until("the terminated deployment's replica stopped", () => (workloads(4243).length === 0 ? true : undefined));
    const replicas = await until("the kept replica reported Running", async () => {
      const body = (await (await fetch(`http://127.0.0.1:${port}/v1/replicas`)).json()) as {
        replicas: Array<{ deploymentId: string; status: string; restarts: number }>;
      };
      const r = body.replicas.find((x) => x.deploymentId === kept.id);
      return r?.status === "Running" ? body.replicas : undefined;
    });
    await new Promise((r) => setTimeout(r, 1000)); // a few more reconcile ticks: nothing may start twice meanwhile
    expect(workloads(4242)).toEqual([keptPid]); // the same process, adopted, not a second copy
    expect(shims(runtimeName(kept.id, 0, 1))).toHaveLength(1);
    expect(workloads(4243)).toEqual([]);
    expect(shims(runtimeName(gone.id, 0, 1))).toEqual([]);
    expect(replicas.find((r) => r.deploymentId === kept.id)).toMatchObject({ status: "Running", restarts: 0 });

    // A clean stop of the agent stops its replicas: nothing left behind.
    agent.kill("SIGTERM");
    await new Promise((r) => agent!.once("exit", r));
    agent = null;
    await until("no workload left", () => (workloads(4242).length === 0 && shims(runtimeName(kept.id, 0, 1)).length === 0 ? true : undefined), 10_000);
  }, 120_000);
});
