/**
 * The API's index of submitted deployments: IntentSubmitted logs scanned incrementally (each
 * request reads only the blocks since the last one, plus a re-read overlap for shallow reorgs),
 * so listing deployments does not re-read the whole chain on every dashboard refresh.
 */
import type { Address, Hex, PublicClient } from "viem";
import type { HyphaAddresses } from "../chain/addresses";
import { listDeployments, type DeploymentListEntry } from "../chain/deployments";

/** Blocks re-read on every refresh, so a submission in a block replaced by a shallow reorg is seen. */
const REORG_OVERLAP = 12n;

export interface DeploymentIndex {
  /** Every submitted deployment (optionally one deployer's), oldest first, up to the chain head. */
  list(deployer?: Address): Promise<DeploymentListEntry[]>;
  /** One deployment's entry, or undefined when no intent was submitted under `id`. */
  get(id: Hex): Promise<DeploymentListEntry | undefined>;
}

/** @example const index = createDeploymentIndex(pc, addresses); (await index.list()).length */
export function createDeploymentIndex(publicClient: PublicClient, addresses: HyphaAddresses): DeploymentIndex {
  const byId = new Map<Hex, DeploymentListEntry>(); // by lowercase id
  let scannedTo = BigInt(addresses.deployBlock) - 1n;
  let refreshing: Promise<void> | null = null;

  async function refresh(): Promise<void> {
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    // A head below what was scanned means the chain was rewound: re-read from there.
    const upTo = head < scannedTo ? head : scannedTo;
    const floor = BigInt(addresses.deployBlock);
    const from = upTo - REORG_OVERLAP > floor ? upTo - REORG_OVERLAP : floor;
    if (from > head) return;
    // Entries in the re-read range are replaced by what the chain says now (a reorg may drop them).
    for (const [id, e] of byId) if (e.blockNumber >= from) byId.delete(id);
    for (const e of await listDeployments(publicClient, { ...addresses, deployBlock: from }, { toBlock: head })) byId.set(e.id.toLowerCase() as Hex, e);
    scannedTo = head;
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
      return byId.get(id.toLowerCase() as Hex);
    },
    async list(deployer) {
      await refreshed();
      const all = [...byId.values()].sort((a, b) => (a.blockNumber === b.blockNumber ? 0 : a.blockNumber < b.blockNumber ? -1 : 1));
      return deployer ? all.filter((e) => e.deployer.toLowerCase() === deployer.toLowerCase()) : all;
    },
  };
}
