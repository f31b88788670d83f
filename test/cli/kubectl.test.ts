/**
 * The kubectl-grade CLI, as the real `hypha` binary (node bin/hypha.js) against a real `hardhat
 * node`, a real store and the real REST API: outcomes told apart (a job that reached its quorum
 * is Succeeded and `apply --wait` exits 0; a failed job exits 3 with the reason; deleted and
 * out-of-budget deployments), names and id prefixes, declarative apply (unchanged / scale /
 * replace), --dry-run and diff sending nothing, one JSON shape from `hypha get -o json` and the
 * API. Placement and attestation are done here directly (orchestrator dev account #1 schedules,
 * agent key #8 signs, #1 settles as the watcher does), since the watcher and agents are other parts.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { erc20Abi, parseEther, type Hex, type PublicClient, type WalletClient } from "viem";
import { deploymentRegistryAbi } from "../../src/chain/abi";
import { writeAddresses, type HyphaAddresses } from "../../src/chain/addresses";
import { makeChain, makePublicClient, makeWalletClient } from "../../src/chain/clients";
import { approveMeasurement, deployHypha, fundAccounts } from "../../src/chain/deploy";
import { devAccount } from "../../src/chain/devAccounts";
import { AttestedStatus } from "../../src/chain/eip712";
import { readIntent } from "../../src/chain/intents";
import { domainFor, signAttestation } from "../../src/chain/signing";
import { importImage, startStoreServer, type StoreServer } from "../../src/image";
import { startApiServer, type ApiServer } from "../../src/api/server";
import { startHardhatNode } from "../helpers/chain";

const ROOT = path.join(__dirname, "..", "..");
// Each test runs the CLI binary several times (about 1 s each on a quiet machine; the shared CI machine is slower).
vi.setConfig({ testTimeout: 240_000 });
const MEASUREMENT = `0x${"5a".repeat(32)}` as Hex;
const deployer = devAccount(11);
const operator = devAccount(5);
const agent = devAccount(8);
const orchestrator = devAccount(1);
const NODE_PRICE = 1000n; // wei per replica-second (node register --price 1000wei)

let node: Awaited<ReturnType<typeof startHardhatNode>>;
let store: StoreServer;
let api: ApiServer;
let pc: PublicClient;
let addresses: HyphaAddresses;
let tmp: string;
let env: NodeJS.ProcessEnv;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function hypha(args: string[], extraEnv: NodeJS.ProcessEnv = {}, cwd = tmp, baseEnv = env): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, "bin/hypha.js"), ...args], {
      cwd,
      env: { ...baseEnv, ...extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Starts `hypha ARGS` and resolves with the deployment id it prints, and its exit later. */
function hyphaBackground(args: string[]): { id: Promise<Hex>; done: Promise<Run> } {
  const child = spawn(process.execPath, [path.join(ROOT, "bin/hypha.js"), ...args], { cwd: tmp, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d));
  const id = new Promise<Hex>((resolve) =>
    child.stdout.on("data", (d: Buffer) => {
      stdout += d;
      const m = /deployment (0x[0-9a-f]{64})/.exec(stdout);
      if (m) resolve(m[1] as Hex);
    }),
  );
  const done = new Promise<Run>((resolve) => child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr })));
  return { id, done };
}

function wallet(i: number): WalletClient {
  return makeWalletClient(node.rpcUrl, devAccount(i), { chain: makeChain(31337, node.rpcUrl) });
}

async function send(w: WalletClient, functionName: string, args: readonly unknown[]) {
  const hash = await w.writeContract({
    address: addresses.deploymentRegistry,
    abi: deploymentRegistryAbi,
    functionName,
    args,
    account: w.account!,
    chain: w.chain,
  } as never);
  const receipt = await pc.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe("success");
}

/** Places replica `index` on node 1 (at its price) and has its agent attest each of `statuses` in turn. */
async function placeAndAttest(id: Hex, index: number, statuses: number[], outputHash: Hex = `0x${"00".repeat(32)}`) {
  const { intent } = await readIntent(pc, addresses, id);
  await send(wallet(1), "schedule", [intent, [{ replicaIndex: index, nodeId: 1, pricePerSecond: NODE_PRICE }]]);
  const replica = (await pc.readContract({
    address: addresses.deploymentRegistry,
    abi: deploymentRegistryAbi,
    functionName: "getReplica",
    args: [id, index],
  })) as { attempt: number };
  for (const status of statuses) {
    const attestation = {
      deploymentId: id,
      replicaIndex: index,
      nodeId: 1,
      attempt: replica.attempt,
      status,
      measurement: MEASUREMENT,
      outputHash: status === AttestedStatus.Completed ? outputHash : (`0x${"00".repeat(32)}` as Hex),
      timestamp: BigInt(Math.floor(Date.now() / 1000)),
    };
    await send(wallet(1), "attest", [attestation, await signAttestation(agent, domainFor(addresses), attestation)]);
  }
}

