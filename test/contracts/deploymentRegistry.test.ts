/**
 * DeploymentRegistry: every external function's success path and every custom error, on the real
 * in-process chain. Each revert is really mined and the state (token and registry balances,
 * deployments, replicas, nodes) is compared before and after.
 */
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from "vitest";
import { parseEther, parseEventLogs, toFunctionSelector, zeroAddress, type Hex } from "viem";
import { deploymentRegistryAbi } from "../../src/chain/abi";
import type { Attestation } from "../../src/chain/eip712";
import { inProcessChain, type InProcessChain } from "../helpers/chain";
import {
  AGENTS,
  DEPLOYER,
  MEASUREMENT,
  OPERATORS,
  ORCH,
  approve,
  approveMeasurementOnChain,
  attestAs,
  dr,
  decodeRevert,
  expectRevert,
  getDeployment,
  getNode,
  getReplica,
  innerBalance,
  intentId,
  makeIntent,
  nr,
  registerNode,
  H,
  priced,
  schedule as scheduleOn,
  send,
  signAttestation,
  signIntent,
  stateReader,
  submit,
  tokenBalance,
} from "./fixtures";
import { isBudgetSpent } from "../../src/watcher/decide/budgetSpent";

let c: InProcessChain;
let base: string;
let snap: string;
let ids: Hex[] = [];
const NODES = [1, 2];
const PRICE = parseEther("0.0001");

beforeAll(async () => {
  c = await inProcessChain();
  base = await c.snapshot();
  await registerNode(c, 0, { pricePerSecond: PRICE });
  await registerNode(c, 1, { pricePerSecond: PRICE * 2n, slots: 1 });
  await approveMeasurementOnChain(c);
  await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
});
afterAll(async () => {
  await c.revert(base);
});
beforeEach(async () => {
  snap = await c.snapshot();
  ids = [];
});
afterEach(async () => {
  await c.revert(snap);
});

const state = () =>
  stateReader(
    c,
    () => ids,
    () => NODES,
  );
const schedule = (intent: ReturnType<typeof makeIntent>, placements: { replicaIndex: number; nodeId: number }[]) => scheduleOn(c, intent, placements);

async function running(over: Partial<ReturnType<typeof makeIntent>> = {}) {
  const intent = makeIntent(c, over);
  const { id } = await submit(c, intent);
  ids.push(id);
  await schedule(intent, [{ replicaIndex: 0, nodeId: 1 }]);
  await attestAs(c, 0, id, 0, 0);
  return { intent, id };
}

