/**
 * Property test: fast-check generates random sequences of operations (register, stake, submit,
 * schedule, attest Running/Completed/Failed/Tampered (slash), reportLost, terminate, terminateMany, scale,
 * unbond, withdraw, deposits, time) and runs them against the real in-process chain. After every
 * step: tokens are conserved (each registry holds exactly what its books say), free capacity is
 * never negative nor over-reserved and matches the placed replicas, only legal lifecycle
 * transitions appear in the events, every payment belongs to a replica leaving its placement in
 * the same transaction (so nothing is paid twice), and a reverted step changes nothing.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseEther, parseEventLogs, type Hex } from "viem";
import { deploymentRegistryAbi, nodeRegistryAbi } from "../../src/chain/abi";
import type { DeploymentIntent } from "../../src/chain/eip712";
import { inProcessChain, type InProcessChain } from "../helpers/chain";
import { AGENTS, MEASUREMENT, OPERATORS, ORCH, approve, approveMeasurementOnChain, dr, getNode, nr, signAttestation, signIntent, stable, tok } from "./fixtures";

const DEPLOYERS = [11, 12, 13];
const H = (b: string) => `0x${b.repeat(32)}` as Hex;

type Op =
  | { t: "submit"; who: number; replicas: number; job: boolean; quorum: number; retries: number; budget: number }
  | { t: "schedule"; dep: number; index: number; node: number }
  | { t: "attest"; dep: number; index: number; status: number; output: number }
  | { t: "lost"; dep: number; index: number }
  | { t: "terminate"; dep: number; byDeployer: boolean }
  | { t: "terminateMany"; deps: number[]; byDeployer: boolean }
  | { t: "scale"; dep: number; n: number }
  | { t: "time"; s: number }
  | { t: "register"; k: number }
  | { t: "stake"; node: number }
  | { t: "unbond"; node: number }
  | { t: "withdrawStake"; node: number }
  | { t: "unjail"; node: number }
  | { t: "withdrawBalance"; who: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant("submit" as const), who: fc.constantFrom(...DEPLOYERS), replicas: fc.integer({ min: 1, max: 3 }), job: fc.boolean(), quorum: fc.integer({ min: 1, max: 3 }), retries: fc.integer({ min: 0, max: 2 }), budget: fc.constantFrom(1, 50) }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant("schedule" as const), dep: fc.nat(5), index: fc.nat(3), node: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant("attest" as const), dep: fc.nat(5), index: fc.nat(3), status: fc.constantFrom(0, 0, 0, 1, 1, 2, 3), output: fc.constantFrom(0, 0, 1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("lost" as const), dep: fc.nat(5), index: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("terminate" as const), dep: fc.nat(5), byDeployer: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("terminateMany" as const), deps: fc.uniqueArray(fc.nat(5), { minLength: 1, maxLength: 3 }), byDeployer: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("scale" as const), dep: fc.nat(5), n: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("time" as const), s: fc.constantFrom(10, 100, 5000) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("register" as const), k: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("stake" as const), node: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("unbond" as const), node: fc.integer({ min: 1, max: 24 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("withdrawStake" as const), node: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("unjail" as const), node: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("withdrawBalance" as const), who: fc.constantFrom(...DEPLOYERS, ...OPERATORS) }) },
);

/** Legal deployment transitions (from -> allowed to), per kind. */
const DEPLOYMENT_MOVES: Record<number, number[]> = { 0: [1], 1: [2, 5, 6], 2: [3, 5, 6], 3: [5, 6], 4: [5], 6: [5], 5: [] };
const JOB_EXTRA: Record<number, number[]> = { 1: [3], 2: [], 3: [4] };
/** Legal replica transitions (ReplicaStatusChanged; Pending -> Scheduled is ReplicaScheduled). */
const REPLICA_MOVES: Record<number, number[]> = { 0: [1], 1: [2, 3, 4, 5, 6], 2: [3, 4, 5, 6], 3: [], 4: [0], 5: [0], 6: [0] };

interface Tracked {
  intent: DeploymentIntent;
  id: Hex;
  status: number;
  replicas: Map<number, number>;
}

const stats: Record<string, [ok: number, rejected: number]> = {};

