/**
 * readLastAttestations on the real in-process chain: each node's latest attestation time, read
 * newest blocks first and stopping once every asked-for node was seen. Checked against a full
 * read of the Attested events through viem's getContractEvents, and by counting the eth_getLogs
 * ranges it asked for.
 */
import type { PublicClient } from "viem";
import { beforeAll, describe, expect, it } from "vitest";
import { readLastAttestations } from "../../src/api/nodeResource";
import { deploymentRegistryAbi } from "../../src/chain/abi";
import { AttestedStatus } from "../../src/chain/lifecycle";
import { inProcessChain, type InProcessChain } from "../helpers/chain";
import { approve, approveMeasurementOnChain, attestAs, DEPLOYER, makeIntent, registerNode, schedule, submit } from "../contracts/fixtures";

let c: InProcessChain;
let gap: bigint;

beforeAll(async () => {
  c = await inProcessChain();
  await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
  await approveMeasurementOnChain(c);
  for (const k of [0, 1, 2]) await registerNode(c, k);
  const intent = makeIntent(c, { replicas: 2, nonce: 7n });
  const { id } = await submit(c, intent);
  await schedule(c, intent, [
    { replicaIndex: 0, nodeId: 1 },
    { replicaIndex: 1, nodeId: 2 },
  ]);
  await attestAs(c, 0, id, 0, AttestedStatus.Running, { timestamp: 1_000n });
  const before = await c.publicClient.getBlockNumber();
  for (let i = 0; i < 40; i++) await c.mine(); // node 1's attestation is now 40+ blocks deep
  await attestAs(c, 1, id, 1, AttestedStatus.Running, { timestamp: 2_000n });
  gap = (await c.publicClient.getBlockNumber()) - before;
}, 120_000);

/** The publicClient, counting the eth_getLogs ranges asked for. */
function counting(pc: PublicClient): { client: PublicClient; ranges: [bigint, bigint][] } {
  const ranges: [bigint, bigint][] = [];
  const client = new Proxy(pc, {
    get(target, prop, receiver) {
      if (prop !== "request") return Reflect.get(target, prop, receiver);
      return (args: { method: string; params: [{ fromBlock: string; toBlock: string }] }) => {
        if (args.method === "eth_getLogs") ranges.push([BigInt(args.params[0].fromBlock), BigInt(args.params[0].toBlock)]);
        return target.request(args as never);
      };
    },
  });
  return { client, ranges };
}

describe("readLastAttestations", () => {
  it("agrees with a full read of the Attested events", async () => {
    const all = await c.publicClient.getContractEvents({
      address: c.addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      eventName: "Attested",
      fromBlock: BigInt(c.addresses.deployBlock),
    });
    const expected = new Map<number, bigint>();
    for (const e of all) expected.set(Number(e.args.nodeId), e.args.timestamp!);
    expect(expected).toEqual(
      new Map([
        [1, 1_000n],
        [2, 2_000n],
      ]),
    );
    expect(await readLastAttestations(c.publicClient, c.addresses)).toEqual(expected);
    expect(await readLastAttestations(c.publicClient, c.addresses, [1, 2, 3], 4n)).toEqual(expected);
  });

  it("stops reading once every asked-for node was seen", async () => {
    const head = await c.publicClient.getBlockNumber();
    const recent = counting(c.publicClient);
    expect(await readLastAttestations(recent.client, c.addresses, [2], 4n)).toEqual(new Map([[2, 2_000n]]));
    expect(recent.ranges).toEqual([[head - 3n, head]]); // one window of 4 blocks: node 2 attested in the last block
    const deeper = counting(c.publicClient);
    expect((await readLastAttestations(deeper.client, c.addresses, [1, 2], 4n)).get(1)).toBe(1_000n);
    // windows of 4, 8, 16, 32... until node 1's attestation, 40+ blocks back, then no further
    expect(deeper.ranges[0]).toEqual([head - 3n, head]);
    expect(deeper.ranges.at(-1)![0]).toBeGreaterThan(BigInt(c.addresses.deployBlock));
    expect(deeper.ranges.at(-1)![0]).toBeLessThanOrEqual(head - gap);
    // A node that never attested makes it read back to the deploy block.
    const never = counting(c.publicClient);
    await readLastAttestations(never.client, c.addresses, [1, 2, 3], 4n);
    expect(never.ranges.at(-1)![0]).toBe(BigInt(c.addresses.deployBlock));
  });
});