describe("submitIntent", () => {
  it("records the deployment, emits the full intent and signature (relayed by its sender), escrows by transferFrom", async () => {
    const intent = makeIntent(c, { replicas: 2, maxRetries: 3 });
    const before = await tokenBalance(c, c.accounts[DEPLOYER].address);
    const { id, sig, logs } = await submit(c, intent);
    const ev = parseEventLogs({ abi: deploymentRegistryAbi, logs: logs as never, eventName: "IntentSubmitted" })[0];
    expect(ev.args.id).toBe(id);
    expect(ev.args.deployer).toBe(intent.deployer);
    // the relayer is the transaction's sender (no longer an event topic)
    expect((await c.publicClient.getTransaction({ hash: ev.transactionHash })).from.toLowerCase()).toBe(c.accounts[12].address.toLowerCase());
    expect(ev.args.intent).toEqual(intent);
    expect(ev.args.signature).toBe(sig);
    expect(await getDeployment(c, id)).toEqual({
      status: 1,
      kind: 0,
      replicas: 2,
      placed: 0,
      running: 0,
      quorum: 0,
      retriesLeft: 3,
      escrow: intent.budget,
      cpuMillis: intent.cpuMillis,
      memoryMiB: intent.memoryMiB,
      diskMiB: intent.diskMiB,
      nodeFaults: 0,
    });
    expect(await tokenBalance(c, c.accounts[DEPLOYER].address)).toBe(before - intent.budget);
  });

  it("takes the budget from the deposit when it covers it", async () => {
    await send(c, DEPLOYER, { ...dr(c), functionName: "deposit", args: [parseEther("25")] });
    const before = await tokenBalance(c, c.accounts[DEPLOYER].address);
    const intent = makeIntent(c);
    await submit(c, intent);
    expect(await innerBalance(c, intent.deployer)).toBe(parseEther("25") - intent.budget);
    expect(await tokenBalance(c, intent.deployer)).toBe(before);
  });

  it("submitIntents records several in one transaction", async () => {
    const intents = [makeIntent(c, { nonce: 10n }), makeIntent(c, { nonce: 11n, kind: 1, quorum: 1 })];
    const sigs = await Promise.all(intents.map((i) => signIntent(c, i)));
    await send(c, 13, { ...dr(c), functionName: "submitIntents", args: [intents, sigs] });
    for (const i of intents) expect((await getDeployment(c, await intentId(c, i))).status).toBe(1);
  });

  it("rejects each invalid field with InvalidIntent(field, reason) and changes nothing", async () => {
    const cases: [Partial<ReturnType<typeof makeIntent>>, string, string][] = [
      [{ deployer: zeroAddress }, "deployer", "zero address"],
      [{ specHash: `0x${"00".repeat(32)}` }, "specHash", "zero"],
      [{ replicas: 0 }, "replicas", "must be at least 1"],
      [{ replicas: 256 }, "replicas", "more than 255"],
      [{ cpuMillis: 0 }, "cpuMillis", "must be at least 1"],
      [{ memoryMiB: 0 }, "memoryMiB", "must be at least 1"],
      [{ budget: 0n }, "budget", "must be at least 1"],
      [{ quorum: 1 }, "quorum", "must be 0 for a service"],
      [{ kind: 1, quorum: 0 }, "quorum", "must be a strict majority of replicas"],
      [{ kind: 1, quorum: 2, replicas: 1 }, "quorum", "more than replicas"],
      [{ kind: 1, quorum: 1, replicas: 2 }, "quorum", "must be a strict majority of replicas"],
      [{ kind: 1, quorum: 2, replicas: 4 }, "quorum", "must be a strict majority of replicas"],
      [{ kind: 1, quorum: 1, maxRunSeconds: 0 }, "maxRunSeconds", "must be at least 1"],
      [{ budget: 1n }, "budget", "must pay every replica 60 s at maxPricePerSecond"],
      [{ replicas: 3, budget: parseEther("0.001") * 180n - 1n }, "budget", "must pay every replica 60 s at maxPricePerSecond"],
      [{ kind: 2 }, "kind", "unknown (0 service, 1 job)"],
    ];
    const read = state();
    for (const [over, field, reason] of cases) {
      const intent = makeIntent(c, over);
      const sig = await signIntent(c, intent);
      await expectRevert(c, 12, { ...dr(c), functionName: "submitIntent", args: [intent, sig] }, "InvalidIntent", [field, reason], read);
    }
  });

  it("rejects dirty high bits in a field (not a valid ABI encoding)", async () => {
    const intent = makeIntent(c);
    const sig = await signIntent(c, intent);
    const { encodeFunctionData } = await import("viem");
    const data = encodeFunctionData({ abi: deploymentRegistryAbi, functionName: "submitIntent", args: [intent, sig] });
    // replicas is word 3 of the struct (after the selector): set a bit above uint16
    const word = 4 + 3 * 32;
    const bytes = Buffer.from(data.slice(2), "hex");
    bytes[word + 28] = 1;
    const err = await c.publicClient
      .call({ to: c.addresses.deploymentRegistry, data: `0x${bytes.toString("hex")}`, account: c.accounts[12].address })
      .catch((e) => e);
    expect(decodeRevert(err)).toEqual({ errorName: "InvalidIntent", args: ["intent", "a field exceeds its type"] });
    // the clean encoding of the same intent is accepted
    await c.publicClient.call({ to: c.addresses.deploymentRegistry, data, account: c.accounts[12].address });
  });

  it("InvalidSignature when someone else signed, IntentExpired after the deadline, AlreadySubmitted on replay", async () => {
    const read = state();
    const intent = makeIntent(c);
    const bad = await signIntent(c, intent, 13);
    await expectRevert(c, 12, { ...dr(c), functionName: "submitIntent", args: [intent, bad] }, "InvalidSignature", [intent.deployer], read);
    await expectRevert(c, 12, { ...dr(c), functionName: "submitIntent", args: [intent, "0x1234"] }, "InvalidSignature", [intent.deployer], read);
    const now = await c.now();
    const old = makeIntent(c, { deadline: now - 1n });
    await expectRevert(c, 12, { ...dr(c), functionName: "submitIntent", args: [old, await signIntent(c, old)] }, "IntentExpired", undefined, read);
    const { id, sig } = await submit(c, intent);
    ids.push(id);
    await expectRevert(c, 14, { ...dr(c), functionName: "submitIntent", args: [intent, sig] }, "AlreadySubmitted", [id], read);
  });

  it("without deposit or allowance the token's error surfaces and nothing changes", async () => {
    const intent = makeIntent(c, { deployer: c.accounts[15].address });
    const sig = await signIntent(c, intent, 15);
    await expectRevert(c, 12, { ...dr(c), functionName: "submitIntent", args: [intent, sig] }, "ERC20InsufficientAllowance", undefined, state());
  });

  it("LengthMismatch for submitIntents", async () => {
    const intent = makeIntent(c);
    await expectRevert(c, 12, { ...dr(c), functionName: "submitIntents", args: [[intent], []] }, "LengthMismatch", [1n, 0n], state());
  });
});

