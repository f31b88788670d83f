/**
 * New blocks pushed over WebSocket from a real `hardhat node` (eth_subscribe newHeads on its HTTP
 * port): the owner is called on each mined block, a head no sleeper took is reported once by
 * takeHead; an RPC without WebSocket (a real HTTP server that refuses the upgrade) leaves the
 * owner polling, and says so.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NewHeads, wsUrlFor } from "../../src/chain/newHeads";
import { startHardhatNode } from "../helpers/chain";

let node: Awaited<ReturnType<typeof startHardhatNode>>;
const mine = () =>
  fetch(node.rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "evm_mine", params: [] }),
  });
const until = async (check: () => boolean, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
};

beforeAll(async () => {
  node = await startHardhatNode();
}, 120_000);
afterAll(async () => {
  await node?.stop();
});

describe("wsUrlFor (pure)", () => {
  it("maps http to ws and https to wss, keeps ws, refuses others", () => {
    expect(wsUrlFor("http://127.0.0.1:8545")).toBe("ws://127.0.0.1:8545/");
    expect(wsUrlFor("https://rpc.example/v1/key")).toBe("wss://rpc.example/v1/key");
    expect(wsUrlFor("ws://h:1/")).toBe("ws://h:1/");
    expect(wsUrlFor("ftp://h/")).toBeUndefined();
  });
});

describe("NewHeads on a real hardhat node", () => {
  it("calls the owner on each mined block; a head nobody took is reported once", async () => {
    let calls = 0;
    let sleeping = true;
    const lines: string[] = [];
    const heads = NewHeads.start(node.rpcUrl, { onHead: () => (calls++, sleeping), logger: { info: (_o, msg) => void lines.push(msg ?? "") } });
    expect(await heads.ready).toBe(true);
    expect(heads.live).toBe(true);
    expect(lines.join()).toMatch(/WebSocket/);
    await mine();
    await until(() => calls === 1);
    expect(heads.takeHead()).toBe(false); // the sleeper took it
    sleeping = false;
    await mine();
    await until(() => calls === 2);
    expect(heads.takeHead()).toBe(true);
    expect(heads.takeHead()).toBe(false);
    await heads.close();
    await mine();
    await new Promise((r) => setTimeout(r, 200));
    expect(calls).toBe(2);
  });

  it("an RPC without WebSocket: not live, the owner keeps polling, and the log says so", async () => {
    const server = http.createServer((_req, res) => res.writeHead(404).end());
    server.on("upgrade", (_req, socket) => socket.end("HTTP/1.1 400 Bad Request\r\n\r\n"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const lines: string[] = [];
    const heads = NewHeads.start(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, {
      onHead: () => true,
      logger: { info: (_o, msg) => void lines.push(msg ?? "") },
    });
    expect(await heads.ready).toBe(false);
    expect(heads.live).toBe(false);
    expect(heads.takeHead()).toBe(false);
    expect(lines.join()).toMatch(/polling for new blocks/);
    await heads.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
});