async function chainState() {
  const [block, nonce11, balance] = await Promise.all([
    pc.getBlockNumber(),
    pc.getTransactionCount({ address: deployer.address }),
    pc.readContract({ address: addresses.token, abi: erc20Abi, functionName: "balanceOf", args: [deployer.address] }),
  ]);
  return { block, nonce11, balance };
}

function manifest(name: string, replicas = 1, text = "hello"): string {
  const file = path.join(tmp, `${name}-${replicas}-${text}.yaml`);
  fs.writeFileSync(
    file,
    `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  replicas: ${replicas}\n  template:\n    spec:\n      containers:\n      - name: c\n        image: ubuntu:latest\n        command: [echo, ${text}]\n`,
  );
  return file;
}

function jobManifest(name: string): string {
  const file = path.join(tmp, `${name}.yaml`);
  fs.writeFileSync(
    file,
    `apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: ${name}\n  annotations:\n    hypha.dev/quorum: "1"\nspec:\n  completions: 1\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: c\n        image: ubuntu:latest\n        command: [echo, ${name}]\n`,
  );
  return file;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hypha-kubectl-"));
  node = await startHardhatNode();
  pc = makePublicClient(node.rpcUrl);
  addresses = await deployHypha({ walletClient: wallet(0), publicClient: pc, params: { orchestrators: [orchestrator.address] } });
  await fundAccounts({ walletClient: wallet(0), publicClient: pc, addresses, accounts: [operator.address, deployer.address], amount: parseEther("10000") });
  await approveMeasurement({ walletClient: wallet(0), publicClient: pc, addresses, measurement: MEASUREMENT });
  writeAddresses(path.join(tmp, "deployments"), addresses);
  store = await startStoreServer({ dir: path.join(tmp, "store"), port: 0, host: "127.0.0.1" });
  const rootfs = path.join(tmp, "rootfs");
  fs.mkdirSync(path.join(rootfs, "bin"), { recursive: true });
  fs.writeFileSync(path.join(rootfs, "bin", "hello"), "#!/bin/sh\necho hello\n", { mode: 0o755 });
  const image = await importImage(rootfs, store.store);
  await store.catalog.set("ubuntu:latest", image.root.toString());
  api = await startApiServer({ publicClient: pc, addresses, storeUrl: store.url, port: 0 });
  env = { PATH: process.env.PATH, HOME: tmp, HYPHA_RPC: node.rpcUrl, HYPHA_DEPLOYMENT: path.join(tmp, "deployments"), HYPHA_STORE: store.url };
  const reg = await hypha([
    "node",
    "register",
    "--dev-account",
    "5",
    "--stake",
    "200",
    "--cpu",
    "4",
    "--mem",
    "8Gi",
    "--endpoint",
    "http://127.0.0.1:9",
    "--agent",
    agent.address,
    "--measurement",
    MEASUREMENT,
    "--price",
    "1000wei",
  ]);
  expect(reg.code).toBe(0);
}, 180_000);

afterAll(async () => {
  await api?.close();
  await store?.close();
  await node?.stop();
});

