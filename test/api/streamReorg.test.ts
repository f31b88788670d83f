/**
 * The deployment stream across a reorg, on the real in-process Hardhat chain (evm_snapshot and
 * evm_revert replace the blocks the stream has already sent from, as a reorg does): the stream
 * says `reorg` with the last block still on the chain, the voided Terminated event is followed by
 * the state of the new chain (Requested again), and a termination in the new blocks streams anew.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApiServer, type ApiServer } from "../../src/api/server";
import { startStoreServer, type StoreServer } from "../../src/image/storeServer";
import { createApiClient, type StreamMessage } from "../../src/sdk";
import { inProcessChain, type InProcessChain } from "../helpers/chain";
import { approve, DEPLOYER, dr, makeIntent, send, submit } from "../contracts/fixtures";

let c: InProcessChain;
let store: StoreServer;
let api: ApiServer;
let tmp: string;

beforeAll(async () => {
  c = await inProcessChain();
  await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "hypha-reorg-"));
  store = await startStoreServer({ dir: path.join(tmp, "store") });
  api = await startApiServer({ publicClient: c.publicClient, addresses: c.addresses, storeUrl: store.url, streamPollMs: 50 });
}, 120_000);

afterAll(async () => {
  await api?.close();
  await store?.close();
  await fs.rm(tmp, { recursive: true, force: true });
});

describe("GET /v1/deployments/:id/stream across a reorg", () => {
  it("voids the replaced blocks' events with `reorg` and streams the new chain's", async () => {
    const intent = makeIntent(c, { nonce: 4242n });
    const { id } = await submit(c, intent);
    const seen: StreamMessage[] = [];
    const stop = new AbortController();
    const following = createApiClient(api.url)
      .follow(id as Hex, (m) => seen.push(m), stop.signal)
      .catch(() => undefined);
    const until = async (what: string, pred: () => boolean) => {
      for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 25));
      if (!pred()) throw new Error(`stream: no ${what}; saw ${JSON.stringify(seen.map((m) => [m.event, m.data.eventName ?? m.data.phase ?? m.data.after]))}`);
    };
    await until("first state", () => seen.some((m) => m.event === "deployment" && m.data.phase === "Requested"));

    const fork = await c.publicClient.getBlockNumber();
    const snapshot = await c.snapshot();
    await send(c, DEPLOYER, { ...dr(c), functionName: "terminate", args: [intent] });
    await until("Terminated", () => seen.some((m) => m.event === "chain-event" && m.data.eventName === "Terminated"));
    await until("Deleted", () => seen.some((m) => m.event === "deployment" && m.data.phase === "Deleted"));
    const terminatedAt = BigInt(seen.find((m) => m.data.eventName === "Terminated")!.data.blockNumber);

    // The reorg: the termination's block is replaced by a longer chain without it.
    await c.revert(snapshot);
    for (let i = 0; i < 3; i++) await c.mine();
    await until("reorg", () => seen.some((m) => m.event === "reorg"));
    const reorg = seen.findIndex((m) => m.event === "reorg");
    expect(BigInt(seen[reorg]!.data.after)).toBe(fork); // the last streamed block still on the chain
    expect(BigInt(seen[reorg]!.data.after)).toBeLessThan(terminatedAt);
    await until("Requested again", () => seen.slice(reorg).some((m) => m.event === "deployment" && m.data.phase === "Requested"));
    expect(seen.slice(reorg).some((m) => m.data.eventName === "Terminated")).toBe(false);

    // A termination in the new chain streams as a new event.
    await send(c, DEPLOYER, { ...dr(c), functionName: "terminate", args: [intent] });
    await until("Terminated on the new chain", () => seen.slice(reorg).some((m) => m.event === "chain-event" && m.data.eventName === "Terminated"));
    const again = seen.slice(reorg).find((m) => m.data.eventName === "Terminated")!;
    expect(again.id).toBe(`${again.data.blockNumber}:${again.data.logIndex}`);
    expect(BigInt(again.data.blockNumber)).toBeGreaterThan(fork + 3n);
    stop.abort();
    await following;
  }, 60_000);
});
