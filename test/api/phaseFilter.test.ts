/**
 * GET /v1/deployments?phase=… over real HTTP, on the real in-process chain: the filter spans every
 * page (total counts all matches, offset/limit page through them newest first), a bad phase is
 * refused naming the field, and ended phases are remembered only once their settlement is deeper
 * than a shallow reorg (and, once remembered, are not read from the chain again).
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readDeploymentResources, specNameLookup } from "../../src/api/deploymentResource";
import { deploymentsInPhase, phaseMemory, SETTLED_DEPTH } from "../../src/api/phaseFilter";
import { startApiServer, type ApiServer } from "../../src/api/server";
import { listDeployments } from "../../src/chain/deployments";
import { startStoreServer, type StoreServer } from "../../src/image/storeServer";
import { MemoryKv } from "../../src/watcher/store/memoryKv";
import { inProcessChain, type InProcessChain } from "../helpers/chain";
import { approve, DEPLOYER, dr, makeIntent, send, submit } from "../contracts/fixtures";

let c: InProcessChain;
let store: StoreServer;
let api: ApiServer;
let tmp: string;
const ids: Hex[] = [];
const intents: ReturnType<typeof makeIntent>[] = [];

beforeAll(async () => {
  c = await inProcessChain();
  await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
  for (let i = 0; i < 7; i++) {
    intents.push(makeIntent(c, { nonce: BigInt(100 + i) }));
    ids.push((await submit(c, intents[i]!)).id);
  }
  // 0, 2 and 4 deleted long ago; 5 deleted just now (within a shallow reorg of the head)
  for (const i of [0, 2, 4]) await send(c, DEPLOYER, { ...dr(c), functionName: "terminate", args: [intents[i]!] });
  for (let b = 0n; b < SETTLED_DEPTH + 1n; b++) await c.mine();
  await send(c, DEPLOYER, { ...dr(c), functionName: "terminate", args: [intents[5]!] });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "hypha-phase-"));
  store = await startStoreServer({ dir: path.join(tmp, "store") });
  api = await startApiServer({ publicClient: c.publicClient, addresses: c.addresses, storeUrl: store.url });
}, 120_000);

afterAll(async () => {
  await api?.close();
  await store?.close();
  await fs.rm(tmp, { recursive: true, force: true });
});

async function get(query: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${api.url}/v1/deployments${query}`);
  return { status: res.status, json: await res.json() };
}

describe("GET /v1/deployments?phase=", () => {
  it("filters across pages: total counts every match, offset/limit page through them newest first", async () => {
    const deleted1 = await get("?phase=Deleted&limit=2");
    expect(deleted1.status).toBe(200);
    expect(deleted1.json.total).toBe(4);
    expect(deleted1.json.deployments.map((d: { id: Hex }) => d.id)).toEqual([ids[5], ids[4]]);
    const deleted2 = await get("?phase=Deleted&limit=2&offset=2");
    expect(deleted2.json.deployments.map((d: { id: Hex }) => d.id)).toEqual([ids[2], ids[0]]);
    expect(deleted2.json.deployments.every((d: { phase: string }) => d.phase === "Deleted")).toBe(true);
    const requested = await get("?phase=Requested");
    expect(requested.json.total).toBe(3);
    expect(requested.json.deployments.map((d: { id: Hex }) => d.id)).toEqual([ids[6], ids[3], ids[1]]);
    expect((await get(`?phase=Requested&deployer=${c.accounts[12].address}`)).json).toEqual({ total: 0, deployments: [] });
    // unfiltered, for comparison: every deployment
    expect((await get("")).json.total).toBe(7);
  });

  it("refuses an unknown phase, naming the field", async () => {
    for (const bad of ["Bogus", "Unknown", "running"]) {
      const r = await get(`?phase=${bad}`);
      expect(r.status).toBe(400);
      expect(r.json.error.field).toBe("phase");
      expect(r.json.error.message).toMatch(/must be one of Requested, Scheduled, Running, Succeeded, Failed, Deleted, OutOfBudget, Cancelled/);
    }
  });

  it("remembers ended phases settled deeper than a shallow reorg, and then trusts them", async () => {
    const memory = phaseMemory(new MemoryKv(), c.addresses.deploymentRegistry);
    const head = await c.publicClient.getBlockNumber();
    const io = { publicClient: c.publicClient, addresses: c.addresses, names: specNameLookup(store.url), memory, head };
    const newestFirst = (await listDeployments(c.publicClient, c.addresses)).reverse();
    const r = await deploymentsInPhase(io, newestFirst, "Deleted", { offset: 0, limit: 10 });
    expect(r.total).toBe(4);
    expect(await Promise.all(ids.map((id) => memory.get(id)))).toEqual(["Deleted", undefined, "Deleted", undefined, "Deleted", undefined, undefined]);
    // The chain says ids[2] is Deleted; what is remembered is what the filter goes by (no re-read).
    await memory.remember([{ id: ids[2]!, phase: "Succeeded" }]);
    const succeeded = await deploymentsInPhase(io, newestFirst, "Succeeded", { offset: 0, limit: 10 });
    expect(succeeded.deployments.map((d) => d.id)).toEqual([ids[2]]);
    // ...and a remembered match is still returned whole, read from the chain.
    expect(succeeded.deployments[0]).toEqual((await readDeploymentResources(c.publicClient, c.addresses, [newestFirst[4]!], io.names))[0]);
  });
});
