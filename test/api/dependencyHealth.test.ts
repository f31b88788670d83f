/**
 * The API under a stopped store: the real `hypha store serve` runs as a child process and is
 * stopped with SIGSTOP (its port stays open, nothing answers). The API's /healthz turns 503 naming
 * the store, and an intent sent meanwhile is refused at once with 503 and Retry-After instead of
 * hanging; after SIGCONT the same intent is relayed once (201; again: 409). Real in-process chain.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiHealth } from "../../src/api/dependencyHealth";
import { startApiServer, type ApiServer } from "../../src/api/server";
import { deploymentRegistryAbi } from "../../src/chain/abi";
import { computeDeploymentId, domainFor } from "../../src/chain/signing";
import { canonicalSpecJson, computeSpecHash, intentWorkloadFields, parseManifests } from "../../src/spec";
import { inProcessChain, type InProcessChain } from "../helpers/chain";
import { approve, approveMeasurementOnChain, makeIntent, registerNode, signIntent } from "../contracts/fixtures";

const ROOT = path.join(__dirname, "..", "..");
const DEPLOYER = 11;
let c: InProcessChain;
let base: string;
let tmp: string;
let storeProc: ChildProcess;
let storeUrl: string;
let api: ApiServer;
let stopped = false;

const SPEC = parseManifests(`apiVersion: v1
kind: Pod
metadata:
  name: health-test
spec:
  containers:
  - name: c
    image: ubuntu:latest
    command: ["sleep", "60"]
`)[0].spec;

beforeAll(async () => {
  c = await inProcessChain();
  base = await c.snapshot();
  await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
  await registerNode(c, 0);
  await approveMeasurementOnChain(c);
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "hypha-api-health-"));
  storeProc = spawn(process.execPath, [path.join(ROOT, "bin/hypha.js"), "store", "serve", "--dir", path.join(tmp, "store"), "--port", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  storeUrl = await new Promise<string>((resolve, reject) => {
    let out = "";
    storeProc.stdout!.on("data", (d: Buffer) => {
      out += d;
      const m = /"url":"([^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    });
    storeProc.once("exit", (code) => reject(new Error(`store exited (${code})`)));
  });
  api = await startApiServer({
    publicClient: c.publicClient,
    addresses: c.addresses,
    storeUrl,
    relayer: c.walletClients[0],
    healthIntervalMs: 200,
    dependencyTimeoutMs: 500,
  });
}, 120_000);

afterAll(async () => {
  if (stopped) process.kill(storeProc.pid!, "SIGCONT");
  await api?.close();
  storeProc?.kill("SIGTERM");
  await c.revert(base);
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

async function poll(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("apiHealth", () => {
  const urls = { rpcUrl: "http://rpc", storeUrl: "http://store" };
  it("is ok when both answered lately, and names each one down with its error and age", () => {
    expect(apiHealth({ chain: { ok: true, lastOkAt: 9000 }, store: { ok: true, lastOkAt: 9000 } }, 10_000, 5000, urls)).toEqual({ ok: true });
    expect(apiHealth({ chain: { ok: true, lastOkAt: 9000 }, store: { ok: false, lastOkAt: 2000, error: "no answer in time" } }, 10_000, 5000, urls)).toEqual({
      ok: false,
      down: ["store"],
      reason: "store http://store is not answering (no answer in time; last answered 8 s ago)",
    });
    expect(apiHealth({ chain: { ok: true, lastOkAt: 1000 }, store: { ok: true, lastOkAt: 9000 } }, 10_000, 5000, urls)).toMatchObject({
      ok: false,
      down: ["chain"],
    });
  });
});

describe("the API with its store stopped", () => {
  it("/healthz 503 naming the store, an intent refused at once with 503; relayed once the store is back", async () => {
    const health = await fetch(`${api.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, chainId: 31337 });

    const { replicas, cpuMillis, memoryMiB, diskMiB } = intentWorkloadFields(SPEC); // the API refuses an intent that contradicts its spec
    const intent = makeIntent(c, {
      deployer: c.accounts[DEPLOYER].address,
      specHash: computeSpecHash(SPEC),
      nonce: 77n,
      replicas,
      cpuMillis,
      memoryMiB,
      diskMiB,
    });
    const body = JSON.stringify({
      intent: JSON.parse(JSON.stringify(intent, (_k, v) => (typeof v === "bigint" ? v.toString() : v))),
      signature: await signIntent(c, intent, DEPLOYER),
      spec: canonicalSpecJson(SPEC),
    });
    const postIntent = () => fetch(`${api.url}/v1/intents`, { method: "POST", headers: { "content-type": "application/json" }, body });

    process.kill(storeProc.pid!, "SIGSTOP");
    stopped = true;
    let res: Response | undefined;
    await poll("/healthz 503", async () => (res = await fetch(`${api.url}/healthz`)).status === 503);
    const h = (await res!.json()) as { ok: boolean; reason: string; down: string[] };
    expect(h).toMatchObject({ ok: false, down: ["store"] });
    expect(h.reason).toContain(`store ${storeUrl} is not answering`);

    const t = Date.now();
    const refused = await postIntent();
    const ms = Date.now() - t;
    console.log(`store SIGSTOP: POST /v1/intents answered ${refused.status} in ${ms} ms`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/^cannot relay intents now: store .* is not answering/);
    expect(ms).toBeLessThan(3000); // not held until a store timeout (5 s) or the store's return
    const id = computeDeploymentId(domainFor(c.addresses), intent);
    const onChain = async () =>
      (
        (await c.publicClient.readContract({
          address: c.addresses.deploymentRegistry,
          abi: deploymentRegistryAbi,
          functionName: "getDeployment",
          args: [id],
        })) as { status: number }
      ).status;
    expect(await onChain()).toBe(0); // nothing sent

    process.kill(storeProc.pid!, "SIGCONT");
    stopped = false;
    await poll("/healthz 200", async () => (await fetch(`${api.url}/healthz`)).status === 200);
    const ok = await postIntent();
    expect({ status: ok.status, body: ok.status === 201 ? "" : await ok.text() }).toEqual({ status: 201, body: "" });
    expect((await postIntent()).status).toBe(409); // once
    expect(await onChain()).toBe(1); // Requested
  }, 60_000);
});