describe("outcomes: apply --wait and every status a user sees", () => {
  it("a job that reaches its quorum and is settled in the same batch: apply --wait exits 0, Succeeded everywhere", async () => {
    const run = hyphaBackground(["apply", "-f", jobManifest("quorum-job"), "--wait", "--timeout", "120"]);
    const id = await run.id;
    // The watcher's way: the replica attests Completed (quorum 1: final), then terminateMany settles it.
    await placeAndAttest(id, 0, [AttestedStatus.Running, AttestedStatus.Completed], `0x${"b7".repeat(32)}`);
    const { intent } = await readIntent(pc, addresses, id);
    await send(wallet(1), "terminateMany", [[intent]]);
    const r = await run.done;
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`deployment quorum-job (${id}) is Succeeded: job result 0x${"b7".repeat(32)} agreed by 1 replica(s) (quorum 1)`);

    const get = await hypha(["get", "deployments"]);
    expect(get.stdout).toMatch(new RegExp(`quorum-job\\s+${id.slice(0, 12)}\\s+Succeeded\\s+job`));
    const api1 = (await (await fetch(`${api.url}/v1/deployments/${id}`)).json()) as { phase: string; status: string; reason: string };
    expect(api1).toMatchObject({ phase: "Succeeded", status: "Terminated", reason: "QuorumReached" });
  });

  it("a job whose replica fails with no retries left: apply --wait exits 3 with the reason", async () => {
    const run = hyphaBackground(["apply", "-f", jobManifest("failing-job"), "--wait", "--timeout", "120"]);
    const id = await run.id;
    await placeAndAttest(id, 0, [AttestedStatus.Running, AttestedStatus.Failed]);
    const r = await run.done;
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`error: deployment failing-job (${id}) ended Failed (ReplicaFailed): replica 0 failed on node 1 with no retries left`);
    const d = await hypha(["describe", "deployment", "failing-job"]);
    expect(d.stdout).toMatch(/Status:\s+Failed/);
    expect(d.stdout).toMatch(/Reason:\s+ReplicaFailed: replica 0 failed on node 1/);
    expect(d.stdout).toMatch(/Warning\s+AttestedFailed\s+block \d+\s+node 1\s+replica 0 attempt 1 attested Failed by agent 0x/);
    expect(d.stdout).toMatch(/Warning\s+Failed\s+block \d+\s+contract\s+deployment \w+ -> Failed/);

    // hypha wait: the phase reached, another phase ended in (exit 3), a bad --for (exit 1)
    const ok = await hypha(["wait", "deployment", "failing-job", "--for=phase=Failed"]);
    expect(ok).toMatchObject({ code: 0, stdout: `deployment failing-job (${id}) is Failed: replica 0 failed on node 1 with no retries left\n` });
    const asJson = await hypha(["wait", "deployment", "failing-job", "--for=phase=Failed", "-o", "json"]);
    expect(JSON.parse(asJson.stdout)).toEqual(JSON.parse((await hypha(["get", "deployment", "failing-job", "-o", "json"])).stdout));
    expect((await hypha(["wait", "deployment", "failing-job", "--for=phase=Failed", "-o", "name"])).stdout).toBe("deployment/failing-job\n");
    const other = await hypha(["wait", "deployment", "failing-job", "--for=phase=Succeeded", "--timeout", "30"]);
    expect(other.code).toBe(3);
    expect(other.stderr).toContain(`error: deployment failing-job (${id}) ended Failed (ReplicaFailed)`);
    expect(await hypha(["wait", "deployment", "failing-job", "--for=phase=Done"])).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^error: --for: phase=NAME with NAME one of Requested, Scheduled, Running, Succeeded/),
    });
  });

  it("nothing can ever fit: apply --wait stops early with FailedScheduling; describe shows the reason as an event", async () => {
    const file = path.join(tmp, "huge.yaml");
    fs.writeFileSync(
      file,
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: huge\nspec:\n  containers:\n  - name: c\n    image: ubuntu:latest\n    command: [echo, hi]\n    resources:\n      requests: {cpu: '64', memory: 64Mi}\n",
    );
    const started = Date.now();
    const r = await hypha(["apply", "-f", file, "--wait", "--timeout", "200"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error: deployment huge \(0x[0-9a-f]{64}\) cannot be placed \(FailedScheduling\): no node fits: 1 not enough cpu\n/);
    expect(Date.now() - started).toBeLessThan(150_000); // long before the 200 s timeout
    const d = await hypha(["describe", "deployment", "huge"]);
    expect(d.stdout).toMatch(/Warning\s+FailedScheduling\s+now\s+scheduler\s+replica 0: no node fits: 1 not enough cpu/);
    expect(d.stdout).toMatch(/Normal\s+Submitted\s+block \d+\s+deployer\s+intent signed by 0x71bE63f3384f5fb98995898A86B02Fb2426c5788/);
  });

  it("deleted by the deployer and out of budget are told apart", async () => {
    const del = await hypha(["apply", "-f", manifest("to-delete"), "-o", "json"]);
    expect(del.code).toBe(0);
    const delId = (JSON.parse(del.stdout) as { id: Hex }).id;
    const gone = await hypha(["delete", "deployment", "to-delete"]);
    expect(gone.code).toBe(0);
    expect(gone.stdout).toContain(`deployment to-delete (${delId}) deleted: deleted by its deployer while Requested`);

    // the smallest budget the contract takes: 60 s at the price limit, which is the node's price
    const broke = await hypha(["apply", "-f", manifest("short-budget"), "--budget", "60000wei", "--max-price", "1000wei", "-o", "json"]);
    expect(broke.stderr).toBe("");
    const brokeId = (JSON.parse(broke.stdout) as { id: Hex }).id;
    await placeAndAttest(brokeId, 0, [AttestedStatus.Running]);
    await pc.request({ method: "evm_increaseTime" as never, params: [120] as never });
    await pc.request({ method: "evm_mine" as never, params: [] as never });
    const { intent } = await readIntent(pc, addresses, brokeId);
    await send(wallet(1), "terminate", [intent]); // not the deployer: allowed only because the budget is spent

    const list = JSON.parse((await hypha(["get", "deployments", "-o", "json"])).stdout) as {
      deployments: Array<{ id: Hex; phase: string; reason: string; status: string }>;
    };
    expect(list.deployments.find((d) => d.id === delId)).toMatchObject({ phase: "Deleted", reason: "DeletedByDeployer", status: "Terminated" });
    expect(list.deployments.find((d) => d.id === brokeId)).toMatchObject({ phase: "OutOfBudget", reason: "BudgetExhausted", status: "Terminated" });
  });
});