describe("schedule", () => {
  it("places replicas, reserves capacity at the node's price and moves to Scheduled", async () => {
    const intent = makeIntent(c, { replicas: 2 });
    const { id } = await submit(c, intent);
    await schedule(intent, [{ replicaIndex: 0, nodeId: 1 }]);
    expect((await getDeployment(c, id)).status).toBe(1);
    await schedule(intent, [{ replicaIndex: 1, nodeId: 2 }]);
    const d = await getDeployment(c, id);
    expect(d.status).toBe(2);
    expect(d.placed).toBe(2);
    const r1 = await getReplica(c, id, 1);
    expect(r1.nodeId).toBe(2);
    expect(r1.status).toBe(1);
    expect(r1.attempt).toBe(1);
    expect(r1.pricePerSecond).toBe(PRICE * 2n);
    const n2 = await getNode(c, 2);
    expect(n2.freeSlots).toBe(0);
    expect(n2.freeMemoryMiB).toBe(8192 - 256);
  });

  it("scheduleMany places several deployments in one transaction", async () => {
    const a = makeIntent(c, { nonce: 20n });
    const b = makeIntent(c, { nonce: 21n });
    const ia = (await submit(c, a)).id;
    const ib = (await submit(c, b)).id;
    await send(c, ORCH, {
      ...dr(c),
      functionName: "scheduleMany",
      args: [
        [a, b],
        [await priced(c, [{ replicaIndex: 0, nodeId: 1 }]), await priced(c, [{ replicaIndex: 0, nodeId: 2 }])],
      ],
    });
    expect((await getDeployment(c, ia)).status).toBe(2);
    expect((await getReplica(c, ib, 0)).nodeId).toBe(2);
  });

  it("errors: role, unknown, index, not pending, price, capacity, eligibility, inactive, lengths", async () => {
    const intent = makeIntent(c, { replicas: 2, maxPricePerSecond: PRICE });
    const { id } = await submit(c, intent);
    ids.push(id);
    const read = state();
    const call = async (placements: { replicaIndex: number; nodeId: number }[], i = intent) =>
      ({ ...dr(c), functionName: "schedule", args: [i, await priced(c, placements)] }) as const;
    await expectRevert(c, DEPLOYER, await call([{ replicaIndex: 0, nodeId: 1 }]), "AccessControlUnauthorizedAccount", undefined, read);
    const unknown = makeIntent(c, { nonce: 99n });
    await expectRevert(c, ORCH, await call([{ replicaIndex: 0, nodeId: 1 }], unknown), "UnknownDeployment", [await intentId(c, unknown)], read);
    await expectRevert(c, ORCH, await call([{ replicaIndex: 2, nodeId: 1 }]), "BadReplicaIndex", [id, 2, 2], read);
    await expectRevert(c, ORCH, await call([{ replicaIndex: 0, nodeId: 2 }]), "PriceTooHigh", [2, PRICE * 2n, PRICE], read);
    await expectRevert(
      c,
      ORCH,
      await call([
        { replicaIndex: 0, nodeId: 1 },
        { replicaIndex: 0, nodeId: 1 },
      ]),
      "ReplicaNotPending",
      [id, 0, 1],
      read,
    );
    await expectRevert(c, ORCH, await call([{ replicaIndex: 0, nodeId: 9 }]), "UnknownNode", [9], read);
    await expectRevert(c, ORCH, { ...dr(c), functionName: "scheduleMany", args: [[intent], []] }, "LengthMismatch", [1n, 0n], read);
    // capacity: a replica bigger than the node
    const big = makeIntent(c, { nonce: 30n, cpuMillis: 5000 });
    const bigId = (await submit(c, big)).id;
    ids.push(bigId);
    await expectRevert(c, ORCH, await call([{ replicaIndex: 0, nodeId: 1 }], big), "InsufficientCapacity", [1, "cpuMillis", 4000n, 5000n], read);
    // eligibility: revoked measurement
    await approveMeasurementOnChain(c, MEASUREMENT, false);
    await expectRevert(c, ORCH, await call([{ replicaIndex: 0, nodeId: 1 }]), "NodeNotEligible", [1, "measurement not approved"], read);
    await approveMeasurementOnChain(c, MEASUREMENT, true);
    // inactive: terminated
    await send(c, DEPLOYER, { ...dr(c), functionName: "terminate", args: [intent] });
    await expectRevert(c, ORCH, await call([{ replicaIndex: 0, nodeId: 1 }]), "DeploymentNotActive", [id, 5], read);
  });
});

