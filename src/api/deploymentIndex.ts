/**
 * The API's index of submitted deployments: IntentSubmitted logs scanned incrementally (each
 * request reads only the blocks since the last scan, plus a re-read overlap for shallow reorgs),
 * so listing deployments does not re-read the whole chain on every dashboard refresh. The entries
 * and the scan mark live in a KvStore (the watcher's storage seam): in memory by default, or in a
 * shared PostgreSQL table that several API replicas read and extend together.
 */
import type { Address, Hex, PublicClient } from "viem";
import type { HyphaAddresses } from "../chain/addresses";
import { listDeployments, type DeploymentListEntry } from "../chain/deployments";
import { decodeRecord, encodeRecord } from "../watcher/store/codec";
import { prefixRange, type KvOp, type KvStore } from "../watcher/store/kvStore";
import { MemoryKv } from "../watcher/store/memoryKv";

/** Blocks re-read on every refresh, so a submission in a block replaced by a shallow reorg is seen. */
const REORG_OVERLAP = 12n;

export interface DeploymentIndex {
  /** Every submitted deployment (optionally one deployer's), oldest first, up to the chain head. */
  list(deployer?: Address): Promise<DeploymentListEntry[]>;
  /** One deployment's entry, or undefined when no intent was submitted under `id`. */
  get(id: Hex): Promise<DeploymentListEntry | undefined>;
}

// Keys, under one prefix per DeploymentRegistry (one table can serve several deployments of the
// contracts): entries in submission order (block, then position in the block), an id -> entry-key
// lookup, and the last block scanned.
const keysFor = (deploymentRegistry: Address) => {
  const scope = `a:${deploymentRegistry.toLowerCase()}:`;
  const ENTRY = `${scope}e:`;
  return {
    ENTRY,
    BY_ID: `${scope}id:`,
    SCANNED: `${scope}scannedTo`,
    entryKey: (block: bigint, position: number) => `${ENTRY}${block.toString().padStart(16, "0")}:${String(position).padStart(6, "0")}`,
  };
};

/** @example const index = createDeploymentIndex(pc, addresses); (await index.list()).length */
export function createDeploymentIndex(publicClient: PublicClient, addresses: HyphaAddresses, kv: KvStore = new MemoryKv()): DeploymentIndex {
  let refreshing: Promise<void> | null = null;
  const { ENTRY, BY_ID, SCANNED: scannedKey, entryKey } = keysFor(addresses.deploymentRegistry);

  async function refresh(): Promise<void> {
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    const stored = await kv.get(scannedKey);
    const scannedTo = stored === undefined ? BigInt(addresses.deployBlock) - 1n : BigInt(stored);
    // A head below what was scanned means the chain was rewound: re-read from there.
    const upTo = head < scannedTo ? head : scannedTo;
    const floor = BigInt(addresses.deployBlock);
    const from = upTo - REORG_OVERLAP > floor ? upTo - REORG_OVERLAP : floor;
    if (from > head) return;
    const fresh = await listDeployments(publicClient, { ...addresses, deployBlock: from }, { toBlock: head });
    // Entries in the re-read range are replaced by what the chain says now (a reorg may drop them).
    const ops: KvOp[] = [];
    for await (const [key, value] of kv.entries({ gte: entryKey(from, 0), lt: prefixRange(ENTRY).lt })) {
      ops.push({ type: "del", key });
      ops.push({ type: "del", key: BY_ID + decodeRecord<DeploymentListEntry>(value).id.toLowerCase() });
    }
    const positions = new Map<bigint, number>();
    for (const e of fresh) {
      const position = positions.get(e.blockNumber) ?? 0;
      positions.set(e.blockNumber, position + 1);
      const key = entryKey(e.blockNumber, position);
      ops.push({ type: "put", key, value: encodeRecord(e) });
      ops.push({ type: "put", key: BY_ID + e.id.toLowerCase(), value: key });
    }
    ops.push({ type: "put", key: scannedKey, value: head.toString() });
    await kv.batch(ops);
  }

  const refreshed = () => {
    refreshing ??= refresh().finally(() => {
      refreshing = null;
    });
    return refreshing;
  };

  return {
    async get(id) {
      await refreshed();
      const key = await kv.get(BY_ID + id.toLowerCase());
      const value = key === undefined ? undefined : await kv.get(key);
      return value === undefined ? undefined : decodeRecord<DeploymentListEntry>(value);
    },
    async list(deployer) {
      await refreshed();
      const out: DeploymentListEntry[] = [];
      for await (const [, value] of kv.entries(prefixRange(ENTRY))) {
        const e = decodeRecord<DeploymentListEntry>(value);
        if (!deployer || e.deployer.toLowerCase() === deployer.toLowerCase()) out.push(e);
      }
      return out;
    },
  };
}