describe("names, declarative apply, dry-run, diff, one JSON shape", () => {
  let id: Hex;

  it("apply creates; get/describe/logs accept the name, the id and a unique prefix", async () => {
    const r = await hypha(["apply", "-f", manifest("web"), "-o", "json"]);
    expect(r.code).toBe(0);
    id = (JSON.parse(r.stdout) as { id: Hex; action: string }).id;
    expect(JSON.parse(r.stdout)).toMatchObject({ action: "create", name: "web", kind: "service" });
    await placeAndAttest(id, 0, [AttestedStatus.Running]);
    for (const ref of ["web", id, id.slice(0, 12), `${id.slice(0, 12)}…`]) {
      const g = await hypha(["get", "deployment", ref, "-o", "name"]);
      expect({ ref, code: g.code, out: g.stdout }).toEqual({ ref, code: 0, out: "deployment/web\n" });
    }
    const table = await hypha(["get", "deployments"]);
    expect(table.stdout.split("\n")[0]).toMatch(/^NAME\s+ID\s+STATUS\s+KIND\s+READY\s+DEPLOYER\s+BLOCK$/);
    expect(table.stdout).toMatch(new RegExp(`web\\s+${id.slice(0, 12)}\\s+Running\\s+service\\s+1/1`));
    const d = await hypha(["describe", "deployment", id.slice(0, 10)]);
    expect(d.stdout).toContain(`Deployment:   ${id}`);
    const logs = await hypha(["logs", "web"]);
    expect(logs.stdout).toContain("--- replica 0 (Running) on node 1");
    const missing = await hypha(["get", "deployment", "nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: deployment "nope": no deployment has this name\nnames on this chain: .*web/);
  });

  it("re-applying the unchanged manifest does nothing and says so", async () => {
    const before = await chainState();
    const r = await hypha(["apply", "-f", manifest("web")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`web: unchanged (deployment ${id} is Running); nothing to send\n`);
    expect(await chainState()).toEqual(before);
  });

  it("--dry-run and diff print the plan, specHash and cost and send nothing", async () => {
    const before = await chainState();
    const dry = await hypha(["apply", "-f", manifest("fresh"), "--dry-run", "--budget", "3"]);
    expect(dry.code).toBe(0);
    const spec = (await hypha(["spec", "hash", "-f", manifest("fresh")])).stdout.trim();
    expect(dry.stdout).toContain("fresh: will create a new deployment (dry run: nothing sent)");
    expect(dry.stdout).toContain(`specHash   ${spec}`);
    expect(dry.stdout).toMatch(/cost\s+escrow 3 HYPHA; at most 3\.6 HYPHA\/h at the price limit 0\.001 HYPHA\/s per replica/);
    expect(dry.stdout).toMatch(/estimate\s+0\.0000000000036 HYPHA\/h at the prices of the nodes that fit now; the escrow lasts over 100 years/);
    const json = JSON.parse((await hypha(["apply", "-f", manifest("web", 1, "changed"), "--dry-run", "-o", "json"])).stdout);
    expect(json).toMatchObject({ action: "replace", existing: id, plan: expect.stringContaining("web: changed (command.1)") });
    const diff = await hypha(["diff", "-f", manifest("web", 3)]);
    expect(diff.stdout).toBe(`web: will scale deployment ${id} from 1 to 3 replicas (no new escrow)\n-  replicas: 1\n+  replicas: 3\n`);
    expect(await chainState()).toEqual(before);
    expect((await hypha(["get", "deployment", "fresh"])).code).toBe(1);
  });

  it("a changed replica count scales; a changed spec replaces (plan printed first)", async () => {
    const s = await hypha(["apply", "-f", manifest("web", 2)]);
    expect(s.code).toBe(0);
    expect(s.stdout.split("\n")[0]).toBe(`web: will scale deployment ${id} from 1 to 2 replicas (no new escrow)`);
    const view = (await pc.readContract({ address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "getDeployment", args: [id] })) as {
      replicas: number;
    };
    expect(view.replicas).toBe(2);
    expect((await hypha(["apply", "-f", manifest("web", 2)])).stdout).toContain("web: unchanged");

    const r = await hypha(["apply", "-f", manifest("web", 2, "changed")]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe(`web: changed (command.1): will submit a new deployment, then delete ${id} (its escrow left is refunded)`);
    const newId = /deployment (0x[0-9a-f]{64}) \(web\)/.exec(r.stdout)![1];
    expect(r.stdout).toContain(`replaced: deployment ${id} deleted`);
    const all = JSON.parse((await hypha(["get", "deployments", "-o", "json"])).stdout) as { deployments: Array<{ id: string; phase: string }> };
    expect(all.deployments.find((d) => d.id === id)?.phase).toBe("Deleted");
    // the name now means the active one; both share it
    expect((await hypha(["get", "deployment", "web", "-o", "name"])).stdout).toBe("deployment/web\n");
    expect(JSON.parse((await hypha(["get", "deployment", "web", "-o", "json"])).stdout).id).toBe(newId);
    id = newId as Hex;
  });

  it("an ambiguous name lists the candidates", async () => {
    const other = await hypha(["apply", "-f", manifest("web"), "--dev-account", "12", "--budget", "1"]);
    // dev account 12 holds no tokens on this chain: refused, nothing sent
    expect(other.code).toBe(1);
    await fundAccounts({ walletClient: wallet(0), publicClient: pc, addresses, accounts: [devAccount(12).address], amount: parseEther("10") });
    expect((await hypha(["apply", "-f", manifest("web"), "--dev-account", "12", "--budget", "1"])).code).toBe(0);
    const amb = await hypha(["describe", "deployment", "web"]);
    expect(amb.code).toBe(1);
    expect(amb.stderr).toMatch(/^error: name "web" matches 2 deployments; give the id \(or a longer prefix\):/);
    expect(amb.stderr).toContain(id);
  });

  it("hypha get -o json and the API give the same JSON for a deployment, with names, not numbers", async () => {
    const cli = JSON.parse((await hypha(["get", "deployment", id, "-o", "json"])).stdout);
    const fromApi = await (await fetch(`${api.url}/v1/deployments/${id}`)).json();
    expect(cli).toEqual(fromApi);
    expect(cli).toMatchObject({
      id,
      name: "web",
      kind: "service",
      phase: "Requested",
      status: "Requested",
      replicaSet: [
        { index: 0, status: "Pending" },
        { index: 1, status: "Pending" },
      ],
    });
    const list = JSON.parse((await hypha(["get", "deployments", "-o", "json"])).stdout) as { total: number; deployments: unknown[] };
    const apiList = (await (await fetch(`${api.url}/v1/deployments`)).json()) as { total: number; deployments: unknown[] };
    expect(list.total).toBe(apiList.total);
    expect(list.deployments).toEqual([...apiList.deployments].reverse()); // the API lists newest first
    const yaml = await hypha(["get", "deployment", id, "-o", "yaml"]);
    expect(yaml.stdout).toContain("phase: Requested");
    const nodesCli = JSON.parse((await hypha(["get", "nodes", "-o", "json"])).stdout) as { nodes: Array<Record<string, unknown>> };
    const nodesApi = (await (await fetch(`${api.url}/v1/nodes`)).json()) as { nodes: Array<Record<string, unknown>> };
    // the probe's time differs between the two reads; reachability and the last attestation (chain data) do not
    const withoutTime = (n: Record<string, unknown>) => {
      const { reachable, lastAttestation } = n.liveness as { reachable: boolean; lastAttestation: string | null };
      return { ...n, liveness: { reachable, lastAttestation } };
    };
    expect(nodesCli.nodes.map(withoutTime)).toEqual(nodesApi.nodes.map(withoutTime));
    expect(nodesCli.nodes[0]).toMatchObject({ id: 1, state: "Active", liveness: { reachable: false }, pricePerSecond: "1000" });
    // node 1's agent (key #8) has attested: last seen on-chain then, though nothing answers at its endpoint now
    const attestedAt = (nodesCli.nodes[0].liveness as { lastAttestation: string }).lastAttestation;
    expect(Date.parse(attestedAt)).toBeGreaterThan(Date.now() - 3_600_000);
    expect((await hypha(["get", "nodes"])).stdout).toMatch(
      /^ID\s+STATE\s+AGENT\s+LAST ATTESTED\s+CPU FREE\/TOTAL.*\n1\s+Active\s+Unreachable\s+\d+[smhd]\S* ago\s/,
    );
    const bad = await hypha(["get", "deployments", "-o", "xml"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("error: -o: must be one of table, wide, json, yaml, name, got xml\n");
  });

  it("-o json|yaml|name on audit, spec hash, key and image commands, from the same output module; a bad -o changes nothing", async () => {
    const auditJson = JSON.parse((await hypha(["audit", id, "-o", "json"])).stdout) as { id: string; verdict: string; checks: unknown[] };
    expect(auditJson).toMatchObject({ id, verdict: "PASS" });
    const auditYaml = await hypha(["audit", id, "-o", "yaml"]);
    expect(auditYaml.code).toBe(0);
    expect(auditYaml.stdout).toContain(`id: "${id}"\nverdict: PASS\nchecks:\n`);
    expect((await hypha(["audit", id, "-o", "name"])).stderr).toBe("error: -o: must be one of table, json, yaml, got name\n");

    const file = manifest("web", 2, "changed");
    const hash = (await hypha(["spec", "hash", "-f", file])).stdout.trim();
    expect((await hypha(["spec", "hash", "-f", file, "-o", "name"])).stdout).toBe("spec/web\n");
    expect((await hypha(["spec", "hash", "-f", file, "-o", "yaml"])).stdout).toContain(`name: web\nspecHash: "${hash}"\n`);

    const keystore = path.join(tmp, "ks-output");
    const keyEnv = { HYPHA_PASSPHRASE: "pw", HYPHA_KEYSTORE_LIGHT: "1" };
    expect(await hypha(["key", "new", "--keystore", keystore, "-o", "xml"], keyEnv)).toMatchObject({
      code: 1,
      stderr: "error: -o: must be one of table, json, yaml, name, got xml\n",
    });
    expect(fs.existsSync(keystore)).toBe(false); // refused before any key was made
    const made = JSON.parse((await hypha(["key", "new", "--keystore", keystore, "-o", "json"], keyEnv)).stdout) as { address: string; file: string };
    expect(made.address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(fs.existsSync(made.file)).toBe(true);
    expect((await hypha(["key", "list", "--keystore", keystore, "-o", "name"])).stdout).toBe(`key/${made.address}\n`);
    expect((await hypha(["key", "list", "--keystore", keystore, "-o", "yaml"])).stdout).toContain(`- address: "${made.address}"`);

    const storeDir = path.join(tmp, "store");
    expect((await hypha(["image", "ls", "--store-dir", storeDir, "-o", "name"])).stdout).toBe("image/ubuntu:latest\n");
    const images = JSON.parse((await hypha(["image", "ls", "--store-dir", storeDir, "-o", "json"])).stdout) as Array<{ names: string[]; root: string }>;
    expect(images).toEqual([expect.objectContaining({ names: ["ubuntu:latest"] })]);
    const imported = await hypha(["image", "import", path.join(tmp, "rootfs"), "--store-dir", storeDir, "-o", "name"]);
    expect(imported.stdout).toBe(`image/${images[0].root}\n`); // the same tree: the same root
  });
});

describe("runs from anywhere: npm install -g, config contexts, --version, completion", () => {
  it("`npm install -g` from the clone gives a `hypha` that works from any folder, with --version", async () => {
    const prefix = path.join(tmp, "global");
    const install = spawnSync("npm", ["install", "-g", "--prefix", prefix, ROOT, "--no-audit", "--no-fund"], {
      encoding: "utf8",
      env: { ...process.env, npm_config_loglevel: "error" },
    });
    expect(install.status, install.stderr).toBe(0);
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "hypha-elsewhere-"));
    const v = spawnSync(path.join(prefix, "bin", "hypha"), ["--version"], { cwd: elsewhere, encoding: "utf8" });
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/^hypha 0\.1\.0( \([0-9a-f]+\))?, node v\d+/);
    const nodes = spawnSync(path.join(prefix, "bin", "hypha"), ["get", "nodes", "-o", "name"], { cwd: elsewhere, encoding: "utf8", env: { ...env } });
    expect(nodes.stdout + nodes.stderr).toBe("node/1\n");
  });

  it("contexts in the config file name the chain, store and addresses; flags still win; bad files are named", async () => {
    const configFile = path.join(tmp, "cfg", "config.yaml");
    const bare = { PATH: process.env.PATH, HOME: tmp, HYPHA_CONFIG: configFile }; // no HYPHA_RPC/STORE/DEPLOYMENT
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "hypha-ctx-"));
    const run = (args: string[]) => hypha(args, {}, elsewhere, bare);
    const set = await run(["config", "set-context", "test", "--rpc", node.rpcUrl, "--store", store.url, "--deployment", path.join(tmp, "deployments")]);
    expect(set.stdout).toBe(`Context "test" created in ${configFile}.\n`);
    expect(await run(["config", "set-context", "other", "--rpc", "http://127.0.0.1:1", "--deployment", path.join(tmp, "deployments")])).toMatchObject({
      code: 0,
    });
    expect((await run(["config", "current-context"])).stdout).toBe("test\n");
    const list = await run(["get", "deployments", "-o", "name"]);
    expect(list.stderr).toBe("");
    expect(list.stdout).toContain("deployment/web\n");
    expect((await run(["config", "use-context", "other"])).stdout).toBe('Switched to context "other".\n');
    const unreachable = await run(["get", "nodes"]);
    expect(unreachable, unreachable.stderr).toMatchObject({ code: 2 }); // nothing listens there
    expect((await run(["--context", "test", "get", "nodes", "-o", "name"])).stdout).toBe("node/1\n");
    expect((await run(["get", "nodes", "-o", "name", "--rpc", node.rpcUrl, "--deployment", path.join(tmp, "deployments")])).stdout).toBe("node/1\n");
    const ctxs = await run(["config", "get-contexts"]);
    expect(ctxs.stdout).toMatch(/^CURRENT\s+NAME\s+RPC\s+STORE\s+KEY\n\s+test\s+http:\/\/127\.0\.0\.1:\d+\s+http.*\n\*\s+other\s+http:\/\/127\.0\.0\.1:1\n$/);
    const missing = await run(["config", "use-context", "nope"]);
    expect(missing).toMatchObject({ code: 1, stderr: `error: context "nope": not in ${configFile} (contexts: test, other)\n` });

    const before = fs.readFileSync(configFile, "utf8");
    fs.writeFileSync(configFile, "contexts:\n  test:\n    rpc: 42\n");
    const bad = await run(["get", "nodes"]);
    expect(bad).toMatchObject({ code: 1, stderr: `error: config file ${configFile}, contexts.test.rpc: must be a non-empty string, got 42\n` });
    fs.writeFileSync(configFile, before);
  });

  it("completion bash completes commands, subcommands, flags and deployment names", async () => {
    const script = await hypha(["completion", "bash"]);
    expect(script.code).toBe(0);
    expect(script.stdout).toContain("complete -F _hypha hypha");
    const file = path.join(tmp, "completion.bash");
    fs.writeFileSync(file, script.stdout);
    const shim = path.join(tmp, "shim");
    fs.mkdirSync(shim, { recursive: true });
    fs.writeFileSync(path.join(shim, "hypha"), `#!/bin/sh\nexec "${process.execPath}" "${path.join(ROOT, "bin/hypha.js")}" "$@"\n`, { mode: 0o755 });
    // bash runs asynchronously: the store it asks for names lives in this process.
    const bash = (cmd: string) =>
      new Promise<string>((resolve) => {
        const child = spawn("bash", ["-c", cmd], { env: { ...env, PATH: `${shim}:${process.env.PATH}` }, cwd: tmp, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d));
        child.on("close", () => resolve(out));
      });
    const complete = async (words: string[]) =>
      (
        await bash(`source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _hypha; echo "\${COMPREPLY[@]}"`)
      ).trim();
    expect(await complete(["hypha", "ap"])).toBe("apply api");
    expect(await complete(["hypha", "app"])).toBe("apply");
    expect(await complete(["hypha", "get", "no"])).toBe("nodes");
    expect(await complete(["hypha", "apply", "--dr"])).toBe("--dry-run");
    expect(await bash("hypha get deployments -o name")).toContain("deployment/web\n");
    expect(await complete(["hypha", "describe", "deployment", "we"])).toBe("web");
    expect((await hypha(["completion", "fish"])).stderr).toBe('error: SHELL: bash or zsh, got "fish"\n');
  });
});

describe("operators: funding a new key, and which key signs", () => {
  it("account faucet (local chains) and account transfer move tokens to a new key; bad input changes nothing", async () => {
    const fresh = devAccount(17).address; // holds no tokens on this chain
    const balance = () => pc.readContract({ address: addresses.token, abi: erc20Abi, functionName: "balanceOf", args: [fresh] });
    expect(await balance()).toBe(0n);
    const f = await hypha(["account", "faucet", fresh, "--amount", "250"]);
    expect(f.stderr).toBe("");
    expect(f.stdout).toMatch(new RegExp(`^minted 250 HYPHA to ${fresh} \\(signed by local dev account #0, 0x[0-9a-fA-F]{40}\\)  tx 0x[0-9a-f]{64}\\n$`));
    const t = await hypha(["account", "transfer", fresh, "1.5"]);
    expect(t.stdout).toMatch(new RegExp(`^sent 1.5 HYPHA from ${deployer.address} to ${fresh}`));
    expect(await balance()).toBe(parseEther("251.5"));
    const before = await chainState();
    expect(await hypha(["account", "transfer", "nobody", "1"])).toMatchObject({ code: 1, stderr: "error: TO: not an address: nobody\n" });
    expect(await hypha(["account", "faucet", fresh, "--amount", "0"])).toMatchObject({ code: 1, stderr: "error: --amount: must be more than 0\n" });
    expect(await chainState()).toEqual(before);
  });

  it("a second node with an agent key already in use is refused, saying what it means and what to do; nothing changes", async () => {
    const other = devAccount(6); // another operator, with tokens, wanting node 1's agent key
    await fundAccounts({ walletClient: wallet(0), publicClient: pc, addresses, accounts: [other.address], amount: parseEther("500") });
    const tokens = () => pc.readContract({ address: addresses.token, abi: erc20Abi, functionName: "balanceOf", args: [other.address] });
    const before = { tokens: await tokens(), nodes: (await hypha(["get", "nodes", "-o", "name"])).stdout };
    const r = await hypha([
      "node",
      "register",
      "--dev-account",
      "6",
      "--stake",
      "100",
      "--cpu",
      "4",
      "--mem",
      "8Gi",
      "--endpoint",
      "http://127.0.0.1:9",
      "--agent",
      agent.address,
      "--measurement",
      MEASUREMENT,
    ]);
    expect(r.code).toBe(1);
    // what it means (the key is node 1's) and what to do (a key of its own), in one line
    expect(r.stderr).toMatch(
      new RegExp(
        `^error: registering the node: agent key ${agent.address} already belongs to node 1: each node needs its own agent key \\(hypha key new\\)\n$`,
      ),
    );
    expect(r.stdout).toBe("");
    expect({ tokens: await tokens(), nodes: (await hypha(["get", "nodes", "-o", "name"])).stdout }).toEqual(before);
    expect(before.nodes).toBe("node/1\n");
  });

  it("`hypha node run` with no contract addresses file names --deployment and the remedy (not an internal error)", async () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "hypha-nodeploy-"));
    const bare = {
      PATH: process.env.PATH,
      HOME: elsewhere,
      HYPHA_RPC: node.rpcUrl,
      HYPHA_AGENT_KEY: `0x${"ab".repeat(32)}`,
      HYPHA_CONFIG: path.join(elsewhere, "none.yaml"),
    };
    const remedy =
      "pass --deployment FILE (the deployments/<chainId>.json that `hypha up` or scripts/deploy.ts wrote, or its folder), set HYPHA_DEPLOYMENT, or name it in a context (hypha config set-context NAME --deployment FILE)\n";
    const args = ["node", "run", "--node-id", "1", "--listen", "127.0.0.1:0", "--data-dir", path.join(elsewhere, "node")];
    const missing = await hypha([...args, "--deployment", path.join(elsewhere, "31337.json")], {}, elsewhere, bare);
    expect(missing).toEqual({ code: 1, stdout: "", stderr: `error: --deployment: ${path.join(elsewhere, "31337.json")} not found\n${remedy}` });
    // Without the flag, the default is ./deployments, else the clone's own: only when the clone has none is nothing found.
    if (!fs.existsSync(path.join(ROOT, "deployments"))) {
      const none = await hypha(args, {}, elsewhere, bare);
      expect(none).toEqual({
        code: 1,
        stdout: "",
        stderr: `error: --deployment: not given, and there is no deployments/ folder here or in ${ROOT}\n${remedy}`,
      });
    }
    expect(fs.existsSync(path.join(elsewhere, "node"))).toBe(false); // nothing started, nothing written
  });

  it("with keys in the keystore but none chosen, the CLI says which dev account signs", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hypha-ks-"));
    const pk = path.join(dir, "pk.txt");
    fs.writeFileSync(pk, `0x${"11".repeat(32)}`);
    expect(
      (
        await hypha(
          ["key", "import", "--keystore", path.join(dir, ".hypha", "keystore"), "--key-file", pk],
          { HYPHA_PASSPHRASE: "pw", HYPHA_KEYSTORE_LIGHT: "1" },
          dir,
        )
      ).code,
    ).toBe(0);
    const r = await hypha(["apply", "-f", manifest("note-app"), "--dry-run"], {}, dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      `note: signing with local dev account #11 (${deployer.address}), not with the key(s) in .hypha/keystore; pass --from ADDRESS (or --keystore DIR) to sign with yours\n`,
    );
  });
});
