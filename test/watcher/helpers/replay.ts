/** Replays the chain into a fresh StateStore (the reference a followed state must equal). */
import type { PublicClient } from "viem";
import type { HyphaAddresses } from "../../../src/chain/addresses";
import { ChainFollower } from "../../../src/watcher/ingest/followChain";
import type { KvStore } from "../../../src/watcher/store/kvStore";
import { LevelKv } from "../../../src/watcher/store/levelKv";
import { StateStore } from "../../../src/watcher/store/stateStore";

/** Open a store in `dir` (a LevelDB directory, or an open KvStore of either backend) and a follower over it. */
export async function openFollower(publicClient: PublicClient, addresses: HyphaAddresses, dir: string | KvStore, range: { initial: number; max: number }) {
  const db = typeof dir === "string" ? await LevelKv.open(dir) : dir;
  const store = await StateStore.open(db, 256);
  const follower = new ChainFollower(publicClient, store, {
    nodeRegistry: addresses.nodeRegistry,
    deploymentRegistry: addresses.deploymentRegistry,
    startBlock: 0n,
    initialBlockRange: range.initial,
    maxBlockRange: range.max,
  });
  return { db, store, follower };
}

/** Follow until the cursor is at the head; returns the number of steps. */
export async function followToHead(follower: ChainFollower, maxSteps = 10_000): Promise<number> {
  for (let i = 1; i <= maxSteps; i++) if ((await follower.step()).caughtUp) return i;
  throw new Error("follower did not catch up");
}

/** Fresh replay from block 0 into `dir`; returns the state dump. */
export async function freshReplay(publicClient: PublicClient, addresses: HyphaAddresses, dir: string): Promise<Record<string, unknown>> {
  const { db, store, follower } = await openFollower(publicClient, addresses, dir, { initial: 1000, max: 1000 });
  await followToHead(follower);
  const dump = await store.dump();
  await db.close();
  return dump;
}
