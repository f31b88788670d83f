/**
 * The largest job (255 replicas, MAX_REPLICAS) on 255 nodes of 255 operators, on the real
 * in-process chain: its placement (in chunks), its attestations and its finalization each fit in
 * one transaction under the per-transaction gas cap (EIP-7825: 2^24 = 16,777,216, below the
 * block gas limit), in the worst case of each loop: the finalizing vote releases every replica and
 * slashes 127 dissenters, or stops and pays the 127 still Running; a deployer terminating it while
 * all 255 run stops and pays every one (run first, so every operator is credited for the first
 * time: a new balance slot each, the costliest payment). A job placement costs ~70k (it also
 * records the replica's operator), so 255 in one schedule (~18M) would not fit: two chunks. Transactions are sent with the cap as their gas limit:
 * Hardhat refuses to estimate the 255-replica terminate (its estimate, ~36M, exceeds the cap) though
 * it uses ~12M.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEther, parseEventLogs, type Hex } from "viem";
import { deploymentRegistryAbi, nodeRegistryAbi } from "../../src/chain/abi";
import type { Attestation } from "../../src/chain/eip712";
import { inProcessChain, type InProcessChain } from "../helpers/chain";
import {
  DEPLOYER,
  H,
  MEASUREMENT,
  ORCH,
  ZERO32,
  addAccount,
  approve,
  approveMeasurementOnChain,
  dr,
  getDeployment,
  getNode,
  makeIntent,
  registerNodeAs,
  send,
  signAttestation,
  submit,
} from "./fixtures";

const TX_GAS_CAP = 16_777_216n;
const N = 255;
const PRICE = parseEther("0.00001");
/** Placements per schedule transaction (a job placement also records its operator: ~70k each). */
const SCHEDULE_CHUNK = 128;
const ATTEST_CHUNK = 64;

let c: InProcessChain;
let base: string;
/** nodeId -> agent account index, for nodes 1..255 */
const agents: number[] = [];

beforeAll(async () => {
  c = await inProcessChain();
  base = await c.snapshot();
  for (let i = 0; i < N; i++) {
    const operator = await addAccount(c, c.params.minStake * 2n);
    const agent = await addAccount(c);
    const nodeId = await registerNodeAs(c, operator, agent, {
      pricePerSecond: PRICE,
      stake: c.params.minStake,
      cpuMillis: 1000,
      memoryMiB: 1024,
      diskMiB: 1024,
      slots: 2,
    });
    agents[nodeId] = agent;
  }
  await approveMeasurementOnChain(c);
  await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
}, 600_000);
afterAll(async () => {
  await c.revert(base);
});

const chunks = <T>(xs: T[], n: number) => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, (i + 1) * n));

async function jobOf255(nonce: bigint) {
  const intent = makeIntent(c, {
    kind: 1,
    replicas: N,
    quorum: 128,
    maxPricePerSecond: PRICE,
    budget: PRICE * 3600n * BigInt(N),
    cpuMillis: 100,
    memoryMiB: 100,
    diskMiB: 10,
    nonce,
  });
  const { id } = await submit(c, intent);
  const gas: bigint[] = [];
  const placements = Array.from({ length: N }, (_, i) => ({ replicaIndex: i, nodeId: i + 1, pricePerSecond: PRICE }));
  for (const chunk of chunks(placements, SCHEDULE_CHUNK))
    gas.push((await send(c, ORCH, { ...dr(c), functionName: "schedule", args: [intent, chunk], gas: TX_GAS_CAP } as never)).gasUsed);
  return { intent, id, scheduleGas: gas };
}

/** Sends the attestations of replicas `indexes` (status, output hash per index) in attestMany chunks; returns each chunk's gas. */
async function attestAll(id: Hex, attempt: number, indexes: number[], status: number, output: (i: number) => Hex = () => ZERO32) {
  const gas: bigint[] = [];
  for (const chunk of chunks(indexes, ATTEST_CHUNK)) {
    const atts: Attestation[] = chunk.map((i) => ({
      deploymentId: id,
      replicaIndex: i,
      nodeId: i + 1,
      attempt,
      status,
      measurement: MEASUREMENT,
      outputHash: output(i),
      timestamp: 1n,
    }));
    const sigs = await Promise.all(atts.map((a) => signAttestation(c, a, agents[a.nodeId])));
    const { gasUsed, logs } = await send(c, ORCH, { ...dr(c), functionName: "attestMany", args: [atts, sigs], gas: TX_GAS_CAP } as never);
    expect(parseEventLogs({ abi: deploymentRegistryAbi, logs: logs as never, eventName: "BatchEntrySkipped" })).toEqual([]);
    gas.push(gasUsed);
  }
  return gas;
}

