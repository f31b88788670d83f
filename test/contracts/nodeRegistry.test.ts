/**
 * NodeRegistry and HyphaToken: every external function's success path and every custom error on
 * the real in-process chain; each revert is mined and the state compared before and after.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { encodeDeployData, keccak256, parseEther, parseEventLogs, toHex, zeroAddress, type Hex } from "viem";
import { hyphaTokenAbi, nodeRegistryAbi } from "../../src/chain/abi";
import { loadBytecode } from "../../src/chain/deploy";
import { inProcessChain, type InProcessChain } from "../helpers/chain";
import {
  AGENTS,
  DEPLOYER,
  H,
  MEASUREMENT,
  OPERATORS,
  ORCH,
  approve,
  approveMeasurementOnChain,
  attestAs,
  decodeRevert,
  dr,
  expectRevert,
  getNode,
  getReplica,
  makeIntent,
  nr,
  registerNode,
  priced,
  schedule,
  send,
  stateReader,
  submit,
  tok,
  tokenBalance,
} from "./fixtures";

let c: InProcessChain;
let base: string;
let snap: string;
const NODES = [1];

beforeAll(async () => {
  c = await inProcessChain();
  base = await c.snapshot();
  await registerNode(c, 0);
  await approveMeasurementOnChain(c);
});
afterAll(async () => {
  await c.revert(base);
});
beforeEach(async () => {
  snap = await c.snapshot();
});
afterEach(async () => {
  await c.revert(snap);
});

const state = () =>
  stateReader(
    c,
    () => [],
    () => NODES,
  );

/**
 * Node 1 dissents in a 3-replica job (quorum 2) on nodes 1, 2, 3 of three operators: slashed to
 * the treasury and jailed when the majority finalizes. Returns a fresh 1-replica service intent
 * (submitted, nothing placed) to try placements with.
 */
async function jailNode1(stakes: bigint[] = []) {
  await registerNode(c, 1, { stake: stakes[1] });
  await registerNode(c, 2, { stake: stakes[2] });
  await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
  const job = makeIntent(c, { kind: 1, replicas: 3, quorum: 2, nonce: 500n });
  const { id } = await submit(c, job);
  await schedule(c, job, [
    { replicaIndex: 0, nodeId: 1 },
    { replicaIndex: 1, nodeId: 2 },
    { replicaIndex: 2, nodeId: 3 },
  ]);
  for (const k of [0, 1, 2]) await attestAs(c, k, id, k, 0);
  const dissenter = stakes.length ? 1 : 0; // with stakes given, node 2 dissents instead
  for (const k of [0, 1, 2]) await attestAs(c, k, id, k, 1, { outputHash: k === dissenter ? H("bb") : H("aa") });
  expect((await getNode(c, dissenter + 1)).jailed).toBe(true);
  const intent = makeIntent(c, { maxRetries: 2 });
  await submit(c, intent);
  return { intent, jobId: id };
}
const op = OPERATORS[0];
const reg = (over: Record<string, unknown> = {}) => ({
  agent: c.accounts[AGENTS[1]].address,
  cpuMillis: 2000,
  memoryMiB: 4096,
  diskMiB: 1000,
  slots: 4,
  pricePerSecond: 7n,
  measurement: MEASUREMENT,
  endpoint: "http://127.0.0.1:7802",
  ...over,
});

