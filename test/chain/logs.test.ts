/**
 * getLogsSplitting through a real HTTP JSON-RPC proxy (in front of the in-process Hardhat chain)
 * that refuses eth_getLogs over more than 2 blocks, as public RPCs do: the logs come back complete
 * and in order; other errors are not retried.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeEventTopics, parseEther, type Hex } from "viem";
import { hyphaTokenAbi } from "../../src/chain/abi";
import { makePublicClient } from "../../src/chain/clients";
import { fundAccounts } from "../../src/chain/deploy";
import { getLogsSplitting } from "../../src/chain/logs";
import { inProcessChain, type InProcessChain } from "../helpers/chain";

let chain: InProcessChain;
let server: http.Server;
let url: string;
let refused = 0;
let getLogsCalls = 0;
let snap: string;

beforeAll(async () => {
  chain = await inProcessChain();
  snap = await chain.snapshot();
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d));
    req.on("end", async () => {
      const calls = JSON.parse(body) as { id: number; method: string; params: unknown[] } | Array<{ id: number; method: string; params: unknown[] }>;
      const answer = async (c: { id: number; method: string; params: unknown[] }) => {
        if (c.method === "eth_getLogs") {
          getLogsCalls++;
          const p = c.params[0] as { fromBlock: string; toBlock: string };
          if (BigInt(p.toBlock) - BigInt(p.fromBlock) > 2n) {
            refused++;
            return { jsonrpc: "2.0", id: c.id, error: { code: -32005, message: "block range too large: at most 3 blocks" } };
          }
        }
        try {
          return { jsonrpc: "2.0", id: c.id, result: await chain.provider.request({ method: c.method, params: c.params } as never) };
        } catch (e) {
          return { jsonrpc: "2.0", id: c.id, error: { code: -32000, message: (e as Error).message } };
        }
      };
      const out = Array.isArray(calls) ? await Promise.all(calls.map(answer)) : await answer(calls);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(out, (_k, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v)));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await chain.revert(snap);
});

describe("getLogsSplitting", () => {
  it("splits a refused range and returns every log in order", async () => {
    const from = (await chain.publicClient.getBlockNumber({ cacheTime: 0 })) + 1n; // viem caches the block number for 4 s by default
    const to6 = chain.accounts.slice(12, 18).map((a) => a.address);
    await fundAccounts({
      walletClient: chain.walletClients[0],
      publicClient: chain.publicClient,
      addresses: chain.addresses,
      accounts: to6,
      amount: parseEther("1"),
    });
    const toBlock = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
    const [transfer] = encodeEventTopics({ abi: hyphaTokenAbi, eventName: "Transfer" });
    const query = { address: chain.addresses.token, topics: [transfer as Hex], fromBlock: from, toBlock };
    const direct = await getLogsSplitting(chain.publicClient, query);
    expect(direct).toHaveLength(6);
    refused = 0;
    const viaProxy = await getLogsSplitting(makePublicClient(url), query);
    expect(refused).toBeGreaterThan(0);
    expect(viaProxy.map((l) => [l.blockNumber, l.logIndex, l.transactionHash])).toEqual(direct.map((l) => [l.blockNumber, l.logIndex, l.transactionHash]));
  });

  it("does not split on other errors", async () => {
    getLogsCalls = 0;
    const query = { address: chain.addresses.token, topics: ["0x1234" as Hex], fromBlock: 0n, toBlock: 2n };
    await expect(getLogsSplitting(makePublicClient(url), query)).rejects.toThrow();
    expect(getLogsCalls).toBe(1);
  });
});
