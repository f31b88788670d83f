/**
 * The node agent end to end: a real hardhat node over JSON-RPC, a real store server, a real
 * agent (the strongest sandbox here: bwrap, else unshare; cgroups), real attestations checked on-chain and with an independent
 * EIP-712 implementation (@metamask/eth-sig-util).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { existsSync, promises as fs } from "node:fs";
import path from "node:path";
import pino from "pino";
import { decodeFunctionData, type Hex } from "viem";
import { recoverTypedSignature, SignTypedDataVersion } from "@metamask/eth-sig-util";
import { deploymentRegistryAbi } from "../../src/chain/abi";
import { readIntent } from "../../src/chain/intents";
import { canonicalSpecJson } from "../../src/spec/canonicalSpec";
import { devAccount, devPrivateKey } from "../../src/chain/devAccounts";
import { runAgent, type AgentHandle } from "../../src/agent/runAgent";
import type { AgentConfig } from "../../src/agent/config";
import { autoRuntime } from "../../src/agent/runtime/registry";
import type { ReplicaRunInfo } from "../../src/agent/replicaRun";
import { importImage } from "../../src/image/importImage";
import { freePort } from "../helpers/chain";
import { makeTestRootfs } from "./helpers/testRootfs";
import { specOf, startAgentFixture, type AgentFixture } from "./helpers/agentChain";

const sha = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");

let fx: AgentFixture;
let agent: AgentHandle;
let agentDir: string;
let agentConfig: AgentConfig;

async function replicas(): Promise<ReplicaRunInfo[]> {
  return ((await (await fetch(`${agent.url}/v1/replicas`)).json()) as { replicas: ReplicaRunInfo[] }).replicas;
}
async function runOf(id: Hex, index = 0): Promise<ReplicaRunInfo | undefined> {
  return (await replicas()).find((r) => r.deploymentId === id.toLowerCase() && r.replicaIndex === index);
}
async function until<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
async function attestedEvents(id: Hex) {
  return fx.publicClient.getContractEvents({
    address: fx.addresses.deploymentRegistry,
    abi: deploymentRegistryAbi,
    eventName: "Attested",
    args: { id },
    fromBlock: 0n,
    strict: true,
  });
}

/** Wait for the Tampered attestation (status 3) of `id` on-chain. */
async function tamperedAttested(id: Hex): Promise<void> {
  await until("a Tampered attestation on-chain", async () => ((await attestedEvents(id)).some((e) => e.args.status === 3) ? true : undefined));
}

/** Recover the signer of attestation `i` of an attestMany transaction with eth-sig-util (independent of viem). */
async function independentSigners(txHash: Hex): Promise<{ signer: string; deploymentId: string; status: number }[]> {
  const tx = await fx.publicClient.getTransaction({ hash: txHash });
  const { args } = decodeFunctionData({ abi: deploymentRegistryAbi, data: tx.input });
  const [atts, sigs] = args as unknown as [Record<string, unknown>[], Hex[]];
  return atts.map((a, i) => ({
    deploymentId: String(a.deploymentId),
    status: Number(a.status),
    signer: recoverTypedSignature({
      version: SignTypedDataVersion.V4,
      signature: sigs[i],
      data: {
        types: {
          EIP712Domain: [
            { name: "name", type: "string" },
            { name: "version", type: "string" },
            { name: "chainId", type: "uint256" },
            { name: "verifyingContract", type: "address" },
          ],
          Attestation: [
            { name: "deploymentId", type: "bytes32" },
            { name: "replicaIndex", type: "uint16" },
            { name: "nodeId", type: "uint32" },
            { name: "attempt", type: "uint16" },
            { name: "status", type: "uint8" },
            { name: "measurement", type: "bytes32" },
            { name: "outputHash", type: "bytes32" },
            { name: "timestamp", type: "uint64" },
          ],
        },
        primaryType: "Attestation",
        domain: { name: "Hypha", version: "1", chainId: 31337, verifyingContract: fx.addresses.deploymentRegistry },
        message: { ...a, timestamp: String(a.timestamp) },
      },
    }),
  }));
}

