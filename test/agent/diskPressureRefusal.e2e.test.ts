/**
 * A node under DiskPressure does not take a replica it is assigned (placed before the watcher
 * learned of the condition): the agent refuses it at once, attested Failed with the node-fault
 * cause, so the contract puts it back to Pending for another node without using the deployer's
 * retries (the deployment allows none here: a workload failure would fail it). Nothing is launched.
 * Real hardhat node, store, agent (in-process) and sandbox; the pressure comes from a free-space
 * threshold no disk meets, the same verdict a full disk gives (see diskPressure.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import pino from "pino";
import { deploymentRegistryAbi } from "../../src/chain/abi";
import { devPrivateKey } from "../../src/chain/devAccounts";
import { FAILURE_CAUSE } from "../../src/chain/lifecycle";
import { runAgent, type AgentHandle } from "../../src/agent/runAgent";
import { autoRuntime } from "../../src/agent/runtime/registry";
import { listProcesses } from "../../src/agent/orphans";
import { freePort } from "../helpers/chain";
import { specOf, startAgentFixture, type AgentFixture } from "./helpers/agentChain";

let fx: AgentFixture;
let agent: AgentHandle;

// Needs a sandbox (bubblewrap, or root with util-linux); skipped only where neither can run.
describe.skipIf(autoRuntime().name === null)("agent under DiskPressure", () => {
  beforeAll(async () => {
    const port = await freePort();
    fx = await startAgentFixture([`http://127.0.0.1:${port}`]);
    agent = await runAgent(
      {
        rpcUrl: fx.rpcUrl,
        addresses: fx.addresses,
        nodeId: 1,
        agentPrivateKey: devPrivateKey(8),
        listen: { host: "127.0.0.1", port },
        storeMirrors: [fx.store.url],
        dataDir: path.join(fx.dir, "agent-pressure"),
        pollIntervalMs: 100,
        minFreeBytes: 2 ** 52, // 4 PiB: no disk here has it free
      },
      pino({ level: "silent" }),
    );
  }, 120_000);

  afterAll(async () => {
    await agent?.close();
    await fx?.stop();
  });

  it("refuses an assigned replica as the node's fault: back to Pending, no retry used, nothing launched", async () => {
    const health = await fetch(`${agent.url}/healthz`);
    expect(health.status).toBe(503);
    const { id } = await fx.deploy(
      specOf(`
apiVersion: v1
kind: Pod
metadata: {name: pressed}
spec:
  containers:
  - name: app
    image: ubuntu:latest
    command: ["sleep", "4343"]
`),
      [{ replicaIndex: 0, nodeId: 1 }],
    );
    await fx.waitReplica(id, 0, "Pending", 30_000);
    const events = await fx.publicClient.getContractEvents({
      address: fx.addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      eventName: "Attested",
      args: { id },
      fromBlock: 0n,
      strict: true,
    });
    expect(events.map((e) => [e.args.status, e.args.outputHash])).toEqual([[2, FAILURE_CAUSE.node]]); // Failed, the node's fault
    const d = (await fx.publicClient.readContract({
      address: fx.addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      functionName: "getDeployment",
      args: [id],
    })) as { status: number; retriesLeft: number; nodeFaults: number };
    expect({ retriesLeft: Number(d.retriesLeft), nodeFaults: Number(d.nodeFaults) }).toEqual({ retriesLeft: 0, nodeFaults: 1 });
    expect(d.status).not.toBe(6); // not Failed (D_FAILED)
    const runs = ((await (await fetch(`${agent.url}/v1/replicas`)).json()) as { replicas: { deploymentId: string; status: string; message: string }[] })
      .replicas;
    expect(runs.find((r) => r.deploymentId === id.toLowerCase())).toMatchObject({
      status: "Failed",
      message: expect.stringMatching(/^node under DiskPressure: /),
    });
    expect(listProcesses().filter((p) => p.argv.join(" ") === "sleep 4343")).toEqual([]);
  }, 60_000);
});