describe("attest", () => {
  it("Running from every replica makes a service Running; attestMany batches", async () => {
    const intent = makeIntent(c, { replicas: 2 });
    const { id } = await submit(c, intent);
    await schedule(intent, [
      { replicaIndex: 0, nodeId: 1 },
      { replicaIndex: 1, nodeId: 2 },
    ]);
    const atts: Attestation[] = [0, 1].map((i) => ({
      deploymentId: id,
      replicaIndex: i,
      nodeId: i + 1,
      attempt: 1,
      status: 0,
      measurement: MEASUREMENT,
      outputHash: `0x${"00".repeat(32)}`,
      timestamp: 5n,
    }));
    const sigs = [await signAttestation(c, atts[0], AGENTS[0]), await signAttestation(c, atts[1], AGENTS[1])];
    const { logs } = await send(c, 15, { ...dr(c), functionName: "attestMany", args: [atts, sigs] });
    const evs = parseEventLogs({ abi: deploymentRegistryAbi, logs: logs as never, eventName: "Attested" });
    expect(evs.map((e) => e.args.signer)).toEqual([c.accounts[AGENTS[0]].address, c.accounts[AGENTS[1]].address]);
    const d = await getDeployment(c, id);
    expect(d.status).toBe(3);
    expect(d.running).toBe(2);
  });

  it("errors: unknown, index, wrong node, stale attempt, wrong signer, illegal transitions, inactive, lengths", async () => {
    const { intent, id } = await running({ maxRetries: 1 });
    ids.push(id);
    const read = state();
    const base: Attestation = {
      deploymentId: id,
      replicaIndex: 0,
      nodeId: 1,
      attempt: 1,
      status: 0,
      measurement: MEASUREMENT,
      outputHash: `0x${"00".repeat(32)}`,
      timestamp: 9n,
    };
    const call = async (a: Attestation, signer: number = AGENTS[0]) =>
      ({ ...dr(c), functionName: "attest", args: [a, await signAttestation(c, a, signer)] }) as const;
    const other = `0x${"ee".repeat(32)}` as Hex;
    await expectRevert(c, ORCH, await call({ ...base, deploymentId: other }), "UnknownDeployment", [other], read);
    await expectRevert(c, ORCH, await call({ ...base, replicaIndex: 1 }), "BadReplicaIndex", [id, 1, 1], read);
    await expectRevert(c, ORCH, await call({ ...base, nodeId: 2 }), "WrongNode", [id, 0, 2, 1], read);
    await expectRevert(c, ORCH, await call({ ...base, attempt: 2 }), "StaleAttempt", [id, 0, 2, 1], read);
    await expectRevert(
      c,
      ORCH,
      await call({ ...base, status: 2 }, AGENTS[1]),
      "InvalidAttester",
      [1, c.accounts[AGENTS[1]].address, c.accounts[AGENTS[0]].address],
      read,
    );
    await expectRevert(c, ORCH, await call(base), "IllegalTransition", [id, 0, 2, 2], read); // Running again
    await expectRevert(c, ORCH, await call({ ...base, status: 1 }), "IllegalTransition", [id, 0, 2, 3], read); // Completed on a service
    await expectRevert(c, ORCH, await call({ ...base, status: 7 }), "IllegalTransition", [id, 0, 2, 255], read);
    await expectRevert(c, ORCH, { ...dr(c), functionName: "attestMany", args: [[base], []] }, "LengthMismatch", [1n, 0n], read);
    // a lost replica comes back Pending (nodeId 0): the old node's attestation names the wrong node
    await send(c, ORCH, { ...dr(c), functionName: "reportLost", args: [intent, 0] });
    await expectRevert(c, ORCH, await call({ ...base, status: 2 }), "WrongNode", [id, 0, 1, 0], read);
    // re-placed on the same node: the old attempt is stale
    await schedule(intent, [{ replicaIndex: 0, nodeId: 1 }]);
    await expectRevert(c, ORCH, await call({ ...base, status: 2 }), "StaleAttempt", [id, 0, 1, 2], read);
    await send(c, DEPLOYER, { ...dr(c), functionName: "terminate", args: [intent] });
    await expectRevert(c, ORCH, await call({ ...base, attempt: 2 }), "DeploymentNotActive", [id, 5], read);
  });
});