const SERVICE = `
apiVersion: v1
kind: Deployment
metadata: {name: echo-app}
spec:
  replicas: 1
  selector: {matchLabels: {app: echo-app}}
  template:
    metadata: {labels: {app: echo-app}}
    spec:
      containers:
      - name: app
        image: ubuntu:latest
        command: ["echo", "Deterministic deployment"]
`;
const SLEEPER = (name: string) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  containers:
  - name: app
    image: ubuntu:latest
    command: ["sleep", "1000"]
`;

// Runs real workloads in the strongest sandbox here (bubblewrap, else util-linux namespaces); skipped
// only where neither can run (not root, no util-linux), which cannot be replaced by anything honest.
describe.skipIf(autoRuntime().name === null)("node agent on a real chain", () => {
  beforeAll(async () => {
    const port = await freePort();
    fx = await startAgentFixture([`http://127.0.0.1:${port}`, "http://127.0.0.1:9"]);
    agentDir = path.join(fx.dir, "agent");
    agentConfig = {
      rpcUrl: fx.rpcUrl,
      addresses: fx.addresses,
      nodeId: 1,
      agentPrivateKey: devPrivateKey(8),
      listen: { host: "127.0.0.1", port },
      storeMirrors: [fx.store.url],
      dataDir: agentDir,
      pollIntervalMs: 100,
      reverifyIntervalMs: 300,
      restartBackoffMs: 150,
      restartBackoffCapMs: 600,
    };
    agent = await runAgent(agentConfig, pino({ level: "silent" }));
  }, 120_000);

  afterAll(async () => {
    await agent?.close();
    await fx?.stop();
  });

  it("refuses to start with a key that is not the node's registered agent, starting nothing (a second live copy of every replica otherwise)", async () => {
    const dataDir = path.join(fx.dir, "impostor");
    const err = await runAgent(
      { ...agentConfig, agentPrivateKey: devPrivateKey(9), listen: { host: "127.0.0.1", port: 0 }, dataDir },
      pino({ level: "silent" }),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ name: "AgentError", field: "agentPrivateKey" });
    expect((err as Error).message).toContain(`not the agent registered for node 1 (${devAccount(8).address})`);
    expect(existsSync(dataDir)).toBe(false); // no lease, no monitor, no replica
  });

  it("serves its identity and validates API parameters", async () => {
    const node = (await (await fetch(`${agent.url}/v1/node`)).json()) as Record<string, unknown>;
    expect(node).toMatchObject({ nodeId: 1, agent: devAccount(8).address, driver: autoRuntime().name, sandbox: true });
    expect((await fetch(`${agent.url}/healthz`)).status).toBe(200);
    const bad = await fetch(`${agent.url}/v1/replicas/0x1234/0/logs`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { field: "deploymentId", reason: "must be 0x followed by 64 hex digits" } });
    const badIndex = await fetch(`${agent.url}/v1/replicas/0x${"ab".repeat(32)}/70000/logs`);
    expect(((await badIndex.json()) as { error: { field: string } }).error.field).toBe("index");
    expect((await fetch(`${agent.url}/v1/replicas/0x${"ab".repeat(32)}/0/logs`)).status).toBe(404);
  });

  it("runs an assigned service, attests Running once, and restarts it with backoff (counted)", async () => {
    const { id } = await fx.deploy(specOf(SERVICE), [{ replicaIndex: 0, nodeId: 1 }]);
    await fx.waitReplica(id, 0, "Running");
    const run = await until("two restarts", async () => {
      const r = await runOf(id);
      return r && r.restarts >= 2 ? r : undefined;
    });
    expect(["CrashLoopBackOff", "Running"]).toContain(run.status);
    const events = await attestedEvents(id);
    expect(events).toHaveLength(1); // restarts are local, as in Kubernetes
    const ev = events[0].args;
    expect(ev).toMatchObject({ replicaIndex: 0, nodeId: 1, attempt: 1, status: 0, signer: devAccount(8).address });
    expect(ev.measurement).toBe(run.measurement);
    const [recovered] = await independentSigners(events[0].transactionHash);
    expect(recovered.signer.toLowerCase()).toBe(devAccount(8).address.toLowerCase());
    const logs = await (await fetch(`${agent.url}/v1/replicas/${id}/0/logs`)).text();
    expect(logs.split("\n").filter((l) => l === "Deterministic deployment").length).toBeGreaterThanOrEqual(2);
    // Terminated on-chain -> the agent stops it.
    const { intent } = await readIntent(fx.publicClient, fx.addresses, id);
    const hash = await fx.wallets[11].writeContract({
      address: fx.addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      functionName: "terminate",
      args: [intent],
      account: fx.wallets[11].account!,
      chain: null,
    });
    await fx.publicClient.waitForTransactionReceipt({ hash });
    await until("stopped", async () => (await runOf(id))?.status === "Stopped");
  });

  it("runs a job to completion and attests the outputHash of stdout and declared outputs", async () => {
    const yaml = await fs.readFile(path.join(__dirname, "../../examples/job.yaml"), "utf8");
    // The example job on one replica with a quorum of one (the intent must say what its spec says).
    const spec = specOf(yaml);
    const oneReplica = { ...spec, replicas: 1, job: { ...spec.job!, quorum: 1 } };
    const { id } = await fx.deploy(oneReplica, [{ replicaIndex: 0, nodeId: 1 }]);
    await fx.waitReplica(id, 0, "Completed");
    const text = "sum of squares 1..1000 = 333833500\n";
    const expected = `0x${sha(`{"files":{"/out/result.txt":"${sha(text)}"},"stdout":"${sha(text)}"}`)}`;
    const events = await attestedEvents(id);
    // Running, then Completed with the result; or Completed alone, straight from Scheduled, when the
    // job ended before the Running attestation went out (the attester replaces it)
    expect([[0, 1], [1]]).toContainEqual(events.map((e) => e.args.status));
    expect(events.at(-1)!.args).toMatchObject({ status: 1, outputHash: expected, signer: devAccount(8).address });
    // a single-replica job's result is its JobFinalized event (not stored: jobResult stays zero)
    const finalized = await fx.publicClient.getContractEvents({
      address: fx.addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      eventName: "JobFinalized",
      args: { id },
      fromBlock: 0n,
    });
    expect(finalized.map((e) => e.args.outputHash)).toEqual([expected]);
    expect((await runOf(id))?.status).toBe("Completed");
  });

  it("refuses a replica placed on another node: nothing runs, nothing is attested", async () => {
    const { id } = await fx.deploy(specOf(SLEEPER("elsewhere")), [{ replicaIndex: 0, nodeId: 2 }]);
    await new Promise((r) => setTimeout(r, 1500)); // > 10 agent polls
    expect(await runOf(id)).toBeUndefined();
    expect(await attestedEvents(id)).toHaveLength(0);
    expect(existsSync(path.join(agentDir, "replicas", `${id}-0-1`))).toBe(false);
  });

  it("after an agent restart, resumes its running replicas without attesting them again", async () => {
    const { id } = await fx.deploy(specOf(SLEEPER("survivor")), [{ replicaIndex: 0, nodeId: 1 }]);
    await fx.waitReplica(id, 0, "Running");
    await until("attestation recorded locally", async () => Object.keys((await runOf(id))?.attested ?? {}).includes("Running"));
    const nonceBefore = await fx.publicClient.getTransactionCount({ address: devAccount(8).address });
    await agent.close();
    agent = await runAgent(agentConfig, pino({ level: "silent" }));
    const run = await until("running again", async () => {
      const r = await runOf(id);
      return r?.status === "Running" ? r : undefined;
    });
    await new Promise((r) => setTimeout(r, 800)); // several ticks: any re-attestation would have gone out
    expect(run.attempt).toBe(1);
    expect(await attestedEvents(id)).toHaveLength(1);
    expect(await fx.publicClient.getTransactionCount({ address: devAccount(8).address })).toBe(nonceBefore); // no transaction at all
  });

  it("refuses a spec blob whose hash differs: it waits for the right blob, nothing runs, nothing is attested", async () => {
    const spec = specOf(SLEEPER("tampered-spec"));
    const json = canonicalSpecJson(spec);
    const cid = await fx.store.store.put(Buffer.from(json));
    // The mirror now serves different bytes under the spec's CID.
    await fs.writeFile(fx.store.store.pathFor(cid), json.replace("1000", "9999"));
    const { id } = await fx.deploy(spec, [{ replicaIndex: 0, nodeId: 1 }], { putSpec: false });
    // A wrong blob is the store's fault, not the deployer's: the agent retries (and a later good copy starts it).
    const run = await until("the agent waiting for the spec", async () => {
      const r = await runOf(id);
      return r?.message?.includes("is tampered: no mirror served bytes matching its hash") ? r : undefined;
    });
    expect(run).toMatchObject({ status: "Preparing", startedAt: null, restarts: 0 });
    expect(run.message).toMatch(/^waiting for the spec blob: /);
    expect(await attestedEvents(id)).toHaveLength(0);
    expect(existsSync(path.join(agentDir, "replicas", `${id}-0-1`, "stdout.log"))).toBe(false);
    // The store gets the right bytes back: the replica starts.
    await fs.writeFile(fx.store.store.pathFor(cid), json);
    await fx.waitReplica(id, 0, "Running");
  });

  it("refuses an image whose entrypoint is changed at fetch: Tampered on-chain, process never started", async () => {
    const src = path.join(fx.dir, "image-tampered");
    await makeTestRootfs(src);
    // An entrypoint of this image alone (not in the node's chunk cache from other images).
    await fs.writeFile(path.join(src, "bin", "entry"), "#!/bin/sh\n# tampered-image entrypoint\nexec sleep 1000\n", { mode: 0o755 });
    const { rootHex, manifest } = await importImage(src, fx.store.store);
    // The entrypoint is fetched and verified before start: the mirror serves other bytes for it.
    const entry = manifest.entries.find((e) => e.path === "bin/entry")!;
    await fs.writeFile(fx.store.store.pathFor(entry.chunks![0]), "#!/bin/sh\necho evil\n");
    const spec = SLEEPER("tampered-image").replace('command: ["sleep", "1000"]', 'command: ["/bin/entry"]');
    const { id } = await fx.deploy(specOf(spec), [{ replicaIndex: 0, nodeId: 1 }], { imageRoot: rootHex });
    await tamperedAttested(id); // the contract then returns the replica to Pending for re-placement
    const run = await runOf(id);
    expect(run).toMatchObject({ status: "Tampered", startedAt: null });
    expect(run?.message).toMatch(/image refused/);
    expect((await attestedEvents(id)).map((e) => e.args.status)).toEqual([3]);
    expect(existsSync(path.join(agentDir, "replicas", `${id}-0-1`, "stdout.log"))).toBe(false);
  });

  it("lazy start: a bad chunk of a file fetched in the background is never written; the replica stops and attests Tampered", async () => {
    const src = path.join(fx.dir, "image-tampered-lazy");
    await makeTestRootfs(src);
    await fs.writeFile(path.join(src, "etc", "motd"), "an honest file\n");
    const { rootHex, manifest } = await importImage(src, fx.store.store);
    const motd = manifest.entries.find((e) => e.path === "etc/motd")!;
    await fs.writeFile(fx.store.store.pathFor(motd.chunks![0]), "an evil file!!\n");
    const { id } = await fx.deploy(specOf(SLEEPER("tampered-lazy")), [{ replicaIndex: 0, nodeId: 1 }], { imageRoot: rootHex });
    await tamperedAttested(id); // the contract then returns the replica to Pending for re-placement
    const run = await runOf(id);
    expect(run?.status).toBe("Tampered");
    expect(run?.message).toMatch(/background fetch/);
    const motdOnNode = path.join(agentDir, "replicas", `${id}-0-1`, "rootfs", "etc", "motd");
    expect(existsSync(motdOnNode) ? await fs.readFile(motdOnNode, "utf8") : "absent").not.toMatch(/evil/);
  });

  it("re-verifies a running replica's files: a changed file stops it and attests Tampered", async () => {
    const { id } = await fx.deploy(specOf(SLEEPER("drift")), [{ replicaIndex: 0, nodeId: 1 }]);
    await fx.waitReplica(id, 0, "Running");
    await until("running locally", async () => (await runOf(id))?.status === "Running");
    await fs.writeFile(path.join(agentDir, "replicas", `${id}-0-1`, "rootfs", "etc", "hostname"), "evil\n");
    await tamperedAttested(id); // the contract then returns the replica to Pending for re-placement
    const run = await runOf(id);
    expect(run?.status).toBe("Tampered");
    expect(run?.message).toMatch(/etc\/hostname/);
    expect(run?.lastExit).not.toBeNull(); // the process was stopped
    expect((await attestedEvents(id)).map((e) => e.args.status)).toEqual([0, 3]);
  });
});
