/** Replays the chain into a fresh StateStore (the reference a followed state must equal). */
import type { PublicClient } from "viem";
import type { HyphaAddresses } from "../../../src/chain/addresses";
import { ChainFollower, type Step } from "../../../src/watcher/ingest/followChain";
import type { KvStore } from "../../../src/watcher/store/kvStore";
import { LevelKv } from "../../../src/watcher/store/levelKv";
import { StateStore } from "../../../src/watcher/store/stateStore";

/** Open a store in `dir` (a LevelDB directory, or an open KvStore of either backend) and a follower over it. */
export async function openFollower(
  publicClient: PublicClient,
  addresses: HyphaAddresses,
  dir: string | KvStore,
  range: { initial: number; max: number; finalityDepth?: number },
) {
  const db = typeof dir === "string" ? await LevelKv.open(dir) : dir;
  const store = await StateStore.open(db, 256);
  const follower = new ChainFollower(publicClient, store, {
    nodeRegistry: addresses.nodeRegistry,
    deploymentRegistry: addresses.deploymentRegistry,
    startBlock: 0n,
    initialBlockRange: range.initial,
    maxBlockRange: range.max,
    finalityDepth: range.finalityDepth,
  });
  return { db, store, follower };
}

/** One follower step, applied to the store as the watcher applies it. */
export async function stepAndApply(follower: ChainFollower, store: StateStore): Promise<Step> {
  const step = await follower.step();
  if (step.kind === "range") await store.applyRange(step.events, step.to, undefined, step.head);
  else if (step.kind === "reorg") await store.rollbackTo(step.ancestor);
  return step;
}

/** Follow until the cursor is at the head; returns the number of steps. */
export async function followToHead(f: { follower: ChainFollower; store: StateStore }, maxSteps = 10_000): Promise<number> {
  for (let i = 1; i <= maxSteps; i++) if ((await stepAndApply(f.follower, f.store)).caughtUp) return i;
  throw new Error("follower did not catch up");
}

/** Fresh replay from block 0 into `dir`; returns the state dump. */
export async function freshReplay(publicClient: PublicClient, addresses: HyphaAddresses, dir: string): Promise<Record<string, unknown>> {
  const f = await openFollower(publicClient, addresses, dir, { initial: 1000, max: 1000 });
  const { db, store } = f;
  await followToHead(f);
  const dump = await store.dump();
  await db.close();
  return dump;
}
