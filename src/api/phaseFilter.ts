/**
 * GET /v1/deployments?phase=…: the newest deployments in one phase, across every page rather
 * than within one. A phase comes from chain data (deploymentResource.ts), so a filter has to look
 * at each candidate; an ended phase never changes, so once its settlement is deeper than a shallow
 * reorg it is remembered in the index's store and not read again, and a later filter reads only
 * the deployments still in progress (and the freshly ended ones).
 */
import type { PublicClient } from "viem";
import type { HyphaAddresses } from "../chain/addresses";
import type { DeploymentListEntry } from "../chain/deployments";
import { ENDED_PHASES, type DeploymentPhase } from "../chain/deploymentOutcome";
import type { KvStore } from "../watcher/store/kvStore";
import { readDeploymentResources, type DeploymentResource, type SpecNameLookup } from "./deploymentResource";

/** Blocks a settlement must be under the head before its phase is remembered (as the index's re-read overlap). */
export const SETTLED_DEPTH = 12n;
/** Deployments read from the chain at a time while filtering. */
const CHUNK = 100;

/** Ended phases by deployment id, in the index's store. */
export interface PhaseMemory {
  get(id: string): Promise<DeploymentPhase | undefined>;
  remember(entries: { id: string; phase: DeploymentPhase }[]): Promise<void>;
}

/** @example const memory = phaseMemory(kv, addresses.deploymentRegistry) */
export function phaseMemory(kv: KvStore, deploymentRegistry: string): PhaseMemory {
  const prefix = `a:${deploymentRegistry.toLowerCase()}:phase:`;
  return {
    async get(id) {
      return (await kv.get(prefix + id.toLowerCase())) as DeploymentPhase | undefined;
    },
    async remember(entries) {
      if (entries.length) await kv.batch(entries.map((e) => ({ type: "put" as const, key: prefix + e.id.toLowerCase(), value: e.phase })));
    },
  };
}

/** Whether a resource's phase can be remembered: ended, and settled at least SETTLED_DEPTH blocks under `head`. */
export function isSettledFor(r: DeploymentResource, head: bigint): boolean {
  return ENDED_PHASES.has(r.phase) && r.terminated !== null && BigInt(r.terminated.block) + SETTLED_DEPTH <= head;
}

/**
 * The entries (newest first) whose phase is `phase`: the page `offset..offset+limit` of them as
 * resources, and how many there are in all.
 */
export async function deploymentsInPhase(
  io: { publicClient: PublicClient; addresses: HyphaAddresses; names: SpecNameLookup; memory: PhaseMemory; head: bigint },
  newestFirst: DeploymentListEntry[],
  phase: DeploymentPhase,
  page: { offset: number; limit: number },
): Promise<{ total: number; deployments: DeploymentResource[] }> {
  const matching: DeploymentResource[] = [];
  let total = 0;
  const keep = (r: DeploymentResource) => {
    if (r.phase !== phase) return;
    if (total >= page.offset && matching.length < page.limit) matching.push(r);
    total++;
  };
  for (let i = 0; i < newestFirst.length; i += CHUNK) {
    const chunk = newestFirst.slice(i, i + CHUNK);
    const known = await Promise.all(chunk.map((e) => io.memory.get(e.id)));
    const unknown = chunk.filter((_, j) => known[j] === undefined);
    const read = new Map((await readDeploymentResources(io.publicClient, io.addresses, unknown, io.names)).map((r) => [r.id.toLowerCase(), r]));
    await io.memory.remember([...read.values()].filter((r) => isSettledFor(r, io.head)).map((r) => ({ id: r.id, phase: r.phase })));
    for (let j = 0; j < chunk.length; j++) {
      const entry = chunk[j]!;
      const remembered = known[j];
      if (remembered === undefined) keep(read.get(entry.id.toLowerCase())!);
      else if (remembered === phase) {
        // A remembered match on this page is read whole; one outside it is only counted.
        if (total >= page.offset && matching.length < page.limit)
          matching.push((await readDeploymentResources(io.publicClient, io.addresses, [entry], io.names))[0]!);
        total++;
      }
    }
  }
  return { total, deployments: matching };
}
