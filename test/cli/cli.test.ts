/**
 * The real `hypha` binary (node bin/hypha.js) as a child process against a real `hardhat node`
 * over JSON-RPC, with the contracts deployed and a real store server: node register, apply,
 * get, describe, audit PASS; an altered manifest FAILs the audit; signed ConfigMaps; scale and
 * delete; keystore signing; and bad input exits 1 with a named error and changes nothing.
 * Placement and attestation are done here directly (orchestrator dev account #1 calls schedule,
 * agent key #8 signs), since the watcher and agents are other parts.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEther, type Address, type Hex, type PublicClient, type WalletClient } from "viem";
import { deploymentRegistryAbi, nodeRegistryAbi } from "../../src/chain/abi";
import { writeAddresses, type HyphaAddresses } from "../../src/chain/addresses";
import { makeChain, makePublicClient, makeWalletClient } from "../../src/chain/clients";
import { approveMeasurement, deployHypha, fundAccounts } from "../../src/chain/deploy";
import { devAccount, devPrivateKey } from "../../src/chain/devAccounts";
import { AttestedStatus } from "../../src/chain/eip712";
import { readIntent } from "../../src/chain/intents";
import { computeDeploymentId, domainFor, signAttestation } from "../../src/chain/signing";
import { bytes32ToRoot, importImage, RAW_CODEC, startStoreServer, type StoreServer } from "../../src/image";
import { freePort, startHardhatNode } from "../helpers/chain";

const ROOT = path.join(__dirname, "..", "..");
const MEASUREMENT = `0x${"5a".repeat(32)}` as Hex;
const deployer = devAccount(11);
const operator = devAccount(5);
const agent = devAccount(8);
const orchestrator = devAccount(1);

let node: Awaited<ReturnType<typeof startHardhatNode>>;
let store: StoreServer;
let pc: PublicClient;
let addresses: HyphaAddresses;
let tmp: string;
let env: NodeJS.ProcessEnv;
let appFile: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/hypha.js ...args` asynchronously (the store server lives in this process). */
function hypha(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, "bin/hypha.js"), ...args], {
      cwd: tmp,
      env: { ...env, ...extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function wallet(i: number): WalletClient {
  return makeWalletClient(node.rpcUrl, devAccount(i), { chain: makeChain(31337, node.rpcUrl) });
}

async function send(w: WalletClient, call: { address: Address; abi: readonly unknown[]; functionName: string; args: readonly unknown[] }) {
  const hash = await w.writeContract({ ...call, account: w.account!, chain: w.chain } as never);
  const receipt = await pc.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe("success");
  return receipt;
}

/** Everything a bad input must leave alone. */
async function chainState() {
  const [block, nonce11, nonce5, nodes] = await Promise.all([
    pc.getBlockNumber(),
    pc.getTransactionCount({ address: deployer.address }),
    pc.getTransactionCount({ address: operator.address }),
    pc.readContract({ address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "nodeCount" }),
  ]);
  return { block, nonce11, nonce5, nodes };
}

/** Places replica `index` on node 1 and has the node's agent attest it Running. */
async function placeAndAttest(id: Hex, index: number) {
  const { intent } = await readIntent(pc, addresses, id);
  const node = await pc.readContract({ address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "getNode", args: [1] });
  await send(wallet(1), {
    address: addresses.deploymentRegistry,
    abi: deploymentRegistryAbi,
    functionName: "schedule",
    args: [intent, [{ replicaIndex: index, nodeId: 1, pricePerSecond: node.pricePerSecond }]],
  });
  const replica = (await pc.readContract({
    address: addresses.deploymentRegistry,
    abi: deploymentRegistryAbi,
    functionName: "getReplica",
    args: [id, index],
  })) as { attempt: number };
  const attestation = {
    deploymentId: id,
    replicaIndex: index,
    nodeId: 1,
    attempt: replica.attempt,
    status: AttestedStatus.Running,
    measurement: MEASUREMENT,
    outputHash: `0x${"00".repeat(32)}` as Hex,
    timestamp: BigInt(Math.floor(Date.now() / 1000)),
  };
  const signature = await signAttestation(agent, domainFor(addresses), attestation);
  await send(wallet(1), { address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "attest", args: [attestation, signature] });
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hypha-cli-"));
  node = await startHardhatNode();
  pc = makePublicClient(node.rpcUrl);
  addresses = await deployHypha({ walletClient: wallet(0), publicClient: pc, params: { orchestrators: [orchestrator.address] } });
  await fundAccounts({
    walletClient: wallet(0),
    publicClient: pc,
    addresses,
    accounts: [operator.address, deployer.address, devAccount(13).address],
    amount: parseEther("10000"),
  });
  await approveMeasurement({ walletClient: wallet(0), publicClient: pc, addresses, measurement: MEASUREMENT });
  writeAddresses(path.join(tmp, "deployments"), addresses);
  store = await startStoreServer({ dir: path.join(tmp, "store"), port: 0, host: "127.0.0.1" });
  const rootfs = path.join(tmp, "rootfs");
  fs.mkdirSync(path.join(rootfs, "bin"), { recursive: true });
  fs.writeFileSync(path.join(rootfs, "bin", "hello"), "#!/bin/sh\necho hello\n", { mode: 0o755 });
  const image = await importImage(rootfs, store.store);
  for (const name of ["ubuntu:latest", "ubuntu-latest"]) await store.catalog.set(name, image.root.toString());
  env = { PATH: process.env.PATH, HOME: tmp, HYPHA_RPC: node.rpcUrl, HYPHA_DEPLOYMENT: path.join(tmp, "deployments"), HYPHA_STORE: store.url };
  appFile = path.join(tmp, "app.yaml");
  fs.writeFileSync(appFile, fs.readFileSync(path.join(ROOT, "examples/deployment.yaml"), "utf8").replace("replicas: 3", "replicas: 1"));
}, 180_000);

afterAll(async () => {
  await store?.close();
  await node?.stop();
});

describe("hypha CLI against a real hardhat node", () => {
  let id: Hex;

  it("node register: stakes and registers with the agent key; a too-low stake changes nothing", async () => {
    const r = await hypha([
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
      "http://127.0.0.1:7801",
      "--agent",
      agent.address,
      "--measurement",
      MEASUREMENT,
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^node 1 registered/);
    const n = (await pc.readContract({ address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "getNode", args: [1] })) as {
      agent: Address;
      stake: bigint;
      cpuMillis: number;
      memoryMiB: number;
    };
    expect(n).toMatchObject({ agent: agent.address, stake: parseEther("200"), cpuMillis: 4000, memoryMiB: 8192 });

    const before = await chainState();
    const low = await hypha(["node", "register", "--dev-account", "5", "--stake", "1", "--cpu", "4", "--mem", "8Gi", "--endpoint", "http://127.0.0.1:7802"]);
    expect(low.code).toBe(1);
    expect(low.stderr).toMatch(/^error: registering the node: stake 1 HYPHA is below the minimum 100 HYPHA\n$/);
    const bad = await hypha(["node", "register", "--dev-account", "5", "--stake", "200", "--cpu", "lots", "--mem", "8Gi", "--endpoint", "http://x"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: --cpu: /);
    const unknown = await hypha(["node", "update", "99", "--dev-account", "5", "--price", "1"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown node 99/);
    expect(await chainState()).toEqual(before);
  });

  it("apply: publishes the spec blob, signs, escrows and submits; the contract agrees on the id", async () => {
    const hash = await hypha(["spec", "hash", "-f", appFile]);
    expect(hash.code).toBe(0);
    const specHash = hash.stdout.trim();
    const r = await hypha(["apply", "-f", appFile, "--budget", "5", "-o", "json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { id: Hex; transactionHash: Hex; specHash: Hex };
    id = out.id;
    expect(out.specHash).toBe(specHash);
    const { intent, transactionHash } = await readIntent(pc, addresses, id);
    expect(transactionHash).toBe(out.transactionHash);
    expect(intent.deployer).toBe(deployer.address);
    expect(intent.budget).toBe(parseEther("5"));
    expect(await pc.readContract({ address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "deploymentId", args: [intent] })).toBe(id);
    expect(computeDeploymentId(domainFor(addresses), intent)).toBe(id);
    const blob = await fetch(`${store.url}/blobs/${bytes32ToRoot(specHash, RAW_CODEC).toString()}`);
    expect(blob.status).toBe(200);
  });

  it("bad input: malformed manifest, unaffordable budget, bad flag — exit 1, named error, nothing sent", async () => {
    const before = await chainState();
    const badFile = path.join(tmp, "bad.yaml");
    fs.writeFileSync(badFile, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: -2\n");
    const bad = await hypha(["apply", "-f", badFile]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/spec\.replicas: must be at least 1/);
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const other = path.join(tmp, "other.yaml");
    fs.writeFileSync(other, fs.readFileSync(appFile, "utf8").replace("name: deterministic-app", "name: other-app"));
    const broke = await hypha(["apply", "-f", other, "--budget", "50000"]);
    expect(broke.code).toBe(1);
    expect(broke.stderr).toMatch(/^error: budget: 0x71bE63f3384f5fb98995898A86B02Fb2426c5788 holds \d+ token wei, needs 50000000000000000000000\n$/);
    const flag = await hypha(["apply", "-f", appFile, "--max-price", "cheap"]);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toMatch(/^error: --max-price: not a token amount/);
    expect(await chainState()).toEqual(before);
  });

  it("get, describe and audit PASS once the replica is placed and attested", async () => {
    await placeAndAttest(id, 0);
    const get = await hypha(["get", "deployments", "-o", "json"]);
    expect(get.code).toBe(0);
    const list = JSON.parse(get.stdout) as { total: number; deployments: Array<{ id: Hex; status: string; phase: string; name: string }> };
    expect(list.deployments.find((d) => d.id === id)).toMatchObject({ status: "Running", phase: "Running", name: "deterministic-app" });
    const nodes = await hypha(["get", "nodes", "-o", "wide"]);
    expect(nodes.code).toBe(0);
    expect(nodes.stdout).toContain(agent.address);

    const d = await hypha(["describe", "deployment", id]);
    expect(d.code).toBe(0);
    const { intent } = await readIntent(pc, addresses, id);
    expect(d.stdout).toContain(`SpecHash:     ${intent.specHash}`);
    expect(d.stdout).toContain(`ImageRoot:    ${intent.imageRoot}`);
    expect(d.stdout).toMatch(/Status:\s+Running/);
    expect(d.stdout).toMatch(/Name:\s+deterministic-app/);
    expect(d.stdout).toMatch(/Normal\s+Scheduled\s+block \d+\s+orchestrator\s+replica 0 placed on node 1 \(attempt 1\)/);
    expect(d.stdout).toMatch(/Normal\s+AttestedRunning\s+block \d+\s+node 1\s+replica 0 attempt 1 attested Running by agent 0x/);

    const audit = await hypha(["audit", id, "-f", appFile]);
    expect(audit.stdout).toMatch(/PASS\s+spec hash/);
    expect(audit.stdout).toMatch(/PASS\s+intent signature/);
    expect(audit.stdout).toMatch(/PASS\s+attestation replica 0 attempt 1 \(Running\)/);
    expect(audit.stdout).toMatch(/PASS\s+transitions/);
    expect(audit.stdout).toContain(`PASS: deployment ${id}`);
    expect(audit.code).toBe(0);

    const fromStore = await hypha(["audit", id, "-o", "json"]);
    expect(fromStore.code).toBe(0);
    const report = JSON.parse(fromStore.stdout) as { verdict: string; checks: Array<{ name: string; status: string; detail: string }> };
    expect(report.verdict).toBe("PASS");
    expect(report.checks.find((c) => c.name === "spec hash")).toMatchObject({ status: "PASS" });
    expect(report.checks.find((c) => c.name === "spec hash")!.detail).toContain("spec blob");
  });

  it("apply --wait prints a progress line per on-chain change until Running", async () => {
    const waitFile = path.join(tmp, "wait.yaml");
    fs.writeFileSync(waitFile, fs.readFileSync(appFile, "utf8").replace("name: deterministic-app", "name: wait-app"));
    const child = spawn(process.execPath, [path.join(ROOT, "bin/hypha.js"), "apply", "-f", waitFile, "--wait", "--timeout", "120"], {
      cwd: tmp,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    const idSeen = new Promise<Hex>((resolve) =>
      child.stdout.on("data", (d: Buffer) => {
        stdout += d;
        const m = /deployment (0x[0-9a-f]{64})/.exec(stdout);
        if (m) resolve(m[1] as Hex);
      }),
    );
    const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
    const waitId = await idSeen;
    await placeAndAttest(waitId, 0);
    expect({ code: await exited, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toMatch(/block \d+\s+replica 0 scheduled on node 1 \(attempt 1\)/);
    expect(stdout).toMatch(/deployment Requested -> Scheduled/);
    expect(stdout).toMatch(/replica 0 Scheduled -> Running \(node 1\)/);
    expect(stdout).toMatch(/deployment Scheduled -> Running/);
    expect(stdout).toContain(`deployment wait-app (${waitId}) is Running`);
  });

  it("audit FAILs for an altered manifest, naming both hashes", async () => {
    const altered = path.join(tmp, "altered.yaml");
    fs.writeFileSync(altered, fs.readFileSync(appFile, "utf8").replace("Deterministic deployment", "Something else"));
    const r = await hypha(["audit", id, "-f", altered]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+spec hash\s+on-chain specHash 0x[0-9a-f]{64}, .*altered\.yaml hashes to 0x[0-9a-f]{64}/);
    expect(r.stdout).toContain(`FAIL: deployment ${id}`);
    expect(r.stderr).toMatch(/^error: audit FAILED: 1 check\(s\) failed/);
  });

  it("signed ConfigMap: placeholders and tampering are refused; `hypha sign` output applies as is", async () => {
    const before = await chainState();
    const placeholder = await hypha(["apply", "-f", path.join(ROOT, "examples/smart-contract.yaml")]);
    expect(placeholder.code).toBe(1);
    const computed = (await hypha(["spec", "hash", "-f", path.join(ROOT, "examples/smart-contract.yaml")])).stdout.trim();
    expect(placeholder.stderr).toContain(`data.contract.smart_contract.workload_spec.verification_hash: the contract is not signed yet`);
    expect(placeholder.stderr).toContain(`its specHash is ${computed}: run \`hypha sign -f ${path.join(ROOT, "examples/smart-contract.yaml")}\``);

    const signedFile = path.join(tmp, "signed.yaml");
    const sign = await hypha(["sign", "-f", path.join(ROOT, "examples/smart-contract.yaml"), "-o", signedFile, "--budget", "1"]);
    expect(sign.code).toBe(0);
    const text = fs.readFileSync(signedFile, "utf8");
    const sig = /signature: "?(0x[0-9a-f]+)"?/.exec(text)![1];
    const forged = path.join(tmp, "forged.yaml");
    const other = await devAccount(12).signMessage({ message: "not the intent" });
    fs.writeFileSync(forged, text.replace(sig, other));
    const f = await hypha(["apply", "-f", forged]);
    expect(f.code).toBe(1);
    expect(f.stderr).toMatch(new RegExp(`signature: expected a signature by deployer ${deployer.address}, found one by 0x[0-9a-fA-F]{40}`));
    const wrongHash = path.join(tmp, "wronghash.yaml");
    fs.writeFileSync(wrongHash, text.replace(computed, `0x${"12".repeat(32)}`));
    const h = await hypha(["apply", "-f", wrongHash]);
    expect(h.code).toBe(1);
    expect(h.stderr).toContain(
      `verification_hash: does not match the workload: expected ${computed} (computed from workload_spec), found 0x${"12".repeat(32)}`,
    );
    expect(await chainState()).toEqual(before);

    const ok = await hypha(["apply", "-f", signedFile, "-o", "json"]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const sid = (JSON.parse(ok.stdout) as { id: Hex }).id;
    const { signature } = await readIntent(pc, addresses, sid);
    expect(signature).toBe(sig);
  });

  it("cancel: only the deployer may cancel a signed intent; once cancelled it can never be applied", async () => {
    const signedFile = path.join(tmp, "to-cancel.yaml");
    const sign = await hypha(["sign", "-f", path.join(ROOT, "examples/deployment.yaml"), "-o", signedFile, "--budget", "1", "--nonce", "77"]);
    expect(sign.code).toBe(0);
    const before = await chainState();
    const other = await hypha(["cancel", "-f", signedFile, "--dev-account", "12"]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/only its deployer 0x[0-9a-fA-F]{40} may cancel it; the key in use is 0x[0-9a-fA-F]{40}/);
    expect(await chainState()).toEqual(before);
    const unsigned = await hypha(["cancel", "-f", path.join(ROOT, "examples/deployment.yaml")]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toContain("not a signed intent");
    expect(await chainState()).toEqual(before);

    const ok = await hypha(["cancel", "-f", signedFile]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const id = /^cancelled (0x[0-9a-f]{64}) \(deterministic-app\)/.exec(ok.stdout)![1] as Hex;
    const d = await pc.readContract({ address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "getDeployment", args: [id] });
    expect(d.status).toBe(7); // Cancelled
    const apply = await hypha(["apply", "-f", signedFile]);
    expect(apply.code).toBe(1);
    expect(apply.stderr).toContain("was cancelled by its deployer and can never be submitted");
  });

  it("scale and delete the deployment; the audit still passes afterwards", async () => {
    const s = await hypha(["scale", "deployment", id, "--replicas", "2"]);
    expect(s.code).toBe(0);
    const view = (await pc.readContract({ address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "getDeployment", args: [id] })) as {
      replicas: number;
    };
    expect(view.replicas).toBe(2);
    const notMine = await hypha(["delete", "deployment", id, "--dev-account", "12"]);
    expect(notMine.code).toBe(1);
    expect(notMine.stderr).toMatch(/cannot be terminated by this sender/);
    const del = await hypha(["delete", "deployment", id]);
    expect(del.code).toBe(0);
    const after = (await pc.readContract({ address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "getDeployment", args: [id] })) as {
      status: number;
    };
    expect(after.status).toBe(5);
    const audit = await hypha(["audit", id, "-f", appFile, "-o", "json"]);
    expect(JSON.parse(audit.stdout).verdict).toBe("PASS");
    expect(audit.code).toBe(0);
  });

  it("account: the refund after delete is in the registry balance and can be withdrawn", async () => {
    const before = JSON.parse((await hypha(["account", "balance", "-o", "json"])).stdout) as { tokens: string; registryBalance: string };
    expect(BigInt(before.registryBalance)).toBeGreaterThan(0n);
    const w = await hypha(["account", "withdraw"]);
    expect(w.code).toBe(0);
    const after = JSON.parse((await hypha(["account", "balance", deployer.address, "-o", "json"])).stdout) as { tokens: string; registryBalance: string };
    expect(after.registryBalance).toBe("0");
    expect(BigInt(after.tokens)).toBe(BigInt(before.tokens) + BigInt(before.registryBalance));
    const again = await hypha(["account", "withdraw"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error: withdrawing: 0x71bE63f3384f5fb98995898A86B02Fb2426c5788 has nothing to withdraw\n$/);
  });

  it("keystore: import encrypts the key, and apply signs with it", async () => {
    const ks = path.join(tmp, "keys");
    const pkFile = path.join(tmp, "pk.txt");
    fs.writeFileSync(pkFile, devPrivateKey(13));
    const keyEnv = { HYPHA_PASSPHRASE: "correct horse", HYPHA_KEYSTORE_LIGHT: "1" };
    const imp = await hypha(["key", "import", "--keystore", ks, "--key-file", pkFile], keyEnv);
    expect(imp.code).toBe(0);
    fs.rmSync(pkFile);
    expect(imp.stdout).toContain(devAccount(13).address);
    const file = fs.readdirSync(ks)[0];
    expect(fs.readFileSync(path.join(ks, file), "utf8")).not.toContain(devPrivateKey(13).slice(2));
    const wrong = await hypha(["apply", "-f", appFile, "--keystore", ks], { ...keyEnv, HYPHA_PASSPHRASE: "wrong" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/passphrase: wrong passphrase/);
    const r = await hypha(["apply", "-f", appFile, "--keystore", ks, "-o", "json"], keyEnv);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const { intent } = await readIntent(pc, addresses, (JSON.parse(r.stdout) as { id: Hex }).id);
    expect(intent.deployer).toBe(devAccount(13).address);
  });

  it("admin: approve a measurement, grant and revoke the orchestrator role, unjail; others and bad input change nothing", async () => {
    const m = `0x${"6b".repeat(32)}` as Hex;
    const approved = () => pc.readContract({ address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "measurementApproved", args: [m] });
    const role = await pc.readContract({ address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "ORCHESTRATOR_ROLE" });
    const isOrchestrator = () =>
      pc.readContract({ address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "hasRole", args: [role, devAccount(13).address] });

    const before = { ...(await chainState()), admin: await pc.getTransactionCount({ address: devAccount(0).address }) };
    const notAdmin = await hypha(["admin", "approve-measurement", m, "--dev-account", "11"]);
    expect(notAdmin.code).toBe(1);
    expect(notAdmin.stderr).toMatch(/approving measurement 0x(6b){32}: 0x71bE63f3384f5fb98995898A86B02Fb2426c5788 lacks role 0x0{64}/);
    const badHex = await hypha(["admin", "approve-measurement", "0x1234", "--dev-account", "0"]);
    expect(badHex.code).toBe(1);
    expect(badHex.stderr).toMatch(/^error: measurement: must be 0x followed by 64 hex digits/);
    const unknownNode = await hypha(["admin", "unjail", "99", "--dev-account", "0"]);
    expect(unknownNode.code).toBe(1);
    expect(unknownNode.stderr).toMatch(/^error: unjailing node 99: unknown node 99/);
    const badAddress = await hypha(["admin", "grant-orchestrator", "nobody", "--dev-account", "0"]);
    expect(badAddress.code).toBe(1);
    expect(badAddress.stderr).toMatch(/^error: address: not an address/);
    expect({ ...(await chainState()), admin: await pc.getTransactionCount({ address: devAccount(0).address }) }).toEqual(before);
    expect(await approved()).toBe(false);

    expect((await hypha(["admin", "approve-measurement", m, "--dev-account", "0"])).stdout).toMatch(/^measurement 0x(6b){32} approved {2}tx 0x/);
    expect(await approved()).toBe(true);
    expect((await hypha(["admin", "approve-measurement", m, "--revoke", "--dev-account", "0"])).code).toBe(0);
    expect(await approved()).toBe(false);
    expect((await hypha(["admin", "grant-orchestrator", devAccount(13).address, "--dev-account", "0"])).stdout).toContain("is now an orchestrator");
    expect(await isOrchestrator()).toBe(true);
    expect((await hypha(["admin", "grant-orchestrator", devAccount(13).address, "--revoke", "--dev-account", "0"])).code).toBe(0);
    expect(await isOrchestrator()).toBe(false);
  });

  it("an unreachable chain exits 2 with a one-line reason", async () => {
    const r = await hypha(["get", "nodes", "--rpc", `http://127.0.0.1:${await freePort()}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: reading the chain id: cannot reach the chain at http:\/\/127\.0\.0\.1:\d+/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});