describe("failure and self-healing", () => {
  it("Failed (zero output hash: the workload's fault) returns the replica to Pending, paid for its run time, using a retry; none left: Failed", async () => {
    const { intent, id } = await running({ maxRetries: 1 });
    await c.increaseTime(50);
    await attestAs(c, 0, id, 0, 2); // Failed
    let r = await getReplica(c, id, 0);
    expect(r.status).toBe(0);
    expect(r.nodeId).toBe(0);
    expect(r.attempt).toBe(1);
    expect((await getNode(c, 1)).placed).toBe(0);
    const paid = await innerBalance(c, c.accounts[OPERATORS[0]].address);
    expect(paid).toBeGreaterThanOrEqual(PRICE * 50n);
    let d = await getDeployment(c, id);
    expect([d.retriesLeft, d.nodeFaults]).toEqual([0, 0]);
    expect(d.escrow).toBe(intent.budget - paid);
    expect(d.status).toBe(3); // stays Running while it heals
    // self-heal on node 2
    await send(c, OPERATORS[1], { ...nr(c), functionName: "updatePrice", args: [2, PRICE] });
    await schedule(intent, [{ replicaIndex: 0, nodeId: 2 }]);
    r = await getReplica(c, id, 0);
    expect([r.nodeId, r.attempt, r.status, r.pricePerSecond]).toEqual([2, 2, 1, PRICE]);
    await c.increaseTime(30);
    await attestAs(c, 1, id, 0, 2); // Failed again, straight from Scheduled: no retry left
    d = await getDeployment(c, id);
    expect(d.status).toBe(6);
    expect((await getReplica(c, id, 0)).status).toBe(4);
    expect((await getNode(c, 2)).placed).toBe(0);
    expect(await innerBalance(c, c.accounts[OPERATORS[1]].address)).toBe(0n); // Scheduled-only time is not paid
    // anyone may terminate a Failed deployment; the deployer gets the rest
    await send(c, 16, { ...dr(c), functionName: "terminate", args: [intent] });
    expect(await innerBalance(c, intent.deployer)).toBe(intent.budget - paid);
  });

  it("Tampered is not slashed (honest self-report) and is re-placed without using a retry (a node fault)", async () => {
    const { intent, id } = await running({ maxRetries: 0 });
    const stake = (await getNode(c, 1)).stake;
    await c.increaseTime(20);
    await attestAs(c, 0, id, 0, 3);
    const n = await getNode(c, 1);
    expect([n.stake, n.jailed, n.placed]).toEqual([stake, false, 0]);
    const d = await getDeployment(c, id);
    expect([d.status, d.retriesLeft, d.nodeFaults, d.placed, d.running]).toEqual([3, 0, 1, 0, 0]);
    const r = await getReplica(c, id, 0);
    expect([r.status, r.nodeId, r.attempt]).toEqual([0, 0, 1]);
    // paid for the 20+ s it ran, like any other exit
    const paid = await innerBalance(c, c.accounts[OPERATORS[0]].address);
    expect(paid).toBeGreaterThanOrEqual(PRICE * 20n);
    expect(d.escrow).toBe(intent.budget - paid);
    await schedule(intent, [{ replicaIndex: 0, nodeId: 1 }]);
    expect((await getReplica(c, id, 0)).attempt).toBe(2);
  });

  it("Failed with a non-zero output hash (a node cause: image fetch, disk) is a node fault: no retry used", async () => {
    const { id } = await running({ maxRetries: 0 });
    await attestAs(c, 0, id, 0, 2, { outputHash: H("0f") });
    const d = await getDeployment(c, id);
    expect([d.status, d.retriesLeft, d.nodeFaults]).toEqual([3, 0, 1]);
    expect((await getReplica(c, id, 0)).status).toBe(0);
    expect((await getNode(c, 1)).jailed).toBe(false);
  });
});

