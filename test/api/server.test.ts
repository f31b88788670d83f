/**
 * The REST API over real HTTP, on the real in-process Hardhat chain and a real store server:
 * relaying a wallet-signed intent (accepted by the contract), every bad input refused with its
 * field named and nothing changed (no transaction, no blob), reads of deployments, nodes and an
 * audit, metrics, and the dashboard page.
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApiServer, type ApiServer } from "../../src/api/server";
import { deploymentRegistryAbi } from "../../src/chain/abi";
import type { DeploymentIntent } from "../../src/chain/eip712";
import { computeDeploymentId, domainFor } from "../../src/chain/signing";
import { bytes32ToRoot, RAW_CODEC } from "../../src/image/cid";
import { startStoreServer, type StoreServer } from "../../src/image/storeServer";
import { canonicalSpecJson, computeSpecHash, intentWorkloadFields, parseManifests } from "../../src/spec";
import { inProcessChain, type InProcessChain } from "../helpers/chain";
import { approve, approveMeasurementOnChain, makeIntent, registerNode, signIntent } from "../contracts/fixtures";

const DEPLOYER = 11;
const POOR = 13; // funded, but has neither a deposit nor an allowance for the registry
const RELAYER = 0;

let c: InProcessChain;
let base: string;
let store: StoreServer;
let api: ApiServer;
let readOnly: ApiServer;
let restricted: ApiServer;
let tmp: string;
let nonce = 1000n;

const SPEC = parseManifests(`apiVersion: v1
kind: Pod
metadata:
  name: api-test
spec:
  containers:
  - name: c
    image: ubuntu:latest
    command: ["sleep", "60"]
`)[0].spec;
const specJson = canonicalSpecJson(SPEC);

beforeAll(async () => {
  c = await inProcessChain();
  base = await c.snapshot();
  await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
  await registerNode(c, 0);
  await approveMeasurementOnChain(c);
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "hypha-api-"));
  store = await startStoreServer({ dir: path.join(tmp, "store") });
  api = await startApiServer({ publicClient: c.publicClient, addresses: c.addresses, storeUrl: store.url, relayer: c.walletClients[RELAYER] });
  readOnly = await startApiServer({ publicClient: c.publicClient, addresses: c.addresses, storeUrl: store.url });
  restricted = await startApiServer({
    publicClient: c.publicClient,
    addresses: c.addresses,
    storeUrl: store.url,
    relayer: c.walletClients[RELAYER],
    relayFor: [c.accounts[12].address],
    relayPerMinute: 2,
  });
});
afterAll(async () => {
  await api?.close();
  await readOnly?.close();
  await restricted?.close();
  await store?.close();
  await c.revert(base);
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

/** A valid intent for the API test's spec (the contract fixtures' intent, a fresh nonce each). */
const intentFor = (deployer: number, over: Partial<DeploymentIntent> = {}): DeploymentIntent =>
  makeIntent(c, { deployer: c.accounts[deployer].address, specHash: computeSpecHash(SPEC), nonce: ++nonce, ...specFields, ...over });
/** The intent fields the spec decides (the API refuses an intent that contradicts its spec). */
const { replicas, cpuMillis, memoryMiB, diskMiB } = intentWorkloadFields(SPEC);
const specFields = { replicas, cpuMillis, memoryMiB, diskMiB };
const sign = (signer: number, intent: DeploymentIntent) => signIntent(c, intent, signer);
/** The intent as a wallet app would send it: JSON, amounts as decimal strings. */
const wire = (intent: DeploymentIntent) => JSON.parse(JSON.stringify(intent, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));

async function post(body: unknown, server = api): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}/v1/intents`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}
async function get(p: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${api.url}${p}`);
  return { status: res.status, json: await res.json() };
}
/** What a refused request must leave alone: the relayer's nonce, the head, the store's blob for the spec. */
async function world(specHash: Hex = computeSpecHash(SPEC)) {
  const blob = await fetch(`${store.url}/blobs/${bytes32ToRoot(specHash, RAW_CODEC)}`);
  return {
    relayerNonce: await c.publicClient.getTransactionCount({ address: c.accounts[RELAYER].address }),
    block: await c.publicClient.getBlockNumber(),
    specBlob: blob.status,
  };
}

