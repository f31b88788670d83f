/**
 * The API's incremental deployment index on the real in-process chain: new submissions appear,
 * one deployer's can be picked out, and a submission dropped by a reorg (snapshot revert) leaves
 * the index when the chain replaces its block.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeploymentIndex } from "../../src/api/deploymentIndex";
import { inProcessChain, type InProcessChain } from "../helpers/chain";
import { DEPLOYER, approve, makeIntent, submit } from "../contracts/fixtures";

let c: InProcessChain;
let base: string;

beforeAll(async () => {
  c = await inProcessChain();
  base = await c.snapshot();
  await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
  await approve(c, 14, c.addresses.deploymentRegistry);
});
afterAll(async () => {
  await c.revert(base);
});

describe("deployment index", () => {
  it("follows new submissions and reorgs", async () => {
    const from = await c.publicClient.getBlockNumber();
    const index = createDeploymentIndex(c.publicClient, { ...c.addresses, deployBlock: from });
    expect(await index.list()).toEqual([]);
    const a = await submit(c, makeIntent(c, { nonce: 7001n }));
    expect((await index.list()).map((e) => e.id)).toEqual([a.id]);
    const beforeB = await c.snapshot();
    const b = await submit(c, makeIntent(c, { nonce: 7002n }));
    const other = makeIntent(c, { nonce: 7003n, deployer: c.accounts[14].address });
    const o = await submit(c, other, { signer: 14 });
    expect((await index.list()).map((e) => e.id)).toEqual([a.id, b.id, o.id]);
    expect((await index.list(c.accounts[14].address)).map((e) => e.id)).toEqual([o.id]);
    // reorg: b and o's blocks are replaced by a chain where another intent was submitted instead
    await c.revert(beforeB);
    const d = await submit(c, makeIntent(c, { nonce: 7004n }));
    expect((await index.list()).map((e) => e.id)).toEqual([a.id, d.id]);
  });
});