describe("register", () => {
  it("stores the node, pulls the stake and emits NodeRegistered", async () => {
    await approve(c, OPERATORS[1], c.addresses.nodeRegistry);
    const before = await tokenBalance(c, c.accounts[OPERATORS[1]].address);
    const stake = c.params.minStake;
    const { logs } = await send(c, OPERATORS[1], { ...nr(c), functionName: "register", args: [reg(), stake] });
    const ev = parseEventLogs({ abi: nodeRegistryAbi, logs: logs as never, eventName: "NodeRegistered" })[0];
    expect(ev.args.nodeId).toBe(2);
    expect(ev.args.registration).toEqual(reg());
    const n = await getNode(c, 2);
    expect(n).toMatchObject({
      operator: c.accounts[OPERATORS[1]].address,
      agent: reg().agent,
      cpuMillis: 2000,
      freeCpuMillis: 2000,
      slots: 4,
      freeSlots: 4,
      placed: 0,
      pricePerSecond: 7n,
      stake,
      unbondingSince: 0n,
      jailed: false,
      endpoint: reg().endpoint,
    });
    expect(await tokenBalance(c, c.accounts[OPERATORS[1]].address)).toBe(before - stake);
    expect(await c.publicClient.readContract({ ...nr(c), functionName: "nodeCount" })).toBe(2);
    expect(await c.publicClient.readContract({ ...nr(c), functionName: "agentOf", args: [2] })).toBe(reg().agent);
    expect(await c.publicClient.readContract({ ...nr(c), functionName: "operatorOf", args: [2] })).toBe(c.accounts[OPERATORS[1]].address);
    expect(await c.publicClient.readContract({ ...nr(c), functionName: "isEligible", args: [2] })).toBe(true);
    expect(await c.publicClient.readContract({ ...nr(c), functionName: "isEligible", args: [9] })).toBe(false);
  });

  it("registerWithPermit uses an EIP-2612 permit instead of approve", async () => {
    const owner = c.accounts[OPERATORS[2]];
    const stake = c.params.minStake;
    const deadline = 2n ** 40n;
    const nonce = await c.publicClient.readContract({ ...tok(c), functionName: "nonces", args: [owner.address] });
    const sig = await owner.signTypedData({
      domain: { name: "Hypha", version: "1", chainId: c.addresses.chainId, verifyingContract: c.addresses.token },
      types: {
        Permit: [
          { name: "owner", type: "address" },
          { name: "spender", type: "address" },
          { name: "value", type: "uint256" },
          { name: "nonce", type: "uint256" },
          { name: "deadline", type: "uint256" },
        ],
      },
      primaryType: "Permit",
      message: { owner: owner.address, spender: c.addresses.nodeRegistry, value: stake, nonce, deadline },
    });
    const r = `0x${sig.slice(2, 66)}` as Hex;
    const s = `0x${sig.slice(66, 130)}` as Hex;
    const v = parseInt(sig.slice(130, 132), 16);
    await send(c, OPERATORS[2], {
      ...nr(c),
      functionName: "registerWithPermit",
      args: [reg({ agent: c.accounts[AGENTS[2]].address }), stake, deadline, v, r, s],
    });
    expect((await getNode(c, 2)).stake).toBe(stake);
  });

  it("rejects bad registrations naming the field, changing nothing", async () => {
    await approve(c, OPERATORS[1], c.addresses.nodeRegistry);
    const read = state();
    const call = (r: ReturnType<typeof reg>, stake = c.params.minStake) => ({ ...nr(c), functionName: "register", args: [r, stake] }) as const;
    await expectRevert(c, OPERATORS[1], call(reg({ agent: zeroAddress })), "ZeroAddress", ["agent"], read);
    for (const f of ["cpuMillis", "memoryMiB", "diskMiB", "slots"]) {
      await expectRevert(c, OPERATORS[1], call(reg({ [f]: 0 })), "ZeroCapacity", [f], read);
    }
    await expectRevert(c, OPERATORS[1], call(reg({ endpoint: "" })), "EmptyEndpoint", [], read);
    await expectRevert(c, OPERATORS[1], call(reg(), c.params.minStake - 1n), "StakeTooLow", [c.params.minStake - 1n, c.params.minStake], read);
    await expectRevert(c, OPERATORS[1], call(reg(), 0n), "StakeTooLow", [0n, c.params.minStake], read);
    await expectRevert(c, 18, call(reg()), "ERC20InsufficientAllowance", undefined, read);
  });
});

