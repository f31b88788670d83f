/**
 * Transactions sized from the state they will meet, on the real in-process Hardhat chain: the gas
 * limit is the pending-block estimate plus the margin; a transaction that still runs out of gas
 * is reported as exactly that (used X of limit Y, retryable, counted), and one that reverts
 * on-chain after a clean simulation (a racing sender got there first) is reported with the
 * contract's decoded error. Never "Missing or invalid parameters".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register } from "prom-client";
import { createPublicClient, createWalletClient, custom, type PublicClient, type WalletClient } from "viem";
import { hardhat } from "viem/chains";
import { deploymentRegistryAbi } from "../../src/chain/abi";
import { ChainError, ChainRefusedError, ChainUnavailableError } from "../../src/chain/chainError";
import { gasLimitWithMargin, revertCause, sendSizedContractTx } from "../../src/chain/sizedTx";
import { inProcessChain, type InProcessChain } from "../helpers/chain";
import { approve, DEPLOYER, makeIntent, signIntent } from "../contracts/fixtures";

let c: InProcessChain;
let base: string;
const lines: { obj: Record<string, unknown>; msg?: string }[] = [];
const logger = { error: (obj: object, msg?: string) => void lines.push({ obj: obj as Record<string, unknown>, msg }) };

async function reverts(cause: string): Promise<number> {
  const m = (await register.getSingleMetric("hypha_tx_reverts_total")!.get()).values.find(
    (v) => v.labels.function === "submitIntent" && v.labels.cause === cause,
  );
  return m?.value ?? 0;
}

beforeAll(async () => {
  c = await inProcessChain();
  base = await c.snapshot();
  await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
});
afterAll(async () => {
  await c.revert(base);
});

const clients = () => ({ publicClient: c.publicClient, walletClient: c.walletClients[DEPLOYER]! });
const submitCall = async (nonce: bigint) => {
  const intent = makeIntent(c, { nonce });
  return {
    address: c.addresses.deploymentRegistry,
    abi: deploymentRegistryAbi,
    functionName: "submitIntent",
    args: [intent, await signIntent(c, intent)],
  } as const;
};

describe("gas sizing (pure)", () => {
  it("adds the margin and stays under the block's gas limit", () => {
    expect(gasLimitWithMargin(100_000n, { percent: 50, extra: 150_000n }, 30_000_000n)).toBe(300_000n);
    expect(gasLimitWithMargin(25_000_000n, { percent: 50, extra: 150_000n }, 30_000_000n)).toBe(30_000_000n);
  });
  it("tells running out of gas from a revert", () => {
    expect(revertCause({ gasUsed: 299_000n }, 300_000n, undefined)).toEqual({ outOfGas: true, line: "ran out of gas: used 299000 of limit 300000" });
    expect(revertCause({ gasUsed: 50_000n }, 300_000n, new ChainError("DeploymentExists(0x12)"))).toEqual({ outOfGas: false, line: "DeploymentExists(0x12)" });
    expect(revertCause({ gasUsed: 50_000n }, 300_000n, undefined).line).toMatch(/^reverted \(used 50000 of limit 300000; the replay/);
  });
});

describe("sendSizedContractTx on a real chain", () => {
  it("sends with the pending-block estimate plus the margin", async () => {
    const call = await submitCall(501n);
    const estimate = await c.publicClient.estimateContractGas({ ...call, account: c.accounts[DEPLOYER], blockTag: "pending" } as never);
    const sent = await sendSizedContractTx(clients(), call, "submitting", logger);
    expect(sent.receipt.status).toBe("success");
    const tx = await c.publicClient.getTransaction({ hash: sent.hash });
    expect(tx.gas).toBe((estimate * 150n) / 100n + 150_000n);
  });

  it("a limit too small: 'ran out of gas: used X of limit Y', retryable (unavailable), counted and logged", async () => {
    const before = await reverts("out-of-gas");
    const err = (await sendSizedContractTx(clients(), await submitCall(502n), "submitting", logger, { percent: -40, extra: 0n }).catch(
      (e: unknown) => e,
    )) as ChainError;
    expect(err).toBeInstanceOf(ChainError);
    expect(err.shortMessage).toMatch(/^submitting: transaction 0x[0-9a-f]{64} ran out of gas: used \d+ of limit \d+$/);
    expect(err.shortMessage).not.toMatch(/Missing or invalid parameters/);
    expect(err).toBeInstanceOf(ChainUnavailableError);
    expect(await reverts("out-of-gas")).toBe(before + 1);
    expect(lines.at(-1)).toMatchObject({ obj: { function: "submitIntent", cause: "out-of-gas" }, msg: expect.stringMatching(/ran out of gas/) });
  });

  it("a racing sender got there first: the on-chain revert is decoded from the contract", async () => {
    const call = await submitCall(503n);
    const before = await reverts("contract");
    const outcomes = await Promise.allSettled([
      sendSizedContractTx(clients(), call, "submitting A", logger),
      sendSizedContractTx({ publicClient: c.publicClient, walletClient: c.walletClients[12]! }, call, "submitting B", logger),
    ]); // another relayer
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    const failed = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult;
    const err = failed.reason as ChainError;
    expect(err).toBeInstanceOf(ChainError);
    console.log(`racing submit: ${err.shortMessage}`);
    expect(err.shortMessage).not.toMatch(/Missing or invalid parameters/);
    expect(err).toBeInstanceOf(ChainRefusedError);
    expect(err.errorName).toBeDefined();
    expect(await reverts("contract")).toBe(before + 1);
  });

  it("an explicit limit is sent as is: no eth_call simulation and no eth_estimateGas reach the node", async () => {
    const methods: string[] = [];
    const counting = custom(
      { request: (args: { method: string; params?: unknown }) => (methods.push(args.method), c.provider.request(args as never)) },
      { retryCount: 0 },
    );
    const publicClient = createPublicClient({ chain: hardhat, transport: counting, pollingInterval: 10 }) as PublicClient;
    const walletClient = createWalletClient({ account: c.accounts[DEPLOYER], chain: hardhat, transport: counting }) as WalletClient;
    const sent = await sendSizedContractTx({ publicClient, walletClient }, await submitCall(504n), "submitting", logger, { gas: 400_000n });
    expect(sent.receipt.status).toBe("success");
    expect((await c.publicClient.getTransaction({ hash: sent.hash })).gas).toBe(400_000n);
    expect(methods).not.toContain("eth_estimateGas");
    expect(methods).not.toContain("eth_call");
  });

  it("an explicit limit too small: the revert is still reported as running out of gas", async () => {
    const err = (await sendSizedContractTx(clients(), await submitCall(505n), "submitting", logger, { gas: 40_000n }).catch((e: unknown) => e)) as ChainError;
    expect(err).toBeInstanceOf(ChainError);
    expect(err.shortMessage).toMatch(/ran out of gas: used \d+ of limit 40000$/);
    expect(err).toBeInstanceOf(ChainUnavailableError);
  });
});
