/**
 * The agent's log scanner on the real in-process chain: a placement on this node makes a candidate
 * that must be read; its status changes carry the new status; the re-scanned overlap does not
 * count a log twice; another node's placement and status changes are not this node's.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AssignmentScanner, readReplicaStates } from "../../src/agent/chainView";
import { replicaRef } from "../../src/agent/reconcile";
import { inProcessChain, type InProcessChain } from "../helpers/chain";
import { ORCH, approve, approveMeasurementOnChain, attestAs, dr, makeIntent, registerNode, schedule, send, submit, DEPLOYER } from "../contracts/fixtures";

let c: InProcessChain;
let base: string;

beforeAll(async () => {
  c = await inProcessChain();
  base = await c.snapshot();
  await registerNode(c, 0);
  await registerNode(c, 1);
  await approveMeasurementOnChain(c);
  await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
});
afterAll(async () => {
  await c.revert(base);
});

describe("AssignmentScanner", () => {
  it("reports new placements and status changes on this node once each", async () => {
    const from = await c.publicClient.getBlockNumber();
    const scanner = new AssignmentScanner(c.publicClient, { ...c.addresses, deployBlock: from }, 1);
    expect(await scanner.scan()).toEqual({ added: 0, touched: new Set(), statusNow: new Map(), placed: new Map() });

    const intent = makeIntent(c, { replicas: 2, nonce: 4242n });
    const { id } = await submit(c, intent);
    await schedule(c, intent, [
      { replicaIndex: 0, nodeId: 1 },
      { replicaIndex: 1, nodeId: 2 },
    ]);
    const mine = replicaRef(id, 0);
    // the placement's log is its view: no getReplica/getDeployment needed
    const view = { deploymentId: id.toLowerCase(), replicaIndex: 0, nodeId: 1, attempt: 1, status: "Scheduled", deploymentStatus: "Scheduled" };
    expect(await scanner.scan()).toEqual({ added: 1, touched: new Set([mine]), statusNow: new Map(), placed: new Map([[mine, view]]) });
    expect((await readReplicaStates(c.publicClient, { ...c.addresses, deployBlock: 0n }, [{ deploymentId: id, replicaIndex: 0 }]))[0]).toEqual(view);
    expect([...scanner.candidates.keys()]).toEqual([mine]);
    // no block since: nothing is read (nothing can have changed)
    const reads = scanner.logReads;
    expect(await scanner.scan()).toEqual({ added: 0, touched: new Set(), statusNow: new Map(), placed: new Map() });
    expect(scanner.logReads).toBe(reads);

    // node 2's replica changes: not ours; the same blocks are scanned again (reorg overlap), but nothing is new
    await attestAs(c, 1, id, 1, 0);
    expect(await scanner.scan()).toEqual({ added: 0, touched: new Set(), statusNow: new Map(), placed: new Map() });
    expect(scanner.logReads).toBe(reads + 1);
    // ours is attested Running: a change the log describes, not a new candidate
    await attestAs(c, 0, id, 0, 0);
    expect(await scanner.scan()).toEqual({ added: 0, touched: new Set([mine]), statusNow: new Map([[mine, "Running"]]), placed: new Map() });
    // terminated: Stopped
    await send(c, DEPLOYER, { ...dr(c), functionName: "terminate", args: [intent] });
    expect(await scanner.scan()).toEqual({ added: 0, touched: new Set([mine]), statusNow: new Map([[mine, "Stopped"]]), placed: new Map() });
    // a forgotten candidate is not brought back by the re-scanned overlap
    scanner.forget(mine);
    expect(await scanner.scan()).toEqual({ added: 0, touched: new Set(), statusNow: new Map(), placed: new Map() });
    expect(scanner.candidates.size).toBe(0);
  });

  it("a replica failed and placed here again in one scan window: its view is the new attempt", async () => {
    const from = await c.publicClient.getBlockNumber();
    const scanner = new AssignmentScanner(c.publicClient, { ...c.addresses, deployBlock: from }, 1);
    const intent = makeIntent(c, { nonce: 4343n, maxRetries: 2 });
    const { id } = await submit(c, intent);
    const place = () => schedule(c, intent, [{ replicaIndex: 0, nodeId: 1 }]);
    await place();
    const mine = replicaRef(id, 0);
    expect((await scanner.scan()).added).toBe(1);
    await send(c, ORCH, { ...dr(c), functionName: "reportLost", args: [intent, 0] });
    await place();
    // the failure and the new placement in one window: the view is the new attempt, Scheduled
    const scan = await scanner.scan();
    expect(scan).toMatchObject({ added: 0, touched: new Set([mine]), statusNow: new Map() });
    expect(scan.placed.get(mine)).toMatchObject({ attempt: 2, status: "Scheduled", nodeId: 1 });
    expect((await readReplicaStates(c.publicClient, { ...c.addresses, deployBlock: 0n }, [{ deploymentId: id, replicaIndex: 0 }]))[0]).toEqual(
      scan.placed.get(mine),
    );
  });
});