describe("jobs", () => {
  it("a strict-majority quorum finalizes the result once; only then is the dissenter slashed, to the treasury", async () => {
    // three nodes of three operators, job with 3 replicas, quorum 2
    await registerNode(c, 2, { pricePerSecond: PRICE });
    await send(c, OPERATORS[1], { ...nr(c), functionName: "updatePrice", args: [2, PRICE] });
    await send(c, OPERATORS[1], { ...nr(c), functionName: "updateCapacity", args: [2, 4000, 8192, 10_000, 4] });
    const intent = makeIntent(c, { kind: 1, quorum: 2, replicas: 3 });
    const { id } = await submit(c, intent);
    await schedule(intent, [
      { replicaIndex: 0, nodeId: 1 },
      { replicaIndex: 1, nodeId: 2 },
      { replicaIndex: 2, nodeId: 3 },
    ]);
    const good = H("aa");
    const bad = H("bb");
    await attestAs(c, 0, id, 0, 0); // first Running -> job Running
    expect((await getDeployment(c, id)).status).toBe(3);
    await attestAs(c, 1, id, 1, 0);
    await attestAs(c, 2, id, 2, 0);
    const stake2 = (await getNode(c, 2)).stake;
    const stake3 = (await getNode(c, 3)).stake;
    const treasury = await c.publicClient.readContract({ ...nr(c), functionName: "treasury" });
    const treasuryBefore = await tokenBalance(c, treasury);
    await attestAs(c, 1, id, 1, 1, { outputHash: bad }); // dissenter before finalization: not slashed yet
    await attestAs(c, 0, id, 0, 1, { outputHash: good });
    expect(await c.publicClient.readContract({ ...dr(c), functionName: "jobResult", args: [id] })).toBe(`0x${"00".repeat(32)}`);
    expect((await getNode(c, 2)).jailed).toBe(false);
    expect((await getNode(c, 2)).placed).toBe(1); // its completed replica keeps the reservation until the vote
    const escrowBefore = (await getDeployment(c, id)).escrow;
    const { logs } = await attestAs(c, 2, id, 2, 1, { outputHash: good }); // quorum
    const fin = parseEventLogs({ abi: deploymentRegistryAbi, logs: logs as never, eventName: "JobFinalized" })[0];
    expect(fin.args).toMatchObject({ id, outputHash: good, agreeing: 2 });
    expect(await c.publicClient.readContract({ ...dr(c), functionName: "jobResult", args: [id] })).toBe(good);
    expect((await getDeployment(c, id)).status).toBe(4);
    const slashed = (stake2 * 1000n) / 10_000n;
    expect((await getNode(c, 2)).jailed).toBe(true);
    expect((await getNode(c, 2)).stake).toBe(stake2 - slashed);
    expect((await getNode(c, 3)).stake).toBe(stake3);
    expect(await tokenBalance(c, treasury)).toBe(treasuryBefore + slashed); // to the treasury...
    // ...not into the escrow (the deployer never gains from a slash): the escrow only paid node 3
    expect((await getDeployment(c, id)).escrow).toBe(escrowBefore - (await innerBalance(c, c.accounts[OPERATORS[2]].address)));
    // capacity of completed replicas is released
    for (const n of [1, 2, 3]) expect((await getNode(c, n)).placed).toBe(0);
    // anyone may terminate a completed job; the escrow left goes back to the deployer
    const esc = (await getDeployment(c, id)).escrow;
    await send(c, 18, { ...dr(c), functionName: "terminate", args: [intent] });
    expect((await getDeployment(c, id)).status).toBe(5);
    expect(await innerBalance(c, intent.deployer)).toBe(esc);
  });

  it("a final job takes no more attestations; its replicas still Running were stopped and paid when it finalized", async () => {
    await registerNode(c, 2, { pricePerSecond: PRICE });
    const intent = makeIntent(c, { kind: 1, quorum: 2, replicas: 3, maxPricePerSecond: PRICE * 2n });
    const { id } = await submit(c, intent);
    await schedule(intent, [
      { replicaIndex: 0, nodeId: 1 },
      { replicaIndex: 1, nodeId: 2 },
      { replicaIndex: 2, nodeId: 3 },
    ]);
    for (const k of [0, 1, 2]) await attestAs(c, k, id, k, 0);
    await c.increaseTime(30);
    await attestAs(c, 0, id, 0, 1, { outputHash: H("aa") });
    const { logs } = await attestAs(c, 1, id, 1, 1, { outputHash: H("aa") });
    const stopped = parseEventLogs({ abi: deploymentRegistryAbi, logs: logs as never, eventName: "ReplicaStatusChanged" }).filter(
      (e) => e.args.replicaIndex === 2,
    );
    expect(stopped.map((e) => [e.args.from, e.args.to])).toEqual([[2, 6]]);
    const credited = parseEventLogs({ abi: deploymentRegistryAbi, logs: logs as never, eventName: "PaymentCredited" }).map((e) => e.args.nodeId);
    expect(credited).toEqual([2, 3]); // node 2 for its Completed replica, node 3 stopped in the same transaction
    ids.push(id);
    const late: Attestation = {
      deploymentId: id,
      replicaIndex: 2,
      nodeId: 3,
      attempt: 1,
      status: 1,
      measurement: MEASUREMENT,
      outputHash: H("cc"),
      timestamp: 1n,
    };
    await expectRevert(
      c,
      ORCH,
      { ...dr(c), functionName: "attest", args: [late, await signAttestation(c, late, AGENTS[2])] },
      "DeploymentNotActive",
      [id, 4],
      state(),
    );
    expect((await getNode(c, 3)).jailed).toBe(false);
  });
});

