/**
 * The per-item gas bounds against the real contracts on a real `hardhat node`: each batch call,
 * in the worst case the watcher and the agent send it, is sent with the explicit limit
 * batchGasLimit gives (no eth_estimateGas) and must succeed, and use no more than that limit.
 * 100 jobs are placed, attested and settled in single transactions (the old watcher limit for 100
 * terminations was above the node's 2^24 cap). Prints each measured per-item cost.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hex, TransactionReceipt } from "viem";
import { deploymentRegistryAbi } from "../../src/chain/abi";
import { batchGasLimit, GAS_BOUNDS, itemGas, splitUnderGasCap, TX_GAS_CAP, type GasItem } from "../../src/chain/gasCosts";
import { devAccount, DEV_ROLES } from "../../src/chain/devAccounts";
import { domainFor, signAttestation } from "../../src/chain/signing";
import { startHardhatNode } from "../helpers/chain";
import { MEASUREMENT, setupHypha, type HyphaFixture } from "../watcher/helpers/hyphaFixture";

let node: Awaited<ReturnType<typeof startHardhatNode>>;
let fx: HyphaFixture;
const ORCH = DEV_ROLES.orchestrators[0];

beforeAll(async () => {
  node = await startHardhatNode();
  fx = await setupHypha(node.rpcUrl);
  for (let i = 0; i < 3; i++) await fx.registerNode({ endpoint: `http://127.0.0.1:${47100 + i}`, slots: 200, cpuMillis: 200_000 });
}, 180_000);
afterAll(async () => {
  await node?.stop();
});

/** Send a DeploymentRegistry call from `from` with an explicit gas limit; return the receipt. */
async function sendWithGas(from: number, functionName: string, args: readonly unknown[], gas: bigint): Promise<TransactionReceipt> {
  const hash = await fx.wallet(from).writeContract({
    address: fx.addresses.deploymentRegistry,
    abi: deploymentRegistryAbi,
    functionName,
    args,
    gas,
    account: devAccount(from),
    chain: null,
  } as never);
  return fx.publicClient.waitForTransactionReceipt({ hash });
}

/** Attestations signed by each node's own agent key, relayed in one attestMany with an explicit limit. */
async function attestManyWithGas(
  list: { id: Hex; replicaIndex: number; nodeId: number; attempt: number; status: number; outputHash?: Hex }[],
  gas: bigint,
): Promise<TransactionReceipt> {
  const domain = domainFor(fx.addresses);
  const timestamp = (await fx.publicClient.getBlock()).timestamp;
  const atts = list.map((a) => ({
    deploymentId: a.id,
    replicaIndex: a.replicaIndex,
    nodeId: a.nodeId,
    attempt: a.attempt,
    status: a.status,
    measurement: MEASUREMENT,
    outputHash: a.outputHash ?? (`0x${"00".repeat(32)}` as Hex),
    timestamp,
  }));
  const sigs = await Promise.all(atts.map((a) => signAttestation(devAccount(DEV_ROLES.nodeAgents[a.nodeId - 1]!), domain, a)));
  return sendWithGas(DEV_ROLES.nodeAgents[0], "attestMany", [atts, sigs], gas);
}

function expectWithin(what: string, receipt: TransactionReceipt, items: GasItem[]): void {
  const limit = batchGasLimit(items);
  const perItem = Number(receipt.gasUsed - 21_000n) / items.length;
  console.log(`${what}: ${items.length} item(s), gasUsed ${receipt.gasUsed} of limit ${limit} (${Math.round(perItem)} per item, bound ${itemGas(items[0]!)})`);
  expect(receipt.status).toBe("success");
  expect(receipt.gasUsed).toBeLessThanOrEqual(limit);
  expect(limit).toBeLessThanOrEqual(TX_GAS_CAP);
}

const placementsOf = (ids: Hex[], replicas: number) =>
  ids.map((_, i) => Array.from({ length: replicas }, (_, r) => ({ replicaIndex: r, nodeId: ((i + r) % 3) + 1, pricePerSecond: 1n })));
const replicasOf = (id: Hex) =>
  fx.publicClient.readContract({ address: fx.addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "getReplicas", args: [id] });
const statusOf = (id: Hex) =>
  fx.publicClient
    .readContract({ address: fx.addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "getDeployment", args: [id] })
    .then((d) => d.status);

describe("splitting under the cap (pure)", () => {
  it("keeps every batch's limit within the cap, in order, and puts an oversized item alone", () => {
    const jobs = Array.from({ length: 250 }, (_, i) => i);
    const batches = splitUnderGasCap(jobs, () => ({ kind: "terminate", replicas: 1 }));
    expect(batches.flat()).toEqual(jobs);
    for (const b of batches) expect(GAS_BOUNDS.batch + BigInt(b.length) * itemGas({ kind: "terminate", replicas: 1 })).toBeLessThanOrEqual(TX_GAS_CAP);
    expect(batches.length).toBe(Math.ceil(250 / Math.floor(Number((TX_GAS_CAP - GAS_BOUNDS.batch) / itemGas({ kind: "terminate", replicas: 1 })))));
    const huge = splitUnderGasCap([1, 400, 1], (r) => ({ kind: "terminate", replicas: r }));
    expect(huge).toEqual([[1], [400], [1]]);
    expect(batchGasLimit([{ kind: "terminate", replicas: 400 }])).toBe(TX_GAS_CAP);
  });
});

