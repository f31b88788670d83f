/**
 * HeadSleeper against a real `hardhat node`: a sleep ends at the next mined block (well before its
 * timeout), a block mined while nobody slept ends the next sleep at once, and with no WebSocket (a
 * port nothing listens on) every sleep runs its full length.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HeadSleeper } from "../../src/chain/headSleeper";
import { freePort, startHardhatNode } from "../helpers/chain";

let node: Awaited<ReturnType<typeof startHardhatNode>>;
const mine = () =>
  fetch(node.rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "evm_mine", params: [] }),
  });

beforeAll(async () => {
  node = await startHardhatNode();
}, 120_000);
afterAll(async () => {
  await node?.stop();
});

describe("HeadSleeper", () => {
  it("wakes at the next block; a block between sleeps ends the next one at once", async () => {
    const sleeper = HeadSleeper.start(node.rpcUrl);
    try {
      expect(await sleeper.ready).toBe(true);
      let started = Date.now();
      const slept = sleeper.sleep(20_000);
      setTimeout(() => void mine(), 100);
      await slept;
      expect(Date.now() - started).toBeLessThan(10_000);
      await mine();
      await new Promise((r) => setTimeout(r, 300)); // the head arrives while nobody sleeps
      started = Date.now();
      await sleeper.sleep(20_000);
      expect(Date.now() - started).toBeLessThan(1_000);
      started = Date.now();
      await sleeper.sleep(200); // nothing mined: the full length
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    } finally {
      await sleeper.close();
    }
  }, 60_000);

  it("without a WebSocket, sleeps its full length", async () => {
    const sleeper = HeadSleeper.start(`http://127.0.0.1:${await freePort()}`);
    try {
      expect(await sleeper.ready).toBe(false);
      const started = Date.now();
      await sleeper.sleep(300);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    } finally {
      await sleeper.close();
    }
  });
});