describe("terminate, scale, deposits", () => {
  it("NotDeployer / NotTerminable / UnknownDeployment, and anyone may terminate once the budget is spent", async () => {
    const { intent, id } = await running({ budget: PRICE * 100n, maxPricePerSecond: PRICE });
    ids.push(id);
    const read = state();
    await expectRevert(c, 16, { ...dr(c), functionName: "terminate", args: [intent] }, "NotTerminable", [id, 3], read);
    await expectRevert(c, 16, { ...dr(c), functionName: "scale", args: [intent, 2] }, "NotDeployer", [id, c.accounts[16].address, intent.deployer], read);
    const unknown = makeIntent(c, { nonce: 77n });
    await expectRevert(c, 16, { ...dr(c), functionName: "terminate", args: [unknown] }, "UnknownDeployment", [await intentId(c, unknown)], read);
    // The watcher's pure isBudgetSpent must agree with the contract's rule, before and after.
    const spentNow = async () => {
      const block = await c.publicClient.getBlock();
      const view = (await c.publicClient.readContract({ ...dr(c), functionName: "getDeployment", args: [id], blockNumber: block.number })) as {
        escrow: bigint;
      };
      const reps = (await c.publicClient.readContract({ ...dr(c), functionName: "getReplicas", args: [id], blockNumber: block.number })) as readonly {
        status: number;
        pricePerSecond: bigint;
        since: bigint;
      }[];
      return isBudgetSpent(view.escrow, reps, block.timestamp);
    };
    expect(await spentNow()).toBe(false);
    await c.increaseTime(200);
    await c.mine();
    expect(await spentNow()).toBe(true);
    await send(c, 16, { ...dr(c), functionName: "terminate", args: [intent] });
    // paid exactly the escrow (capped), nothing refunded
    expect(await innerBalance(c, c.accounts[OPERATORS[0]].address)).toBe(PRICE * 100n);
    expect(await innerBalance(c, intent.deployer)).toBe(0n);
    await expectRevert(c, DEPLOYER, { ...dr(c), functionName: "terminate", args: [intent] }, "NotTerminable", [id, 5], read);
  });

  it("terminateMany settles several deployments in one transaction; one the caller may not terminate is skipped", async () => {
    const a = await running({ budget: PRICE * 60n, maxPricePerSecond: PRICE });
    const b = await running({ budget: PRICE * 1000n, nonce: 901n });
    await c.increaseTime(70);
    await c.mine();
    // an outsider may terminate a (its budget is spent) but not b: b is skipped, a goes through
    const { logs: l1 } = await send(c, 16, { ...dr(c), functionName: "terminateMany", args: [[a.intent, b.intent]] });
    const skipped = parseEventLogs({ abi: deploymentRegistryAbi, logs: l1 as never, eventName: "BatchEntrySkipped" });
    expect(skipped.map((e) => [e.args.id, e.args.entry, e.args.reason])).toEqual([[b.id, 1n, toFunctionSelector("error NotTerminable(bytes32,uint8)")]]);
    expect((await getDeployment(c, a.id)).status).toBe(5);
    expect((await getDeployment(c, b.id)).status).toBe(3);
    const { logs } = await send(c, DEPLOYER, { ...dr(c), functionName: "terminateMany", args: [[b.intent]] });
    const terminated = [
      ...parseEventLogs({ abi: deploymentRegistryAbi, logs: l1 as never, eventName: "Terminated" }),
      ...parseEventLogs({ abi: deploymentRegistryAbi, logs: logs as never, eventName: "Terminated" }),
    ];
    expect(terminated.map((e) => e.args.id)).toEqual([a.id, b.id]);
    for (const { id } of [a, b]) expect((await getDeployment(c, id)).status).toBe(5);
    // each paid its own run time to node 1's operator and refunded the rest: paid + refund = budget
    expect(terminated.map((e) => e.args.paidToNodes + e.args.refunded)).toEqual([PRICE * 60n, PRICE * 1000n]);
    expect(terminated[0].args.paidToNodes).toBe(PRICE * 60n); // capped by its escrow
    expect(await innerBalance(c, c.accounts[OPERATORS[0]].address)).toBe(terminated[0].args.paidToNodes + terminated[1].args.paidToNodes);
    expect((await getNode(c, 1)).placed).toBe(0);
    // terminating again: skipped in a batch, refused alone
    const { logs: l3 } = await send(c, DEPLOYER, { ...dr(c), functionName: "terminateMany", args: [[a.intent]] });
    expect(parseEventLogs({ abi: deploymentRegistryAbi, logs: l3 as never, eventName: "BatchEntrySkipped" })).toHaveLength(1);
    ids.push(a.id);
    await expectRevert(c, DEPLOYER, { ...dr(c), functionName: "terminate", args: [a.intent] }, "NotTerminable", [a.id, 5], state());
  });

  it("scale up adds Pending replicas, scale down stops the highest indexes and pays them", async () => {
    const { intent, id } = await running();
    await send(c, DEPLOYER, { ...dr(c), functionName: "scale", args: [intent, 3] });
    let d = await getDeployment(c, id);
    expect([d.replicas, d.placed, d.running, d.status]).toEqual([3, 1, 1, 3]);
    await schedule(intent, [
      { replicaIndex: 1, nodeId: 1 },
      { replicaIndex: 2, nodeId: 1 },
    ]);
    await attestAs(c, 0, id, 2, 0);
    await c.increaseTime(10);
    await send(c, DEPLOYER, { ...dr(c), functionName: "scale", args: [intent, 1] });
    d = await getDeployment(c, id);
    expect([d.replicas, d.placed, d.running]).toEqual([1, 1, 1]);
    expect((await getReplica(c, id, 2)).status).toBe(6);
    expect((await getReplica(c, id, 1)).status).toBe(6);
    expect((await getNode(c, 1)).placed).toBe(1);
    expect(await innerBalance(c, c.accounts[OPERATORS[0]].address)).toBeGreaterThanOrEqual(PRICE * 10n);
    // scaling up again brings a stopped replica back Pending with its attempt kept
    await send(c, DEPLOYER, { ...dr(c), functionName: "scale", args: [intent, 2] });
    const r1 = await getReplica(c, id, 1);
    expect([r1.status, r1.attempt, r1.nodeId]).toEqual([0, 1, 0]);
  });

  it("scale errors: zero, too many, jobs, inactive", async () => {
    const { intent, id } = await running();
    ids.push(id);
    const read = state();
    const scale = (n: number, i = intent) => ({ ...dr(c), functionName: "scale", args: [i, n] }) as const;
    await expectRevert(c, DEPLOYER, scale(0), "InvalidIntent", ["replicas", "must be at least 1"], read);
    await expectRevert(c, DEPLOYER, scale(256), "InvalidIntent", ["replicas", "more than 255"], read);
    const job = makeIntent(c, { kind: 1, quorum: 1, nonce: 5n });
    const jobId = (await submit(c, job)).id;
    ids.push(jobId);
    await expectRevert(c, DEPLOYER, scale(2, job), "InvalidIntent", ["kind", "jobs cannot be scaled"], read);
    await send(c, DEPLOYER, { ...dr(c), functionName: "terminate", args: [intent] });
    await expectRevert(c, DEPLOYER, scale(2), "DeploymentNotActive", [id, 5], read);
  });

  it("reportLost errors: role, index, illegal (pending replica)", async () => {
    const intent = makeIntent(c, { replicas: 1 });
    const { id } = await submit(c, intent);
    ids.push(id);
    const read = state();
    await expectRevert(c, DEPLOYER, { ...dr(c), functionName: "reportLost", args: [intent, 0] }, "AccessControlUnauthorizedAccount", undefined, read);
    await expectRevert(c, ORCH, { ...dr(c), functionName: "reportLost", args: [intent, 1] }, "BadReplicaIndex", [id, 1, 1], read);
    await expectRevert(c, ORCH, { ...dr(c), functionName: "reportLost", args: [intent, 0] }, "IllegalTransition", [id, 0, 0, 4], read);
  });

  it("deposit and withdraw move tokens; errors InsufficientDeposit and NothingToClaim", async () => {
    const who = c.accounts[DEPLOYER].address;
    const t0 = await tokenBalance(c, who);
    await send(c, DEPLOYER, { ...dr(c), functionName: "deposit", args: [parseEther("3")] });
    expect(await innerBalance(c, who)).toBe(parseEther("3"));
    await send(c, DEPLOYER, { ...dr(c), functionName: "withdraw", args: [parseEther("1")] });
    expect(await innerBalance(c, who)).toBe(parseEther("2"));
    const read = state();
    await expectRevert(
      c,
      DEPLOYER,
      { ...dr(c), functionName: "withdraw", args: [parseEther("5")] },
      "InsufficientDeposit",
      [who, parseEther("2"), parseEther("5")],
      read,
    );
    await expectRevert(c, DEPLOYER, { ...dr(c), functionName: "deposit", args: [0n] }, "InsufficientDeposit", [who, 0n, 1n], read);
    await send(c, DEPLOYER, { ...dr(c), functionName: "withdraw", args: [0n] }); // all
    expect(await tokenBalance(c, who)).toBe(t0);
    await expectRevert(c, DEPLOYER, { ...dr(c), functionName: "withdraw", args: [1n] }, "NothingToClaim", [who], read);
  });

  it("views: getReplicas, deploymentId, attestationDigest, balanceOf", async () => {
    const { id } = await running();
    const reps = await c.publicClient.readContract({ ...dr(c), functionName: "getReplicas", args: [id] });
    expect(reps).toHaveLength(1);
    expect(reps[0].nodeId).toBe(1);
    expect(await getReplica(c, id, 0)).toEqual(reps[0]);
  });
});