describe("REST API", () => {
  it("refuses bad submissions, naming the field, and changes nothing", async () => {
    const good = intentFor(DEPLOYER);
    const sig = await sign(DEPLOYER, good);
    const before = await world();
    expect(before.specBlob).toBe(404);
    const cases: [string, unknown, string, RegExp][] = [
      ["no intent", { signature: sig, spec: specJson }, "intent", /required/],
      ["bad deployer", { intent: { ...wire(good), deployer: "0x12" }, signature: sig, spec: specJson }, "intent.deployer", /not an address/],
      ["zero replicas", { intent: { ...wire(good), replicas: 0 }, signature: sig, spec: specJson }, "intent.replicas", /from 1/],
      ["budget not a number", { intent: { ...wire(good), budget: "lots" }, signature: sig, spec: specJson }, "intent.budget", /decimal/],
      ["quorum on a service", { intent: { ...wire(good), quorum: 1 }, signature: sig, spec: specJson }, "intent.quorum", /service has no quorum/],
      ["malformed signature", { intent: wire(good), signature: "0x1234", spec: specJson }, "signature", /128 .* or 130 hex/],
      [
        "signed by someone else",
        { intent: wire(good), signature: await sign(12, good), spec: specJson },
        "signature",
        /not a signature of this intent by the deployer/,
      ],
      [
        "signature of another intent",
        { intent: { ...wire(good), budget: String(good.budget + 1n) }, signature: sig, spec: specJson },
        "signature",
        /not a signature/,
      ],
      [
        "intent that contradicts its spec",
        { intent: { ...wire(good), cpuMillis: good.cpuMillis + 1 }, signature: sig, spec: specJson },
        "intent.cpuMillis",
        /but the spec says/,
      ],
      [
        "spec that is not a workload",
        { intent: { ...wire(good), specHash: `0x${createHash("sha256").update("{}").digest("hex")}` }, signature: sig, spec: "{}" },
        "spec",
        /not a valid canonical workload spec/,
      ],
      [
        "spec that is not the specHash's",
        { intent: wire(good), signature: sig, spec: specJson + " " },
        "spec",
        /its sha256 is 0x[0-9a-f]{64}, the intent's specHash is/,
      ],
      ["no spec, none in the store", { intent: wire(good), signature: sig }, "spec", /has no spec blob/],
      ["not JSON", "{intent:", "body", /not valid JSON/],
    ];
    for (const [what, body, field, message] of cases) {
      const r = await post(body);
      expect(r.status, what).toBe(400);
      expect(r.json.error.field, what).toBe(field);
      expect(r.json.error.message, what).toMatch(message);
    }
    const expired = intentFor(DEPLOYER, { deadline: 1n });
    const e = await post({ intent: wire(expired), signature: await sign(DEPLOYER, expired), spec: specJson });
    expect(e).toMatchObject({ status: 400, json: { error: { field: "intent.deadline" } } });
    expect(e.json.error.message).toMatch(/expired/);
    // The contract refuses it (no deposit, no allowance): 422 with the decoded error, and the spec is not published.
    const poor = intentFor(POOR);
    const p = await post({ intent: wire(poor), signature: await sign(POOR, poor), spec: specJson });
    expect(p.status).toBe(422);
    expect(p.json.error.message).toMatch(/allowance for 0x[0-9a-fA-F]{40} is 0 HYPHA, needs 10 HYPHA/);
    expect(p.json.error.contractError).toBe("ERC20InsufficientAllowance");
    expect(await world()).toEqual(before);
  });

  it("relays a wallet-signed intent (publishing its spec), once", async () => {
    const intent = intentFor(DEPLOYER);
    const signature = await sign(DEPLOYER, intent);
    const r = await post({ intent: wire(intent), signature, spec: specJson });
    expect(r.status).toBe(201);
    const id = computeDeploymentId(domainFor(c.addresses), intent);
    expect(r.json.id).toBe(id);
    expect(r.json.specPublished).toBe(true);
    const d = await c.publicClient.readContract({
      address: c.addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      functionName: "getDeployment",
      args: [id],
    });
    expect(d.status).toBe(1); // Requested
    const receipt = await c.publicClient.getTransactionReceipt({ hash: r.json.transactionHash });
    expect(receipt.from.toLowerCase()).toBe(c.accounts[RELAYER].address.toLowerCase());
    const blob = await fetch(`${store.url}/blobs/${bytes32ToRoot(intent.specHash, RAW_CODEC)}`);
    expect(await blob.text()).toBe(specJson);

    const again = await post({ intent: wire(intent), signature, spec: specJson });
    expect(again.status).toBe(409);
    expect(again.json.error.message).toMatch(/submitted already/);
    // A second intent for the same spec needs no spec now: the store has it.
    const second = intentFor(DEPLOYER);
    expect((await post({ intent: wire(second), signature: await sign(DEPLOYER, second) })).json.specPublished).toBe(false);

    // Concurrent submissions go out one after another from the one relayer account (no nonce clash).
    const many = await Promise.all(
      [0, 1, 2].map(async () => {
        const i = intentFor(DEPLOYER);
        return post({ intent: wire(i), signature: await sign(DEPLOYER, i) });
      }),
    );
    expect(many.map((m) => m.status)).toEqual([201, 201, 201]);
    expect(new Set(many.map((m) => m.json.transactionHash)).size).toBe(3);

    // Reads.
    const list = await get("/v1/deployments");
    expect(list.status).toBe(200);
    expect(list.json.deployments.find((x: { id: string }) => x.id === id)).toMatchObject({
      status: "Requested",
      phase: "Requested",
      kind: "service",
      replicas: { desired: 1, placed: 0, running: 0 },
      deployer: c.accounts[DEPLOYER].address,
    });
    expect((await get(`/v1/deployments?deployer=${c.accounts[12].address}`)).json.deployments).toEqual([]);
    expect(await get("/v1/deployments?deployer=nobody")).toMatchObject({ status: 400, json: { error: { field: "deployer" } } });
    expect(await get("/v1/deployments?limit=0")).toMatchObject({ status: 400, json: { error: { field: "limit" } } });
    const one = await get(`/v1/deployments/${id}`);
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({
      id,
      status: "Requested",
      phase: "Requested",
      signature,
      intent: { budget: intent.budget.toString(), specHash: intent.specHash },
      replicaSet: [{ index: 0, status: "Pending", nodeId: null }],
    });
    expect(await get("/v1/deployments/0x1234")).toMatchObject({ status: 400, json: { error: { field: "id" } } });
    expect((await get(`/v1/deployments/0x${"ab".repeat(32)}`)).status).toBe(404);
    expect((await get(`/v1/deployments/0x${"ab".repeat(32)}/events`)).status).toBe(404);
    expect((await get(`/v1/deployments/0x${"ab".repeat(32)}/audit`)).status).toBe(404);
    const events = await get(`/v1/deployments/${id}/events`);
    expect(events.json.events.map((e: { eventName: string }) => e.eventName)).toEqual(["IntentSubmitted"]);
    const audit = await get(`/v1/deployments/${id}/audit`);
    expect(audit.status).toBe(200);
    expect(audit.json.verdict).toBe("PASS");
    expect(audit.json.checks.find((x: { name: string }) => x.name === "spec hash").detail).toMatch(/re-parsed and re-canonicalized/);
  });

  it("nodes, health, metrics, the dashboard, and a read-only API", async () => {
    const nodes = await get("/v1/nodes");
    expect(nodes.json.nodes).toHaveLength(1);
    expect(nodes.json.nodes[0]).toMatchObject({ id: 1, operator: c.accounts[5].address, state: "Active", liveness: { reachable: false } });
    expect((await get("/v1/nodes/1")).json.id).toBe(1);
    // last seen on-chain: /v1/nodes and /v1/nodes/1 read the same attestations
    expect((await get("/v1/nodes/1")).json.liveness.lastAttestation).toBe(nodes.json.nodes[0].liveness.lastAttestation);
    expect((await get("/v1/nodes/99")).status).toBe(404);
    expect(await get("/v1/nodes/abc")).toMatchObject({ status: 400, json: { error: { field: "id" } } });
    expect((await get("/nope")).status).toBe(404);
    expect((await get("/healthz")).json).toMatchObject({
      ok: true,
      chainId: 31337,
      relayer: c.accounts[RELAYER].address,
      token: c.addresses.token,
      store: store.url,
    });
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toMatch(/hypha_api_intents_total\{outcome="submitted"\} 5/);
    expect(metrics).toMatch(/hypha_api_requests_total\{route="\/v1\/intents",method="POST",status="400"\} \d+/);
    expect(metrics).not.toMatch(/0x[0-9a-f]{64}/); // ids never become label values
    const page = await (await fetch(`${api.url}/dashboard`)).text();
    expect(page).toContain("<title>Hypha</title>");
    const r = await post({}, readOnly);
    expect(r.status).toBe(503);
    expect(r.json.error.message).toMatch(/no relayer key/);
    // A relayer limited to some deployers refuses the others' intents before anything else.
    const before = await world();
    const other = intentFor(DEPLOYER);
    const refused = await post({ intent: wire(other), signature: await sign(DEPLOYER, other), spec: specJson }, restricted);
    expect(refused).toMatchObject({ status: 403, json: { error: { field: "intent.deployer" } } });
    expect(refused.json.error.message).toContain(c.accounts[12].address);
    expect(await world()).toEqual(before);
    // 2 a minute from one client: the third is refused at once, with when to retry
    expect((await post({}, restricted)).status).toBe(400);
    const limited = await fetch(`${restricted.url}/v1/intents`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await limited.json()) as { error: { message: string } }).error.message).toMatch(/at most 2 a minute/);
    expect(await world()).toEqual(before);
  });
});