describe("per-item gas bounds on the real contracts", () => {
  it("100 one-replica jobs: placed, attested Running, completed (each vote final) and settled, one transaction each", async () => {
    const { ids, intents } = await fx.submitIntents(100, { replicas: 1, kind: 1, quorum: 1, nonceBase: 1000n });
    const placed = await sendWithGas(ORCH, "scheduleMany", [intents, placementsOf(ids, 1)], batchGasLimit(ids.map(() => ({ kind: "placement" }))));
    expectWithin(
      "scheduleMany, job replicas",
      placed,
      ids.map(() => ({ kind: "placement" })),
    );
    const reps = await Promise.all(ids.map(async (id) => ({ id, r: (await replicasOf(id))[0]! })));
    expect(reps.every(({ r }) => r.status === 1)).toBe(true);

    const atts = (status: number, out: Hex) =>
      reps.map(({ id, r }) => ({ id, replicaIndex: 0, nodeId: r.nodeId, attempt: r.attempt, status, outputHash: out }));
    const attestItems: GasItem[] = ids.map(() => ({ kind: "attest", replicas: 1 }));
    const running = await attestManyWithGas(atts(0, `0x${"00".repeat(32)}`), batchGasLimit(attestItems));
    expectWithin("attestMany Running", running, attestItems);
    const completed = await attestManyWithGas(atts(1, `0x${"66".repeat(32)}`), batchGasLimit(attestItems));
    expectWithin("attestMany Completed (quorum 1: every vote finalizes)", completed, attestItems);

    const terminateItems: GasItem[] = ids.map(() => ({ kind: "terminate", replicas: 1 }));
    const settled = await sendWithGas(ORCH, "terminateMany", [intents], batchGasLimit(terminateItems));
    expectWithin("terminateMany, finished jobs", settled, terminateItems);
    expect((await Promise.all(ids.map(statusOf))).every((s) => s === 5)).toBe(true);
  }, 120_000);

  it("3-replica jobs (quorum 2): placement on three operators, the finalizing vote that stops and pays the third", async () => {
    const { ids, intents } = await fx.submitIntents(10, { replicas: 3, kind: 1, quorum: 2, nonceBase: 2000n });
    const placeItems: GasItem[] = ids.flatMap(() => [{ kind: "placement" }, { kind: "placement" }, { kind: "placement" }] as GasItem[]);
    expectWithin(
      "scheduleMany, 3-replica jobs",
      await sendWithGas(ORCH, "scheduleMany", [intents, placementsOf(ids, 3)], batchGasLimit(placeItems)),
      placeItems,
    );
    const reps = (
      await Promise.all(ids.map(async (id) => (await replicasOf(id)).map((r, i) => ({ id, replicaIndex: i, nodeId: r.nodeId, attempt: r.attempt }))))
    ).flat();
    const items: GasItem[] = reps.map(() => ({ kind: "attest", replicas: 3 }));
    expectWithin(
      "attestMany Running, 3-replica jobs",
      await attestManyWithGas(
        reps.map((r) => ({ ...r, status: 0 })),
        batchGasLimit(items),
      ),
      items,
    );
    // Replica 0 and 1 agree (the second vote finalizes and stops replica 2); replica 2 then dissents.
    const votes = reps.filter((r) => r.replicaIndex < 2).map((r) => ({ ...r, status: 1, outputHash: `0x${"77".repeat(32)}` as Hex }));
    const voteItems: GasItem[] = votes.map(() => ({ kind: "attest", replicas: 3 }));
    expectWithin("attestMany Completed, 3-replica jobs (every second vote finalizes)", await attestManyWithGas(votes, batchGasLimit(voteItems)), voteItems);
    const tItems: GasItem[] = ids.map(() => ({ kind: "terminate", replicas: 3 }));
    expectWithin("terminateMany, 3-replica jobs", await sendWithGas(ORCH, "terminateMany", [intents], batchGasLimit(tItems)), tItems);
  }, 120_000);

  it("3-replica services terminated while every replica runs (each stopped, paid and credited)", async () => {
    const { ids, intents } = await fx.submitIntents(20, { replicas: 3, kind: 0, nonceBase: 3000n });
    const placeItems: GasItem[] = ids.flatMap(() => [{ kind: "placement" }, { kind: "placement" }, { kind: "placement" }] as GasItem[]);
    expectWithin(
      "scheduleMany, 3-replica services",
      await sendWithGas(ORCH, "scheduleMany", [intents, placementsOf(ids, 3)], batchGasLimit(placeItems)),
      placeItems,
    );
    const reps = (
      await Promise.all(ids.map(async (id) => (await replicasOf(id)).map((r, i) => ({ id, replicaIndex: i, nodeId: r.nodeId, attempt: r.attempt, status: 0 }))))
    ).flat();
    await attestManyWithGas(reps, batchGasLimit(reps.map(() => ({ kind: "attest", replicas: 3 }))));
    await fx.rpc("evm_increaseTime", [600]); // running time to pay
    const items: GasItem[] = ids.map(() => ({ kind: "terminate", replicas: 3 }));
    expectWithin(
      "terminateMany, running 3-replica services",
      await sendWithGas(DEV_ROLES.defaultDeployer, "terminateMany", [intents], batchGasLimit(items)),
      items,
    );
    expect((await Promise.all(ids.map(statusOf))).every((s) => s === 5)).toBe(true);
  }, 120_000);
});
