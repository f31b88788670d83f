/**
 * The keep-alive transport against a real `hardhat node`, through a real counting HTTP proxy:
 * sequential requests reuse one connection, concurrent ones go out as one JSON-RPC batch, a
 * contract revert comes back decoded (the error name, as with viem's http()), and an HTTP failure
 * is an HttpRequestError with its status, retried as configured.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPublicClient, HttpRequestError, type PublicClient } from "viem";
import { deploymentRegistryAbi } from "../../src/chain/abi";
import { keepAliveHttp } from "../../src/chain/keepAliveTransport";
import { startHardhatNode } from "../helpers/chain";
import { setupHypha, type HyphaFixture } from "../watcher/helpers/hyphaFixture";

let node: Awaited<ReturnType<typeof startHardhatNode>>;
let fx: HyphaFixture;
let proxy: http.Server;
let proxyUrl: string;
const seen = { connections: 0, posts: 0, batches: 0, failNext: 0 };

beforeAll(async () => {
  node = await startHardhatNode();
  fx = await setupHypha(node.rpcUrl);
  proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      seen.posts++;
      const body = Buffer.concat(chunks).toString("utf8");
      if (body.startsWith("[")) seen.batches++;
      if (seen.failNext > 0) {
        seen.failNext--;
        res.writeHead(503, { "content-type": "text/plain" }).end("busy");
        return;
      }
      const answer = await fetch(node.rpcUrl, { method: "POST", headers: { "content-type": "application/json" }, body });
      res.writeHead(answer.status, { "content-type": "application/json" }).end(await answer.text());
    });
  });
  proxy.on("connection", () => seen.connections++);
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  proxy?.closeAllConnections();
  await new Promise((r) => proxy?.close(r));
  await node?.stop();
});

const client = (opts: Parameters<typeof keepAliveHttp>[1] = {}) =>
  createPublicClient({ transport: keepAliveHttp(proxyUrl, { retryCount: 0, ...opts }) }) as PublicClient;

describe("keepAliveHttp", () => {
  it("sequential requests share one connection; concurrent ones go out as one batch", async () => {
    const pc = client();
    const before = { ...seen };
    for (let i = 0; i < 20; i++) expect(await pc.getBlockNumber({ cacheTime: 0 })).toBeGreaterThan(0n);
    expect(seen.posts - before.posts).toBe(20);
    expect(seen.connections - before.connections).toBe(1);
    const mid = { ...seen };
    const balances = await Promise.all(Array.from({ length: 30 }, (_, i) => pc.getBalance({ address: `0x${(i + 1).toString(16).padStart(40, "0")}` })));
    expect(balances).toHaveLength(30);
    expect(seen.posts - mid.posts).toBe(1);
    expect(seen.batches - mid.batches).toBe(1);
  });

  it("a contract revert is decoded: the custom error's name and arguments", async () => {
    const pc = client();
    const err = (await pc
      .simulateContract({
        address: fx.addresses.deploymentRegistry,
        abi: deploymentRegistryAbi,
        functionName: "reportLost",
        args: [
          {
            deployer: fx.addresses.deploymentRegistry,
            specHash: `0x${"11".repeat(32)}`,
            imageRoot: `0x${"22".repeat(32)}`,
            replicas: 1,
            cpuMillis: 1,
            memoryMiB: 1,
            diskMiB: 1,
            maxPricePerSecond: 1n,
            budget: 1n,
            nonce: 1n,
            deadline: 1n,
            kind: 0,
            quorum: 0,
            maxRetries: 0,
            maxRunSeconds: 0,
          },
          0,
        ],
        account: fx.addresses.deploymentRegistry,
      })
      .catch((e: unknown) => e)) as { name: string; cause?: { data?: { errorName?: string } } };
    expect(err.name).toBe("ContractFunctionExecutionError");
    expect(err.cause?.data?.errorName).toMatch(/^[A-Z][A-Za-z]+$/);
  });

  it("an HTTP failure is an HttpRequestError with its status; with retries, a transient one is retried", async () => {
    seen.failNext = 1;
    const err = (await client()
      .getBlockNumber({ cacheTime: 0 })
      .catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(HttpRequestError);
    expect((err as HttpRequestError).status).toBe(503);
    seen.failNext = 1;
    expect(await client({ retryCount: 2, retryDelay: 10 }).getBlockNumber({ cacheTime: 0 })).toBeGreaterThan(0n);
    expect(seen.failNext).toBe(0);
  });

  it("an unreachable RPC is an HttpRequestError naming the URL", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    const err = (await createPublicClient({ transport: keepAliveHttp(url, { retryCount: 0 }) })
      .getBlockNumber()
      .catch((e: unknown) => e)) as HttpRequestError;
    expect(err).toBeInstanceOf(HttpRequestError);
    expect(err.message).toContain(url);
  });
});