describe("operator updates", () => {
  it("update capacity, endpoint, price, agent, measurement; add stake", async () => {
    await send(c, op, { ...nr(c), functionName: "updateCapacity", args: [1, 1000, 1000, 1000, 2] });
    await send(c, op, { ...nr(c), functionName: "updateEndpoint", args: [1, "http://node-1"] });
    await send(c, op, { ...nr(c), functionName: "updatePrice", args: [1, 9n] });
    await send(c, op, { ...nr(c), functionName: "updateAgent", args: [1, c.accounts[AGENTS[2]].address] });
    const m2 = keccak256(toHex("m2"));
    await send(c, op, { ...nr(c), functionName: "updateMeasurement", args: [1, m2] });
    await approve(c, DEPLOYER, c.addresses.nodeRegistry);
    await send(c, DEPLOYER, { ...nr(c), functionName: "addStake", args: [1, 5n] }); // anyone may add stake
    const n = await getNode(c, 1);
    expect(n).toMatchObject({
      cpuMillis: 1000,
      freeCpuMillis: 1000,
      slots: 2,
      freeSlots: 2,
      endpoint: "http://node-1",
      pricePerSecond: 9n,
      agent: c.accounts[AGENTS[2]].address,
      measurement: m2,
      stake: c.params.minStake * 10n + 5n,
    });
    expect(await c.publicClient.readContract({ ...nr(c), functionName: "isEligible", args: [1] })).toBe(false); // m2 not approved
  });

  it("capacity cannot go below what is reserved; free capacity follows", async () => {
    await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
    const intent = makeIntent(c, { cpuMillis: 1500, memoryMiB: 3000, diskMiB: 50 });
    await submit(c, intent);
    await schedule(c, intent, [{ replicaIndex: 0, nodeId: 1 }]);
    const read = state();
    const upd = (cpu: number, mem: number, disk: number, slots: number) =>
      ({ ...nr(c), functionName: "updateCapacity", args: [1, cpu, mem, disk, slots] }) as const;
    await expectRevert(c, op, upd(1000, 8192, 10_000, 16), "CapacityBelowReserved", [1, "cpuMillis", 1500n, 1000n], read);
    await expectRevert(c, op, upd(4000, 2000, 10_000, 16), "CapacityBelowReserved", [1, "memoryMiB", 3000n, 2000n], read);
    await expectRevert(c, op, upd(4000, 8192, 10, 16), "CapacityBelowReserved", [1, "diskMiB", 50n, 10n], read);
    await send(c, op, { ...upd(1500, 3000, 50, 1) });
    await send(c, op, { ...upd(4000, 8192, 10_000, 16) });
    const second = makeIntent(c, { nonce: 2n, cpuMillis: 1 });
    await submit(c, second);
    await schedule(c, second, [{ replicaIndex: 0, nodeId: 1 }]);
    await expectRevert(c, op, upd(4000, 8192, 10_000, 1), "CapacityBelowReserved", [1, "slots", 2n, 1n], state());
    await send(c, DEPLOYER, { ...dr(c), functionName: "terminate", args: [second] });
    await send(c, op, { ...upd(1500, 3000, 50, 1) });
    const n = await getNode(c, 1);
    expect([n.freeCpuMillis, n.freeMemoryMiB, n.freeDiskMiB, n.freeSlots, n.placed]).toEqual([0, 0, 0, 0, 1]);
    await expectRevert(c, op, upd(1500, 3000, 50, 0), "ZeroCapacity", ["slots"], state());
  });

  it("errors: UnknownNode, NotOperator, EmptyEndpoint, ZeroAddress, StakeTooLow on zero add", async () => {
    const read = state();
    await expectRevert(c, op, { ...nr(c), functionName: "updatePrice", args: [7, 1n] }, "UnknownNode", [7], read);
    await expectRevert(c, op, { ...nr(c), functionName: "updatePrice", args: [0, 1n] }, "UnknownNode", [0], read);
    await expectRevert(
      c,
      16,
      { ...nr(c), functionName: "updatePrice", args: [1, 1n] },
      "NotOperator",
      [1, c.accounts[16].address, c.accounts[op].address],
      read,
    );
    await expectRevert(c, op, { ...nr(c), functionName: "updateEndpoint", args: [1, ""] }, "EmptyEndpoint", [], read);
    await expectRevert(c, op, { ...nr(c), functionName: "updateAgent", args: [1, zeroAddress] }, "ZeroAddress", ["agent"], read);
    await expectRevert(c, op, { ...nr(c), functionName: "addStake", args: [1, 0n] }, "StakeTooLow", [0n, 1n], read);
    await expectRevert(c, op, { ...nr(c), functionName: "getNode", args: [5] }, "UnknownNode", [5]);
  });
});

