/** The happy paths end to end on the real in-process chain: service lifecycle with payment, job quorum. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseEther } from "viem";
import { inProcessChain, type InProcessChain } from "../helpers/chain";
import {
  DEPLOYER,
  OPERATORS,
  ORCH,
  approve,
  approveMeasurementOnChain,
  attestAs,
  dr,
  getDeployment,
  getNode,
  getReplica,
  innerBalance,
  makeIntent,
  registerNode,
  schedule,
  send,
  submit,
  tokenBalance,
} from "./fixtures";

let c: InProcessChain;
let snap: string;
beforeEach(async () => {
  c = await inProcessChain();
  snap = await c.snapshot();
});
afterEach(async () => {
  await c.revert(snap);
});

describe("service lifecycle", () => {
  it("submit -> schedule -> Running -> terminate pays the node for run time and refunds the rest", async () => {
    const node = await registerNode(c, 0, { pricePerSecond: parseEther("0.0001") });
    await approveMeasurementOnChain(c);
    const deployer = c.accounts[DEPLOYER].address;
    await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
    const before = await tokenBalance(c, deployer);
    const intent = makeIntent(c);
    const { id } = await submit(c, intent);
    expect(await tokenBalance(c, deployer)).toBe(before - intent.budget);
    let d = await getDeployment(c, id);
    expect(d.status).toBe(1);
    expect(d.escrow).toBe(intent.budget);

    await schedule(c, intent, [{ replicaIndex: 0, nodeId: node }]);
    d = await getDeployment(c, id);
    expect(d.status).toBe(2);
    const n = await getNode(c, node);
    expect(n.freeCpuMillis).toBe(4000 - 500);
    expect(n.placed).toBe(1);

    await attestAs(c, 0, id, 0, 0);
    d = await getDeployment(c, id);
    expect(d.status).toBe(3);
    const r = await getReplica(c, id, 0);
    expect(r.status).toBe(2);

    await c.increaseTime(100);
    await send(c, DEPLOYER, { ...dr(c), functionName: "terminate", args: [intent] });
    const after = await getReplica(c, id, 0);
    const paid = parseEther("0.0001") * (BigInt(after.since) - BigInt(r.since));
    expect(paid).toBeGreaterThanOrEqual(parseEther("0.0001") * 100n);
    const operator = c.accounts[OPERATORS[0]].address;
    expect(await innerBalance(c, operator)).toBe(paid);
    expect(await innerBalance(c, deployer)).toBe(intent.budget - paid);
    d = await getDeployment(c, id);
    expect(d.status).toBe(5);
    expect(d.escrow).toBe(0n);
    expect((await getNode(c, node)).freeCpuMillis).toBe(4000);
  });
});

describe("job lifecycle", () => {
  it("3 replicas on three operators' nodes: Running, a strict majority agrees, all paid for their run time, the rest refunded", async () => {
    const price = parseEther("0.0001");
    for (const k of [0, 1, 2]) await registerNode(c, k, { pricePerSecond: price });
    await approveMeasurementOnChain(c);
    await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
    const intent = makeIntent(c, { kind: 1, replicas: 3, quorum: 2, maxRunSeconds: 3600 });
    const { id } = await submit(c, intent);
    await schedule(
      c,
      intent,
      [0, 1, 2].map((i) => ({ replicaIndex: i, nodeId: i + 1 })),
    );
    for (const k of [0, 1, 2]) await attestAs(c, k, id, k, 0);
    expect((await getDeployment(c, id)).status).toBe(3);
    await c.increaseTime(120);
    const output = `0x${"5a".repeat(32)}` as const;
    await attestAs(c, 0, id, 0, 1, { outputHash: output });
    await attestAs(c, 1, id, 1, 1, { outputHash: output });
    expect(await c.publicClient.readContract({ ...dr(c), functionName: "jobResult", args: [id] })).toBe(output);
    const d = await getDeployment(c, id);
    expect([d.status, d.placed, d.running]).toEqual([4, 0, 0]);
    expect((await getReplica(c, id, 2)).status).toBe(6); // stopped when the job became final
    const paid = await Promise.all(OPERATORS.map((o) => innerBalance(c, c.accounts[o].address)));
    for (const p of paid) expect(p).toBeGreaterThanOrEqual(price * 120n);
    for (const n of [1, 2, 3]) expect((await getNode(c, n)).jailed).toBe(false);
    await send(c, 16, { ...dr(c), functionName: "terminate", args: [intent] }); // anyone, once final
    expect(await innerBalance(c, intent.deployer)).toBe(intent.budget - paid.reduce((x, y) => x + y, 0n));
  });
});
