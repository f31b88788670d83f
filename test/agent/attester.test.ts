// The agent's attestation queue against the real in-process chain: what it coalesces and what it
// keeps. A job done before its Running attestation went out completes straight from Scheduled in
// one attestation (paid from its placement); before a Failed, the Running still goes out first, in
// the same attestMany, so the node is paid for the time its replica ran.
import pino from "pino";
import { parseEventLogs, type Hex } from "viem";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { deploymentRegistryAbi } from "../../src/chain/abi";
import { Attester, type QueuedAttestation } from "../../src/agent/attester";
import { inProcessChain, type InProcessChain } from "../helpers/chain";
import {
  AGENTS,
  MEASUREMENT,
  approve,
  approveMeasurementOnChain,
  DEPLOYER,
  domain,
  getReplica,
  makeIntent,
  registerNode,
  schedule,
  submit,
} from "../contracts/fixtures";

let c: InProcessChain;
let base: string;
let snap: string;
let nodeId: number;
beforeAll(async () => {
  c = await inProcessChain();
  base = await c.snapshot();
  nodeId = await registerNode(c, 0);
  await approveMeasurementOnChain(c);
  await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
});
afterAll(async () => c.revert(base));
beforeEach(async () => {
  snap = await c.snapshot();
});
afterEach(async () => c.revert(snap));

const attester = () => {
  const wallet = c.walletClients[AGENTS[0]];
  const sent: Hex[] = [];
  const a = new Attester(c.publicClient, wallet, c.accounts[AGENTS[0]], c.addresses, domain(c), nodeId, pino({ level: "silent" }), ({ transactionHash }) =>
    sent.push(transactionHash),
  );
  return { a, sent };
};
const queued = (deploymentId: Hex, status: QueuedAttestation["status"], outputHash: Hex = `0x${"00".repeat(32)}`): QueuedAttestation => ({
  deploymentId,
  replicaIndex: 0,
  attempt: 1,
  status,
  measurement: MEASUREMENT,
  outputHash,
});

async function placedJob(nonce: bigint) {
  const intent = makeIntent(c, { kind: 1, quorum: 1, maxRunSeconds: 600, nonce });
  const { id } = await submit(c, intent);
  await schedule(c, intent, [{ replicaIndex: 0, nodeId }]);
  return id;
}
async function movesIn(hash: Hex) {
  const r = await c.publicClient.getTransactionReceipt({ hash });
  return parseEventLogs({ abi: deploymentRegistryAbi, logs: r.logs, eventName: "ReplicaStatusChanged" }).map((e) => [e.args.from, e.args.to]);
}

describe("Attester", () => {
  it("a job done before its Running went out: one attestation, Scheduled -> Completed", async () => {
    const id = await placedJob(501n);
    const { a, sent } = attester();
    a.enqueue(queued(id, "Running"));
    a.enqueue(queued(id, "Completed", `0x${"cc".repeat(32)}`));
    expect(a.pending().map((q) => q.status)).toEqual(["Completed"]);
    expect(await a.flush()).toBe(1);
    expect(sent).toHaveLength(1);
    expect(await movesIn(sent[0]!)).toEqual([[1, 3]]);
    expect((await getReplica(c, id, 0)).status).toBe(3);
  });

  it("before a Failed, the unsent Running still goes out first, in the same transaction", async () => {
    const id = await placedJob(502n);
    const { a, sent } = attester();
    a.enqueue(queued(id, "Running"));
    a.enqueue(queued(id, "Failed"));
    expect(a.pending().map((q) => q.status)).toEqual(["Running", "Failed"]);
    expect(await a.flush()).toBe(2);
    expect(new Set(sent).size).toBe(1);
    expect(await movesIn(sent[0]!)).toEqual([
      [1, 2], // Scheduled -> Running: paid time starts
      [2, 4], // Running -> Failed
      [4, 0], // Failed -> Pending: re-placed with a retry
    ]);
  });
});