async function run(c: InProcessChain, ops: Op[]) {
  const deps: Tracked[] = [];
  let nodeCount = 3;
  let nonce = 1000n;
  const wc = (i: number) => c.walletClients[i];

  const send = async (from: number, call: { address: Hex; abi: unknown; functionName: string; args: readonly unknown[] }) => {
    try {
      const hash = await wc(from).writeContract({ ...call, account: wc(from).account!, chain: wc(from).chain, gas: 5_000_000n } as never);
      const r = await c.publicClient.waitForTransactionReceipt({ hash });
      return r.status === "success" ? r : undefined;
    } catch {
      return undefined; // reverted (mined as failed)
    }
  };

  const books = async () => {
    const who = c.accounts.map((a) => a.address);
    const inner = await Promise.all(who.map((w) => c.publicClient.readContract({ ...dr(c), functionName: "balanceOf", args: [w] })));
    const ds = await Promise.all(deps.map((d) => c.publicClient.readContract({ ...dr(c), functionName: "getDeployment", args: [d.id] })));
    const reps = await Promise.all(deps.map((d) => c.publicClient.readContract({ ...dr(c), functionName: "getReplicas", args: [d.id] })));
    const nodes = await Promise.all(Array.from({ length: nodeCount }, (_, i) => getNode(c, i + 1)));
    const tokenDR = await c.publicClient.readContract({ ...tok(c), functionName: "balanceOf", args: [c.addresses.deploymentRegistry] });
    const tokenNR = await c.publicClient.readContract({ ...tok(c), functionName: "balanceOf", args: [c.addresses.nodeRegistry] });
    const tokens = await Promise.all(who.map((w) => c.publicClient.readContract({ ...tok(c), functionName: "balanceOf", args: [w] })));
    return { inner, ds, reps, nodes, tokenDR, tokenNR, tokens };
  };

  const supply = await c.publicClient.readContract({ ...tok(c), functionName: "totalSupply" });

  const check = async () => {
    const b = await books();
    // tokens conserved: every token is in an account or a registry, and each registry holds its books
    expect(b.tokens.reduce((x, y) => x + y, 0n) + b.tokenDR + b.tokenNR).toBe(supply);
    expect(b.tokenDR).toBe(b.inner.reduce((x, y) => x + y, 0n) + b.ds.reduce((x, d) => x + d.escrow, 0n));
    expect(b.tokenNR).toBe(b.nodes.reduce((x, n) => x + n.stake, 0n));
    // capacity: free within total and exactly total minus what placed replicas hold
    b.nodes.forEach((n, i) => {
      let cpu = 0, mem = 0, disk = 0, count = 0;
      b.reps.forEach((rs, di) =>
        rs.forEach((r) => {
          if (r.nodeId === i + 1 && (r.status === 1 || r.status === 2)) {
            cpu += b.ds[di].cpuMillis;
            mem += b.ds[di].memoryMiB;
            disk += b.ds[di].diskMiB;
            count++;
          }
        }),
      );
      expect(n.freeCpuMillis).toBeLessThanOrEqual(n.cpuMillis);
      expect([n.cpuMillis - n.freeCpuMillis, n.memoryMiB - n.freeMemoryMiB, n.diskMiB - n.freeDiskMiB, n.slots - n.freeSlots, n.placed]).toEqual([cpu, mem, disk, count, count]);
    });
    // deployment counters match their replicas
    b.ds.forEach((d, di) => {
      if (d.status === 5) return;
      const rs = b.reps[di];
      expect(d.placed).toBe(rs.filter((r) => r.status >= 1 && r.status <= 3).length);
      const kindRunning = d.kind === 1 ? rs.filter((r) => r.status === 2 || r.status === 3).length : rs.filter((r) => r.status === 2).length;
      expect(d.running).toBe(kindRunning);
      expect(deps[di].status).toBe(d.status);
    });
    return b;
  };

  const followEvents = (logs: readonly unknown[], attestedId?: Hex) => {
    const evs = parseEventLogs({ abi: [...deploymentRegistryAbi, ...nodeRegistryAbi], logs: logs as never });
    const paid = new Map<string, number>();
    const leaves = new Map<string, number>();
    for (const e of evs) {
      const a = e.args as Record<string, unknown>;
      if (e.eventName === "DeploymentStatusChanged") {
        const d = deps.find((x) => x.id === a.id)!;
        const from = Number(a.from), to = Number(a.to);
        expect(d.status, "event from = tracked status").toBe(from);
        const allowed = [...DEPLOYMENT_MOVES[from], ...(d.intent.kind === 1 ? JOB_EXTRA[from] ?? [] : [])];
        expect(allowed, `deployment ${from} -> ${to}`).toContain(to);
        d.status = to;
      } else if (e.eventName === "ReplicaScheduled" || e.eventName === "ReplicaStatusChanged") {
        const d = deps.find((x) => x.id === a.id)!;
        const i = Number(a.replicaIndex);
        const cur = d.replicas.get(i) ?? 0;
        const from = e.eventName === "ReplicaScheduled" ? 0 : Number(a.from);
        const to = e.eventName === "ReplicaScheduled" ? 1 : Number(a.to);
        expect(cur, "replica event from = tracked").toBe(from);
        expect(REPLICA_MOVES[from], `replica ${from} -> ${to}`).toContain(to);
        d.replicas.set(i, to);
        if ((from === 1 || from === 2) && to !== 1) leaves.set(`${a.id}:${a.nodeId}`, (leaves.get(`${a.id}:${a.nodeId}`) ?? 0) + 1);
      } else if (e.eventName === "PaymentCredited") {
        paid.set(`${a.id}:${a.nodeId}`, (paid.get(`${a.id}:${a.nodeId}`) ?? 0) + 1);
      } else if (e.eventName === "Slashed") {
        expect(attestedId, "slashing only from an attestation").toBeDefined();
      }
    }
    // nothing paid twice: each payment is for a replica leaving its placement in this transaction
    for (const [k, n] of paid) expect(n, `payments for ${k}`).toBeLessThanOrEqual(leaves.get(k) ?? 0);
  };

  let last = await check();
  for (const op of ops) {
    let receipt: Awaited<ReturnType<typeof send>>;
    let attestedId: Hex | undefined;
    const dep = "dep" in op ? deps[op.dep % Math.max(deps.length, 1)] : undefined;
    switch (op.t) {
      case "submit": {
        const intent: DeploymentIntent = {
          deployer: c.accounts[op.who].address, specHash: H("11"), imageRoot: H("22"), replicas: op.replicas,
          cpuMillis: 1000, memoryMiB: 1024, diskMiB: 100, maxPricePerSecond: parseEther("0.01"),
          budget: parseEther(String(op.budget)) / 100n, nonce: nonce++, deadline: 2n ** 40n,
          kind: op.job ? 1 : 0, quorum: op.job ? Math.min(op.quorum, op.replicas) : 0, maxRetries: op.retries,
        };
        receipt = await send(op.who, { ...dr(c), functionName: "submitIntent", args: [intent, await signIntent(c, intent, op.who)] });
        if (receipt) {
          const id = await c.publicClient.readContract({ ...dr(c), functionName: "deploymentId", args: [intent] });
          deps.push({ intent, id, status: 1, replicas: new Map() });
        }
        break;
      }
      case "schedule": {
        if (!dep) continue;
        // mostly a Pending replica (the interesting case), sometimes any index (rejections)
        const rs = await c.publicClient.readContract({ ...dr(c), functionName: "getReplicas", args: [dep.id] });
        const pending = rs.map((r, i) => (r.status === 0 ? i : -1)).filter((i) => i >= 0);
        const index = op.index < 3 && pending.length ? pending[op.index % pending.length] : op.index;
        receipt = await send(ORCH, { ...dr(c), functionName: "schedule", args: [dep.intent, [{ replicaIndex: index, nodeId: op.node }]] });
        break;
      }
      case "attest": {
        if (!dep) continue;
        const rs = await c.publicClient.readContract({ ...dr(c), functionName: "getReplicas", args: [dep.id] });
        const placed = rs.map((r, i) => (r.status === 1 || r.status === 2 ? i : -1)).filter((i) => i >= 0);
        if (!placed.length) continue;
        const index = placed[op.index % placed.length];
        const r = rs[index];
        const agent = await c.publicClient.readContract({ ...nr(c), functionName: "agentOf", args: [r.nodeId] });
        const signer = c.accounts.findIndex((a) => a.address === agent);
        const att = { deploymentId: dep.id, replicaIndex: index, nodeId: r.nodeId, attempt: r.attempt, status: op.status, measurement: MEASUREMENT, outputHash: op.output ? H("aa") : H("bb"), timestamp: 1n };
        attestedId = dep.id;
        receipt = await send(ORCH, { ...dr(c), functionName: "attest", args: [att, await signAttestation(c, att, signer)] });
        break;
      }
      case "lost":
        if (!dep) continue;
        receipt = await send(ORCH, { ...dr(c), functionName: "reportLost", args: [dep.intent, op.index] });
        break;
      case "terminate":
        if (!dep) continue;
        receipt = await send(op.byDeployer ? DEPLOYERS.find((i) => c.accounts[i].address === dep.intent.deployer)! : 19, { ...dr(c), functionName: "terminate", args: [dep.intent] });
        break;
      case "terminateMany": {
        const batch = [...new Set(op.deps.map((i) => deps[i % Math.max(deps.length, 1)]).filter((d) => d !== undefined))];
        if (!batch.length) continue;
        receipt = await send(op.byDeployer ? DEPLOYERS.find((i) => c.accounts[i].address === batch[0].intent.deployer)! : 19, { ...dr(c), functionName: "terminateMany", args: [batch.map((d) => d.intent)] });
        break;
      }
      case "scale":
        if (!dep) continue;
        receipt = await send(DEPLOYERS.find((i) => c.accounts[i].address === dep.intent.deployer)!, { ...dr(c), functionName: "scale", args: [dep.intent, op.n] });
        break;
      case "time":
        await c.increaseTime(op.s);
        continue;
      case "register": {
        const operator = OPERATORS[op.k];
        receipt = await send(operator, { ...nr(c), functionName: "register", args: [{ agent: c.accounts[AGENTS[op.k]].address, cpuMillis: 2000, memoryMiB: 2048, diskMiB: 1000, slots: 2, pricePerSecond: parseEther("0.001"), measurement: MEASUREMENT, endpoint: "http://x" }, c.params.minStake] });
        if (receipt) nodeCount++;
        break;
      }
      case "stake":
        receipt = await send(OPERATORS[0], { ...nr(c), functionName: "addStake", args: [op.node, parseEther("1")] });
        break;
      case "unbond":
      case "withdrawStake": {
        if (op.node > nodeCount) continue;
        const operator = await c.publicClient.readContract({ ...nr(c), functionName: "operatorOf", args: [op.node] });
        const from = c.accounts.findIndex((a) => a.address === operator);
        receipt = await send(from, { ...nr(c), functionName: op.t === "unbond" ? "beginUnbonding" : "withdraw", args: [op.node] });
        break;
      }
      case "unjail":
        receipt = await send(0, { ...nr(c), functionName: "unjail", args: [op.node] });
        break;
      case "withdrawBalance":
        receipt = await send(op.who, { ...dr(c), functionName: "withdraw", args: [0n] });
        break;
    }
    const st = (stats[op.t + ("status" in op ? op.status : "")] ??= [0, 0]);
    st[receipt ? 0 : 1]++;
    if (receipt) {
      followEvents(receipt.logs, attestedId);
      last = await check();
    } else {
      // a rejected step changes nothing (the failed transaction was mined)
      const now = await check();
      expect(stable(now)).toEqual(stable(last));
    }
  }
}