describe("unbonding and withdraw", () => {
  it("beginUnbonding stops placements; withdraw after the delay pays the stake and retires the node", async () => {
    const read = state();
    await expectRevert(c, op, { ...nr(c), functionName: "withdraw", args: [1] }, "NotUnbonding", [1], read);
    await send(c, op, { ...nr(c), functionName: "beginUnbonding", args: [1] });
    const since = (await getNode(c, 1)).unbondingSince;
    expect(since).toBeGreaterThan(0n);
    expect(await c.publicClient.readContract({ ...nr(c), functionName: "isEligible", args: [1] })).toBe(false);
    await expectRevert(c, op, { ...nr(c), functionName: "beginUnbonding", args: [1] }, "AlreadyUnbonding", [1, since], read);
    await expectRevert(c, op, { ...nr(c), functionName: "withdraw", args: [1] }, "StillBonded", undefined, read);
    // no placement on an unbonding node
    await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
    const intent = makeIntent(c);
    await submit(c, intent);
    await expectRevert(c, ORCH, { ...dr(c), functionName: "schedule", args: [intent, await priced(c, [{ replicaIndex: 0, nodeId: 1 }])] }, "NodeNotEligible", [
      1,
      "unbonding",
    ]);
    await c.increaseTime(Number(c.params.unbondingDelaySeconds));
    const before = await tokenBalance(c, c.accounts[op].address);
    const stake = (await getNode(c, 1)).stake;
    await send(c, op, { ...nr(c), functionName: "withdraw", args: [1] });
    expect(await tokenBalance(c, c.accounts[op].address)).toBe(before + stake);
    expect((await getNode(c, 1)).stake).toBe(0n);
    await expectRevert(c, op, { ...nr(c), functionName: "withdraw", args: [1] }, "NodeExited", [1]);
    await expectRevert(c, op, { ...nr(c), functionName: "updatePrice", args: [1, 1n] }, "NodeExited", [1]);
    await expectRevert(c, DEPLOYER, { ...nr(c), functionName: "addStake", args: [1, 1n] }, "NodeExited", [1]);
    await expectRevert(c, ORCH, { ...dr(c), functionName: "schedule", args: [intent, await priced(c, [{ replicaIndex: 0, nodeId: 1 }])] }, "NodeNotEligible", [
      1,
      "exited",
    ]);
  });

  it("withdraw waits until nothing is placed on the node", async () => {
    await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
    const intent = makeIntent(c);
    await submit(c, intent);
    await schedule(c, intent, [{ replicaIndex: 0, nodeId: 1 }]);
    await send(c, op, { ...nr(c), functionName: "beginUnbonding", args: [1] });
    await c.increaseTime(Number(c.params.unbondingDelaySeconds) + 1);
    await c.mine();
    await expectRevert(c, op, { ...nr(c), functionName: "withdraw", args: [1] }, "ReplicasStillPlaced", [1, 1], state());
    await send(c, DEPLOYER, { ...dr(c), functionName: "terminate", args: [intent] });
    await send(c, op, { ...nr(c), functionName: "withdraw", args: [1] });
  });
});

