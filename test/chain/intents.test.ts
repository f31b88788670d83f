/**
 * readIntent on the real in-process chain: from the whole range, and backwards from a later block
 * in growing windows (one small eth_getLogs for a recent intent, more for an old one), and an
 * unknown id named in the error either way.
 */
import { createPublicClient, custom, type EIP1193Provider, type PublicClient } from "viem";
import { hardhat } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readIntent } from "../../src/chain/intents";
import { inProcessChain, type InProcessChain } from "../helpers/chain";
import { DEPLOYER, approve, makeIntent, submit } from "../contracts/fixtures";

let c: InProcessChain;
let base: string;

beforeAll(async () => {
  c = await inProcessChain();
  base = await c.snapshot();
  await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
});
afterAll(async () => {
  await c.revert(base);
});

/** A client over the same chain that counts the eth_getLogs requests and the blocks they span. */
function counting(): { pc: PublicClient; calls: { from: bigint; to: bigint }[] } {
  const calls: { from: bigint; to: bigint }[] = [];
  const provider: EIP1193Provider = {
    ...c.provider,
    request: (async (args: { method: string; params?: unknown[] }) => {
      if (args.method === "eth_getLogs") {
        const q = (args.params as { fromBlock: string; toBlock: string }[])[0];
        calls.push({ from: BigInt(q.fromBlock), to: BigInt(q.toBlock) });
      }
      return c.provider.request(args as never);
    }) as never,
  };
  return { pc: createPublicClient({ chain: hardhat, transport: custom(provider, { retryCount: 0 }) }) as PublicClient, calls };
}

describe("readIntent", () => {
  it("finds an intent backwards from a later block, in windows that grow", async () => {
    const intent = makeIntent(c, { nonce: 880n });
    const { id } = await submit(c, intent);
    const submittedAt = await c.publicClient.getBlockNumber({ cacheTime: 0 });

    const near = counting();
    const found = await readIntent(near.pc, c.addresses, id, { before: submittedAt + 3n });
    expect(found.intent).toEqual(intent);
    expect(found.blockNumber).toBe(submittedAt);
    // The relayer (account 12 in the fixtures) is the submitting transaction's sender, read only when asked for.
    expect(found.relayer).toBeUndefined();
    expect((await readIntent(c.publicClient, c.addresses, id, { relayer: true })).relayer).toBe(c.accounts[12].address);
    expect(near.calls).toHaveLength(1);
    expect(near.calls[0].to - near.calls[0].from).toBeLessThan(2048n);

    await c.provider.request({ method: "hardhat_mine", params: ["0x1388"] } as never); // 5000 blocks
    const far = counting();
    const head = await c.publicClient.getBlockNumber({ cacheTime: 0 });
    expect((await readIntent(far.pc, c.addresses, id, { before: head })).blockNumber).toBe(submittedAt);
    // the last 2048 blocks miss it; the next window (up to 4096, cut at the contracts' block) finds it
    expect(far.calls).toHaveLength(2);
    expect(far.calls[0]).toEqual({ from: head - 2047n, to: head });
    expect(far.calls[1].to).toBe(head - 2048n);
    expect(far.calls[1].from).toBe(BigInt(c.addresses.deployBlock) > head - 2048n - 4095n ? BigInt(c.addresses.deployBlock) : head - 2048n - 4095n);

    const whole = counting();
    expect((await readIntent(whole.pc, c.addresses, id)).blockNumber).toBe(submittedAt);
    expect(whole.calls).toHaveLength(1);
    expect(whole.calls[0].from).toBe(BigInt(c.addresses.deployBlock));

    const unknown = `0x${"cd".repeat(32)}` as const;
    await expect(readIntent(c.publicClient, c.addresses, unknown, { before: head })).rejects.toThrow(`unknown deployment ${unknown}`);
  });
});
