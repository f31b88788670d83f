/**
 * The API a third party builds on, over real HTTP on the real in-process chain and a real store:
 * /openapi.json is a valid OpenAPI 3.1 document (checked by @seriousme/openapi-schema-validator)
 * whose response schemas the real answers satisfy; /docs renders it; POST /v1/prepare turns the
 * seed's manifests into what the spec part computes; an independent client (ethers v6, not the
 * SDK) signs from what /openapi.json and the token's eip712Domain() publish, with an ERC-2612
 * permit instead of an approve, and its intent is accepted; bad input names the field and changes
 * nothing; the deployment's SSE stream pushes its events as they happen.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Contract, JsonRpcProvider, Wallet, type TypedDataField } from "ethers";
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as schemas from "../../src/api/responseSchemas";
import { startApiServer, type ApiServer } from "../../src/api/server";
import { deploymentRegistryAbi, hyphaTokenAbi } from "../../src/chain/abi";
import { startStoreServer, type StoreServer } from "../../src/image/storeServer";
import { computeSpecHash, parseManifests } from "../../src/spec";
import { createApiClient, parseSseMessage, type StreamMessage } from "../../src/sdk";
import { inProcessChain, type InProcessChain } from "../helpers/chain";

const DEPLOYER = 14; // funded with tokens; no deposit, no allowance: the permit is what lets it deploy
const RELAYER = 0;
const EXAMPLES = path.join(__dirname, "..", "..", "examples");
const IMAGE_ROOT = `0x${"cd".repeat(32)}` as Hex;
const manifest = (f: string) => fs.readFileSync(path.join(EXAMPLES, f), "utf8");

let c: InProcessChain;
let base: string;
let store: StoreServer;
let api: ApiServer;
let tmp: string;

beforeAll(async () => {
  c = await inProcessChain();
  base = await c.snapshot();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hypha-devapi-"));
  store = await startStoreServer({ dir: path.join(tmp, "store") });
  api = await startApiServer({
    publicClient: c.publicClient,
    addresses: c.addresses,
    storeUrl: store.url,
    relayer: c.walletClients[RELAYER],
    streamPollMs: 50,
  });
});
afterAll(async () => {
  await api?.close();
  await store?.close();
  await c.revert(base);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function call(method: string, p: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(
    `${api.url}${p}`,
    body === undefined ? { method } : { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) },
  );
  return { status: res.status, json: await res.json() };
}

/** What a refused request must leave alone. */
async function world() {
  return {
    block: await c.publicClient.getBlockNumber(),
    relayerNonce: await c.publicClient.getTransactionCount({ address: c.accounts[RELAYER].address }),
    allowance: await c.publicClient.readContract({
      address: c.addresses.token,
      abi: hyphaTokenAbi,
      functionName: "allowance",
      args: [c.accounts[DEPLOYER].address, c.addresses.deploymentRegistry],
    }),
  };
}

/** ethers' signer over the in-process chain (EIP-1193 -> ethers' JSON-RPC provider). */
function ethersWallet(): Wallet {
  const key = c.accounts[DEPLOYER].getHdKey().privateKey!;
  const provider = new JsonRpcProvider("http://unused.invalid", c.addresses.chainId, { staticNetwork: true, batchMaxCount: 1 });
  provider._send = async (payload: any) => {
    const list = Array.isArray(payload) ? payload : [payload];
    return Promise.all(
      list.map(async (p: any) => ({ id: p.id, jsonrpc: "2.0", result: await c.provider.request({ method: p.method, params: p.params } as never) })),
    );
  };
  return new Wallet(`0x${Buffer.from(key).toString("hex")}`, provider);
}