describe("admin and DeploymentRegistry-only functions", () => {
  it("measurement approval and unjail are admin-only; jailed nodes get no placements until unjailed", async () => {
    const read = state();
    await expectRevert(
      c,
      16,
      { ...nr(c), functionName: "setMeasurementApproved", args: [MEASUREMENT, false] },
      "AccessControlUnauthorizedAccount",
      undefined,
      read,
    );
    await expectRevert(c, 16, { ...nr(c), functionName: "unjail", args: [1] }, "AccessControlUnauthorizedAccount", undefined, read);
    await expectRevert(c, 0, { ...nr(c), functionName: "unjail", args: [1] }, "NodeNotEligible", [1, "not jailed"], read);
    // jail node 1: it votes against the majority of a 3-replica job (nodes of three operators)
    const { intent } = await jailNode1();
    const isJailed = (id: number) => c.publicClient.readContract({ ...nr(c), functionName: "isJailed", args: [id] });
    expect(await isJailed(1)).toBe(true);
    await expectRevert(c, ORCH, { ...dr(c), functionName: "schedule", args: [intent, await priced(c, [{ replicaIndex: 0, nodeId: 1 }])] }, "NodeNotEligible", [
      1,
      "jailed",
    ]);
    await send(c, 0, { ...nr(c), functionName: "unjail", args: [1] });
    expect((await getNode(c, 1)).jailed).toBe(false);
    expect(await isJailed(1)).toBe(false);
    expect(await isJailed(99)).toBe(false); // an unknown node is not jailed
    await schedule(c, intent, [{ replicaIndex: 0, nodeId: 1 }]);
  });

  it("reserve, release and slash only from the DeploymentRegistry; InsufficientCapacity per resource", async () => {
    const read = state();
    const res = { cpuMillis: 1, memoryMiB: 1, diskMiB: 1 };
    await expectRevert(c, 0, { ...nr(c), functionName: "reserve", args: [1, res, 7n] }, "AccessControlUnauthorizedAccount", undefined, read);
    await expectRevert(c, 0, { ...nr(c), functionName: "release", args: [1, res] }, "AccessControlUnauthorizedAccount", undefined, read);
    await expectRevert(
      c,
      0,
      { ...nr(c), functionName: "slash", args: [1, zeroAddress, `0x${"00".repeat(32)}`] },
      "AccessControlUnauthorizedAccount",
      undefined,
      read,
    );
    await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
    for (const [over, resource, free, need] of [
      [{ memoryMiB: 9000 }, "memoryMiB", 8192n, 9000n],
      [{ diskMiB: 20_000 }, "diskMiB", 10_000n, 20_000n],
    ] as const) {
      const intent = makeIntent(c, { ...over, nonce: BigInt(need) });
      await submit(c, intent);
      await expectRevert(
        c,
        ORCH,
        { ...dr(c), functionName: "schedule", args: [intent, await priced(c, [{ replicaIndex: 0, nodeId: 1 }])] },
        "InsufficientCapacity",
        [1, resource, free, need],
        read,
      );
    }
    await send(c, op, { ...nr(c), functionName: "updateCapacity", args: [1, 4000, 8192, 10_000, 1] });
    const two = makeIntent(c, { replicas: 2, nonce: 3n });
    await submit(c, two);
    await expectRevert(
      c,
      ORCH,
      {
        ...dr(c),
        functionName: "schedule",
        args: [
          two,
          await priced(c, [
            { replicaIndex: 0, nodeId: 1 },
            { replicaIndex: 1, nodeId: 1 },
          ]),
        ],
      },
      "InsufficientCapacity",
      [1, "slots", 0n, 1n],
      read,
    );
  });

  it("withdraw is refused while jailed (the stake answers for the fault), allowed once unjailed", async () => {
    await jailNode1();
    await send(c, op, { ...nr(c), functionName: "beginUnbonding", args: [1] });
    await c.increaseTime(Number(c.params.unbondingDelaySeconds) + 1);
    await c.mine();
    await expectRevert(c, op, { ...nr(c), functionName: "withdraw", args: [1] }, "NodeNotEligible", [1, "jailed"], state());
    await send(c, 0, { ...nr(c), functionName: "unjail", args: [1] });
    const stake = (await getNode(c, 1)).stake;
    const before = await tokenBalance(c, c.accounts[op].address);
    await send(c, op, { ...nr(c), functionName: "withdraw", args: [1] });
    expect(await tokenBalance(c, c.accounts[op].address)).toBe(before + stake);
  });

  it("a node slashed below minStake is understaked: not placed (even unjailed) until addStake tops it up", async () => {
    const min = c.params.minStake;
    const { intent } = await jailNode1([min * 10n, min, min]); // node 2 (stake = minStake) dissents
    const n2 = await getNode(c, 2);
    expect(n2.stake).toBe(min - (min * BigInt(c.params.slashBps)) / 10_000n);
    expect(n2.understaked).toBe(true);
    await send(c, 0, { ...nr(c), functionName: "unjail", args: [2] });
    expect(await c.publicClient.readContract({ ...nr(c), functionName: "isEligible", args: [2] })).toBe(false);
    await expectRevert(
      c,
      ORCH,
      { ...dr(c), functionName: "schedule", args: [intent, await priced(c, [{ replicaIndex: 0, nodeId: 2 }])] },
      "NodeNotEligible",
      [2, "stake below minimum"],
      stateReader(
        c,
        () => [],
        () => [2],
      ),
    );
    // topping up by less than the shortfall keeps it understaked; reaching minStake clears it
    await approve(c, OPERATORS[1], c.addresses.nodeRegistry);
    await send(c, OPERATORS[1], { ...nr(c), functionName: "addStake", args: [2, 1n] });
    expect((await getNode(c, 2)).understaked).toBe(true);
    await send(c, OPERATORS[1], { ...nr(c), functionName: "addStake", args: [2, min - n2.stake - 1n] });
    expect((await getNode(c, 2)).understaked).toBe(false);
    await schedule(c, intent, [{ replicaIndex: 0, nodeId: 2 }]);
  });

  it("an agent key belongs to one node for ever: AgentKeyInUse on register and updateAgent, even after rotating away", async () => {
    await approve(c, OPERATORS[1], c.addresses.nodeRegistry);
    const agent0 = c.accounts[AGENTS[0]].address;
    const read = state();
    await expectRevert(
      c,
      OPERATORS[1],
      { ...nr(c), functionName: "register", args: [reg({ agent: agent0 }), c.params.minStake] },
      "AgentKeyInUse",
      [agent0, 1],
      read,
    );
    expect(await c.publicClient.readContract({ ...nr(c), functionName: "nodeOfAgent", args: [agent0] })).toBe(1);
    await send(c, OPERATORS[1], { ...nr(c), functionName: "register", args: [reg(), c.params.minStake] }); // node 2, agent AGENTS[1]
    await expectRevert(c, op, { ...nr(c), functionName: "updateAgent", args: [1, reg().agent] }, "AgentKeyInUse", [reg().agent, 2], state());
    // node 1 rotates to a new key; its old key still may not go to another node
    await send(c, op, { ...nr(c), functionName: "updateAgent", args: [1, c.accounts[AGENTS[2]].address] });
    await expectRevert(c, OPERATORS[1], { ...nr(c), functionName: "updateAgent", args: [2, agent0] }, "AgentKeyInUse", [agent0, 1], state());
  });

  it("a placement at a stale price reverts PriceChanged(node, price, expected); attesterOf refuses a revoked build", async () => {
    await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
    const intent = makeIntent(c);
    const { id } = await submit(c, intent);
    const price = (await getNode(c, 1)).pricePerSecond;
    await send(c, op, { ...nr(c), functionName: "updatePrice", args: [1, price + 1n] });
    await expectRevert(
      c,
      ORCH,
      { ...dr(c), functionName: "schedule", args: [intent, [{ replicaIndex: 0, nodeId: 1, pricePerSecond: price }]] },
      "PriceChanged",
      [1, price + 1n, price],
      stateReader(
        c,
        () => [id],
        () => NODES,
      ),
    );
    await schedule(c, intent, [{ replicaIndex: 0, nodeId: 1 }]);
    expect((await getReplica(c, id, 0)).pricePerSecond).toBe(price + 1n);
    expect(await c.publicClient.readContract({ ...nr(c), functionName: "attesterOf", args: [1] })).toBe(c.accounts[AGENTS[0]].address);
    await approveMeasurementOnChain(c, MEASUREMENT, false);
    await expectRevert(c, 0, { ...nr(c), functionName: "attesterOf", args: [1] }, "NodeNotEligible", [1, "measurement not approved"]);
    await expectRevert(c, 0, { ...nr(c), functionName: "attesterOf", args: [9] }, "UnknownNode", [9]);
  });

  it("constructor parameters are checked", async () => {
    const bytecode = loadBytecode("NodeRegistry");
    const deployCall = (args: readonly unknown[]) =>
      c.publicClient.call({ account: c.accounts[0].address, data: encodeDeployData({ abi: nodeRegistryAbi, bytecode, args: args as never }) }).catch((e) => e);
    const a = c.accounts[0].address;
    expect(decodeRevert(await deployCall([c.addresses.token, a, 1n, 1n, 10_001, a]))).toEqual({
      errorName: "InvalidParameter",
      args: ["slashBps", "above 10000"],
    });
    expect(decodeRevert(await deployCall([zeroAddress, a, 1n, 1n, 1, a]))).toEqual({ errorName: "ZeroAddress", args: ["token"] });
    expect(decodeRevert(await deployCall([c.addresses.token, zeroAddress, 1n, 1n, 1, a]))).toEqual({ errorName: "ZeroAddress", args: ["admin"] });
    expect(decodeRevert(await deployCall([c.addresses.token, a, 1n, 1n, 1, zeroAddress]))).toEqual({ errorName: "ZeroAddress", args: ["treasury"] });
    const views = await Promise.all(
      (["minStake", "unbondingDelay", "slashBps", "treasury"] as const).map((f) => c.publicClient.readContract({ ...nr(c), functionName: f })),
    );
    expect(views).toEqual([c.params.minStake, c.params.unbondingDelaySeconds, c.params.slashBps, a]);
    expect(await c.publicClient.readContract({ ...nr(c), functionName: "measurementApproved", args: [MEASUREMENT] })).toBe(true);
  });
});

describe("HyphaToken", () => {
  it("only minters mint", async () => {
    await send(c, 0, { ...tok(c), functionName: "mint", args: [c.accounts[19].address, 5n] });
    expect(await tokenBalance(c, c.accounts[19].address)).toBe(parseEther("1000000") + 5n);
    await expectRevert(
      c,
      19,
      { address: c.addresses.token, abi: hyphaTokenAbi, functionName: "mint", args: [c.accounts[19].address, 5n] },
      "AccessControlUnauthorizedAccount",
      undefined,
      state(),
    );
  });
});