// The case that slashes (jails) 127 of the nodes runs last.
describe("a 255-replica job", () => {
  it("the deployer terminating it while all 255 run stops and pays each in one transaction under the cap", async () => {
    const { intent, id } = await jobOf255(2n);
    await attestAll(
      id,
      1,
      Array.from({ length: N }, (_, i) => i),
      0,
    );
    await c.increaseTime(100);
    // sent with the cap as its gas limit (no estimate: Hardhat refuses an estimate above the cap)
    const { gasUsed, logs } = await send(c, DEPLOYER, { ...dr(c), functionName: "terminate", args: [intent], gas: TX_GAS_CAP } as never);
    expect(gasUsed).toBeLessThan(TX_GAS_CAP);
    expect(parseEventLogs({ abi: deploymentRegistryAbi, logs: logs as never, eventName: "PaymentCredited" })).toHaveLength(N);
    expect(parseEventLogs({ abi: deploymentRegistryAbi, logs: logs as never, eventName: "ReplicaStatusChanged" }).filter((e) => e.args.to === 6)).toHaveLength(
      N,
    ); // Stopped
    // every node got its capacity back
    for (const nodeId of [1, 128, 255])
      expect(
        (await c.publicClient.readContract({ address: c.addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "getNode", args: [nodeId] })).placed,
      ).toBe(0);
    if (process.env.HYPHA_GAS_LOG) console.log(JSON.stringify({ terminate: String(gasUsed) }));
  }, 600_000);

  it("a finalization that stops and pays the 127 replicas still Running fits under the cap", async () => {
    const { id } = await jobOf255(3n);
    const all = Array.from({ length: N }, (_, i) => i);
    await attestAll(id, 1, all, 0);
    await c.increaseTime(100);
    await attestAll(id, 1, all.slice(0, 127), 1, () => H("aa"));
    const [final] = await attestAll(id, 1, [127], 1, () => H("aa"));
    expect(final).toBeLessThan(TX_GAS_CAP);
    const d = await getDeployment(c, id);
    expect([d.status, d.placed, d.running]).toEqual([4, 0, 0]);
    if (process.env.HYPHA_GAS_LOG) console.log(JSON.stringify({ finalizeStopping127: String(final) }));
  }, 600_000);

  it("schedule (chunks), attestations and the worst-case finalization each fit under the per-transaction gas cap", async () => {
    const { id, scheduleGas } = await jobOf255(1n);
    expect(scheduleGas).toHaveLength(2);
    for (const g of scheduleGas) expect(g).toBeLessThan(TX_GAS_CAP);
    expect((await getDeployment(c, id)).placed).toBe(N);
    const all = Array.from({ length: N }, (_, i) => i);
    for (const g of await attestAll(id, 1, all, 0)) expect(g).toBeLessThan(TX_GAS_CAP);
    expect((await getDeployment(c, id)).running).toBe(N);
    await c.increaseTime(100);
    // worst case for the vote: 127 dissenters first, then 127 agreeing votes; the 128th finalizes
    const dissent = all.slice(0, 127);
    const agree = all.slice(127, 254);
    for (const g of await attestAll(id, 1, dissent, 1, () => H("bb"))) expect(g).toBeLessThan(TX_GAS_CAP);
    for (const g of await attestAll(id, 1, agree, 1, () => H("aa"))) expect(g).toBeLessThan(TX_GAS_CAP);
    expect((await getDeployment(c, id)).status).toBe(3);
    const [final] = await attestAll(id, 1, [254], 1, () => H("aa"));
    expect(final).toBeLessThan(TX_GAS_CAP);
    expect((await getDeployment(c, id)).status).toBe(4);
    expect(await c.publicClient.readContract({ ...dr(c), functionName: "jobResult", args: [id] })).toBe(H("aa"));
    // every dissenter slashed once, every reservation released
    for (const n of [1, 64, 127]) expect((await getNode(c, n)).jailed).toBe(true);
    for (const n of [128, 255]) expect((await getNode(c, n)).jailed).toBe(false);
    for (const n of [1, 128, 255]) expect((await getNode(c, n)).placed).toBe(0);
    if (process.env.HYPHA_GAS_LOG) console.log(JSON.stringify({ schedule: scheduleGas.map(String), finalize: String(final) }));
  }, 600_000);
});