describe("contract invariants under random operation sequences", () => {
  it("conservation, capacity, legal transitions, no double payment, reverts change nothing", async () => {
    const c = await inProcessChain();
    const base = await c.snapshot();
    for (let k = 0; k < 3; k++) {
      await approve(c, OPERATORS[k], c.addresses.nodeRegistry);
      await c.walletClients[OPERATORS[k]].writeContract({ ...nr(c), functionName: "register", args: [{ agent: c.accounts[AGENTS[k]].address, cpuMillis: 3000, memoryMiB: 4096, diskMiB: 1000, slots: 3, pricePerSecond: parseEther("0.0001") * BigInt(k + 1), measurement: MEASUREMENT, endpoint: `http://127.0.0.1:780${k + 1}` }, c.params.minStake * 2n], account: c.walletClients[OPERATORS[k]].account!, chain: c.walletClients[OPERATORS[k]].chain });
    }
    await approveMeasurementOnChain(c);
    for (const d of DEPLOYERS) await approve(c, d, c.addresses.deploymentRegistry);
    const start = await c.snapshot();
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 15, maxLength: 30 }), async (ops) => {
          const s = await c.snapshot();
          try {
            await run(c, ops);
          } finally {
            await c.revert(s);
          }
        }),
        { numRuns: Number(process.env.HYPHA_FC_RUNS ?? 25), seed: Number(process.env.HYPHA_FC_SEED ?? 20261125), endOnFailure: true },
      );
    } finally {
      await c.revert(start);
      await c.revert(base);
    }
    if (process.env.HYPHA_FC_STATS) console.log(JSON.stringify(stats));
    // the generated sequences really exercise the contracts (fixed seed by default, so this is
    // deterministic; set HYPHA_FC_SEED to explore other sequences)
    for (const t of ["submit", "schedule", "attest0", "attest1", "attest2", "attest3", "terminate", "terminateMany", "scale", "lost"]) expect(stats[t]?.[0] ?? 0, `successful ${t} steps`).toBeGreaterThan(0);
  }, 180_000);
});