describe("developer API", () => {
  it("publishes a valid OpenAPI 3.1 document and renders it at /docs", async () => {
    const doc = await call("GET", "/openapi.json");
    expect(doc.status).toBe(200);
    expect(doc.json.openapi).toBe("3.1.0");
    const result = await new Validator().validate(doc.json);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    for (const p of ["/v1/prepare", "/v1/intents", "/v1/deployments/{id}/stream", "/v1/eip712"]) expect(Object.keys(doc.json.paths)).toContain(p);
    // The request schema is the validator's own: the permit is in it.
    expect(doc.json.paths["/v1/intents"].post.requestBody.content["application/json"].schema.properties.permit).toBeDefined();
    const docs = await fetch(`${api.url}/docs`);
    expect(docs.headers.get("content-type")).toMatch(/text\/html/);
    const html = await docs.text();
    expect(html).toContain("/v1/prepare");
    expect(html).toContain("eth_signTypedData_v4");
  });

  it("prepares the seed's examples as the spec part computes them", async () => {
    for (const f of ["deployment.yaml", "job.yaml"]) {
      const r = await call("POST", "/v1/prepare", {
        manifest: manifest(f),
        deployer: c.accounts[DEPLOYER].address,
        imageRoot: IMAGE_ROOT,
        budget: "5000000000000000000",
      });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      schemas.prepareResponseSchema.parse(r.json);
      const [w] = parseManifests(manifest(f));
      expect(r.json.specHash).toBe(computeSpecHash(w.spec));
      expect(r.json.name).toBe(w.spec.name);
      expect(r.json.typedData.message.specHash).toBe(r.json.specHash);
      expect(r.json.typedData.types.EIP712Domain).toBeDefined();
      expect(r.json.permit.needed).toBe(true);
      expect(r.json.permit.typedData.message).toMatchObject({ owner: c.accounts[DEPLOYER].address, value: "5000000000000000000" });
    }
  });

  it("refuses bad prepare input, naming the field", async () => {
    const good = { manifest: manifest("deployment.yaml"), deployer: c.accounts[DEPLOYER].address, imageRoot: IMAGE_ROOT };
    const cases: [string, unknown, string, RegExp][] = [
      ["no manifest", { ...good, manifest: undefined }, "manifest", /required/],
      ["bad deployer", { ...good, deployer: "0x12" }, "deployer", /not an address/],
      ["bad budget", { ...good, budget: "ten" }, "budget", /decimal string of wei/],
      ["zero budget", { ...good, budget: "0" }, "budget", /must be from 1/],
      ["bad manifest", { ...good, manifest: "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: []}\n" }, "manifest", /containers/],
      ["no such workload", { ...good, workload: 2 }, "workload", /holds 1 workload/],
      ["bad image root", { ...good, imageRoot: "0x12" }, "imageRoot", /64 hex/],
      ["image not in the store", { ...good, imageRoot: undefined }, "imageRoot", /not in the store's catalog/],
      ["deadline passed", { ...good, deadline: "1" }, "deadline", /not after the chain's time/],
    ];
    for (const [what, body, field, message] of cases) {
      const r = await call("POST", "/v1/prepare", body);
      expect(r.status, what).toBe(400);
      expect(r.json.error.field, what).toBe(field);
      expect(r.json.error.message, what).toMatch(message);
      schemas.errorSchema.parse(r.json);
    }
  });

  it("accepts an intent that ethers signed from /openapi.json, with a permit instead of an approve, and streams it", async () => {
    const doc = (await call("GET", "/openapi.json")).json;
    const published = doc["x-hypha-eip712"];
    const wallet = ethersWallet();
    // The token's permit domain from its own EIP-5267 eip712Domain(), read by ethers.
    const token = new Contract(c.addresses.token, hyphaTokenAbi as never, wallet);
    const [, tName, tVersion, tChain, tContract] = await token.eip712Domain();
    const permitDomain = { name: tName, version: tVersion, chainId: tChain, verifyingContract: tContract };
    // The registry's own EIP-5267 eip712Domain() says what /openapi.json publishes.
    const [, name, version, chainId, verifyingContract] = await new Contract(
      c.addresses.deploymentRegistry,
      deploymentRegistryAbi as never,
      wallet,
    ).eip712Domain();
    expect({ name, version, chainId: Number(chainId), verifyingContract }).toEqual(published.domain);
    // The workload's facts (canonical spec, its hash, resources) from POST /v1/prepare; the types
    // and the domain to sign with from /openapi.json and eip712Domain(), not from the SDK.
    const prepared = (await call("POST", "/v1/prepare", { manifest: manifest("deployment.yaml"), deployer: wallet.address, imageRoot: IMAGE_ROOT })).json;
    const spec = prepared.canonicalSpec as string;
    expect(prepared.specHash).toBe(computeSpecHash(parseManifests(manifest("deployment.yaml"))[0].spec));
    const head = await c.publicClient.getBlock();
    const intent = {
      deployer: wallet.address,
      specHash: prepared.specHash,
      imageRoot: IMAGE_ROOT,
      replicas: 3,
      ...prepared.resources,
      maxPricePerSecond: "1000000000000000",
      budget: "4000000000000000000",
      nonce: "77",
      deadline: String(head.timestamp + 3600n),
      kind: 0,
      quorum: 0,
      maxRetries: 3,
      maxRunSeconds: 0, // a service: no cap on one placement's paid run time
    };
    const types = published.types as Record<string, TypedDataField[]>;
    const signature = await wallet.signTypedData(published.domain, types, intent);
    const permitNonce = await token.nonces(wallet.address);
    const permit = { owner: wallet.address, spender: c.addresses.deploymentRegistry, value: intent.budget, nonce: permitNonce, deadline: intent.deadline };
    const permitTypes = {
      Permit: [
        { name: "owner", type: "address" },
        { name: "spender", type: "address" },
        { name: "value", type: "uint256" },
        { name: "nonce", type: "uint256" },
        { name: "deadline", type: "uint256" },
      ],
    };
    const permitSig = await wallet.signTypedData(permitDomain, permitTypes, permit);

    // A permit by someone else, or for another value, is refused before anything is sent.
    const before = await world();
    const other = await new Wallet(`0x${Buffer.from(c.accounts[15].getHdKey().privateKey!).toString("hex")}`).signTypedData(permitDomain, permitTypes, permit);
    const bad = await call("POST", "/v1/intents", { intent, signature, spec, permit: { value: intent.budget, deadline: intent.deadline, signature: other } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.field).toBe("permit.signature");
    expect(bad.json.error.message).toMatch(/not a permit by the deployer/);
    const low = await call("POST", "/v1/intents", { intent, signature, spec, permit: { value: "1", deadline: intent.deadline, signature: permitSig } });
    expect(low.json.error).toMatchObject({ field: "permit.value" });
    // Without the permit the contract refuses (no allowance, no deposit): nothing sent.
    const none = await call("POST", "/v1/intents", { intent, signature, spec });
    expect(none.status).toBe(422);
    expect(none.json.error.contractError).toBe("ERC20InsufficientAllowance");
    expect(await world()).toEqual(before);

    const ok = await call("POST", "/v1/intents", {
      intent,
      signature,
      spec,
      permit: { value: intent.budget, deadline: intent.deadline, signature: permitSig },
    });
    expect(ok.status, JSON.stringify(ok.json)).toBe(201);
    schemas.relayResultSchema.parse(ok.json);
    expect(ok.json.permitTx).toMatch(/^0x[0-9a-f]{64}$/);
    const id = ok.json.id as Hex;
    const d = await c.publicClient.readContract({
      address: c.addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      functionName: "getDeployment",
      args: [id],
    });
    expect(d.status).toBe(1); // Requested
    expect(d.escrow).toBe(4_000_000_000_000_000_000n);
    // The deployer sent no transaction at all (no approve): its nonce is still 0.
    expect(await c.publicClient.getTransactionCount({ address: wallet.address as Hex })).toBe(0);

    // Every read answer matches its published schema.
    schemas.healthSchema.parse((await call("GET", "/healthz")).json);
    schemas.deploymentSchema.parse((await call("GET", `/v1/deployments/${id}`)).json);
    schemas.eventsSchema.parse((await call("GET", `/v1/deployments/${id}/events`)).json);
    schemas.auditSchema.parse((await call("GET", `/v1/deployments/${id}/audit`)).json);
    schemas.nodesSchema.parse((await call("GET", "/v1/nodes")).json);
    schemas.eip712Schema.parse((await call("GET", "/v1/eip712")).json);
    const spec2 = (await call("GET", `/v1/deployments/${id}/spec`)).json;
    schemas.specSchema.parse(spec2);
    expect(spec2.spec.name).toBe("deterministic-app");
    const notPlaced = await call("GET", `/v1/deployments/${id}/replicas/0/logs`);
    expect(notPlaced).toMatchObject({ status: 404, json: { error: { field: "index" } } });
    expect((await call("GET", `/v1/deployments/${id}/replicas/x/logs`)).json.error.field).toBe("index");
    expect((await call("GET", `/v1/deployments/${id}/replicas/0/logs?stream=both`)).json.error.field).toBe("stream");
    const list = (await call("GET", "/v1/deployments?limit=1&offset=0")).json;
    schemas.deploymentListSchema.parse(list);
    expect(list.deployments[0].id).toBe(id);
    expect((await call("GET", `/v1/deployments?limit=1&offset=${list.total}`)).json.deployments).toEqual([]);
    expect((await call("GET", "/v1/deployments?offset=-1")).json.error.field).toBe("offset");

    // The stream: the state now, then the termination pushed as it happens.
    const client = createApiClient(api.url);
    const seen: StreamMessage[] = [];
    const abort = new AbortController();
    const following = client.follow(id, (m) => seen.push(m), abort.signal);
    const waitFor = async (pred: () => boolean, what: string) => {
      for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 25));
      if (!pred()) throw new Error(`stream: no ${what}; saw ${JSON.stringify(seen.map((m) => [m.event, m.data.eventName ?? m.data.status]))}`);
    };
    await waitFor(() => seen.some((m) => m.event === "deployment" && m.data.status === "Requested"), "Requested state");
    expect(seen.find((m) => m.event === "chain-event")?.data.eventName).toBe("IntentSubmitted");
    const onChainIntent = {
      ...intent,
      deployer: wallet.address as Hex,
      specHash: intent.specHash,
      imageRoot: IMAGE_ROOT,
      maxPricePerSecond: BigInt(intent.maxPricePerSecond),
      budget: BigInt(intent.budget),
      nonce: 77n,
      deadline: BigInt(intent.deadline),
    };
    const registry = new Contract(c.addresses.deploymentRegistry, deploymentRegistryAbi as never, wallet);
    await (await registry.terminate(onChainIntent)).wait();
    await waitFor(() => seen.some((m) => m.event === "deployment" && m.data.status === "Terminated"), "Terminated state");
    // The stream's deployment is GET's resource, field for field (deploymentResource.ts), before and after.
    const streamed = seen.filter((m) => m.event === "deployment");
    expect(streamed[0].data).toMatchObject({ id, phase: "Requested", status: "Requested", name: "deterministic-app" });
    expect(streamed[0].data.replicaSet[0]).toMatchObject({ index: 0, status: "Pending", nodeId: null });
    schemas.deploymentSchema.parse(streamed[0].data);
    expect(streamed.at(-1)!.data).toEqual((await call("GET", `/v1/deployments/${id}`)).json);
    expect(streamed.at(-1)!.data).toMatchObject({ phase: "Deleted", status: "Terminated", reason: "DeletedByDeployer" });
    const names = seen.filter((m) => m.event === "chain-event").map((m) => m.data.eventName);
    // the move to Terminated is told by the Terminated event alone (no DeploymentStatusChanged beside it)
    expect(names).toEqual(expect.arrayContaining(["IntentSubmitted", "Terminated"]));
    // ids are block:logIndex, increasing, so a reconnect resumes after Last-Event-ID
    const ids = seen.filter((m) => m.id).map((m) => m.id!.split(":").map(Number));
    for (let i = 1; i < ids.length; i++) expect(ids[i][0] > ids[i - 1][0] || (ids[i][0] === ids[i - 1][0] && ids[i][1] > ids[i - 1][1])).toBe(true);
    abort.abort();
    await following;

    // A reconnect with Last-Event-ID gets only what came after it.
    const resumed: StreamMessage[] = [];
    const again = new AbortController();
    const res = await fetch(client.streamUrl(id), { headers: { "last-event-id": seen.find((m) => m.event === "chain-event")!.id! }, signal: again.signal });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    while (!resumed.some((m) => m.event === "deployment")) {
      buffer += (await reader.read()).value;
      for (let cut; (cut = buffer.indexOf("\n\n")) >= 0; buffer = buffer.slice(cut + 2)) {
        const m = parseSseMessage(buffer.slice(0, cut));
        if (m) resumed.push(m);
      }
    }
    again.abort();
    const resumedNames = resumed.filter((m) => m.event === "chain-event").map((m) => m.data.eventName);
    expect(resumedNames).not.toContain("IntentSubmitted");
    expect(resumedNames.length).toBe(names.length - 1);
    // POST /v1/specs: only a canonical workload spec is stored.
    expect(await call("POST", "/v1/specs", { spec: spec + " " })).toMatchObject({ status: 400, json: { error: { field: "spec" } } });
    expect(await call("POST", "/v1/specs", {})).toMatchObject({ status: 400, json: { error: { field: "spec" } } });
    expect(await call("POST", "/v1/specs", { spec })).toMatchObject({ status: 201, json: { specHash: prepared.specHash } });
    const unknown = await fetch(`${api.url}/v1/deployments/0x${"00".repeat(32)}/stream`);
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.field).toBe("id");
  });
});
