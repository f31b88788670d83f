/**
 * The API's incremental deployment index on the real in-process chain: new submissions appear,
 * one deployer's can be picked out, and a submission dropped by a reorg (snapshot revert) leaves
 * the index when the chain replaces its block. On both stores: in memory (the default) and a real
 * PostgreSQL the test starts, where two API replicas share one index.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeploymentIndex } from "../../src/api/deploymentIndex";
import type { KvStore } from "../../src/watcher/store/kvStore";
import { MemoryKv } from "../../src/watcher/store/memoryKv";
import { PostgresKv } from "../../src/watcher/store/postgresKv";
import { inProcessChain, type InProcessChain } from "../helpers/chain";
import { postgresUnavailable, startPostgres, type TestPostgres } from "../helpers/postgres";
import { DEPLOYER, approve, makeIntent, submit } from "../contracts/fixtures";

let c: InProcessChain;
let base: string;
let postgres: TestPostgres | undefined;

beforeAll(async () => {
  if (!postgresUnavailable) postgres = await startPostgres();
  c = await inProcessChain();
  base = await c.snapshot();
  await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
  await approve(c, 14, c.addresses.deploymentRegistry);
});
afterAll(async () => {
  await c.revert(base);
  await postgres?.stop();
});

const stores = [
  { name: "memory", skip: undefined, open: async (): Promise<KvStore[]> => [new MemoryKv()] },
  // Skipped only where PostgreSQL is not installed (a fresh machine); CI installs it (.ci/run).
  {
    name: "postgres (two replicas)",
    skip: postgresUnavailable,
    open: async (): Promise<KvStore[]> => {
      const url = await postgres!.newDatabase();
      return [await PostgresKv.open(url, { table: "hypha_api_index" }), await PostgresKv.open(url, { table: "hypha_api_index" })];
    },
  },
];

describe.each(stores)("deployment index on $name", ({ skip, open }) => {
  it("follows new submissions and reorgs", async (ctx) => {
    if (skip) ctx.skip(skip);
    const kvs = await open();
    const start = await c.snapshot(); // each store's run submits the same intents
    const from = (await c.publicClient.getBlockNumber()) + 1n; // after the other store's run
    const index = createDeploymentIndex(c.publicClient, { ...c.addresses, deployBlock: from }, kvs[0]);
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
    expect(await index.get(b.id)).toBeUndefined();
    expect((await index.get(d.id))?.intent.nonce).toBe(7004n);
    if (kvs[1]) {
      // A second API replica on the same table answers from the shared index, and extends it.
      const replica = createDeploymentIndex(c.publicClient, { ...c.addresses, deployBlock: from }, kvs[1]);
      const e = await submit(c, makeIntent(c, { nonce: 7005n }));
      expect((await replica.list()).map((x) => x.id)).toEqual([a.id, d.id, e.id]);
      expect((await index.list()).map((x) => x.id)).toEqual([a.id, d.id, e.id]);
    }
    for (const kv of kvs) await kv.close();
    await c.revert(start);
  });
});
