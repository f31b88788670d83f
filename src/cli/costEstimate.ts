/**
 * What a deployment will cost, before anything is signed: the escrow the intent takes, the most it
 * can spend per hour at its price limit, and the rate at the prices of the nodes that would take it
 * now (the cheapest eligible active nodes, as the watcher prefers none by price: an estimate, not a
 * promise). Pure; `apply --dry-run` and `diff` print it.
 */
import type { DeploymentIntent } from "../chain/eip712";
import type { NodeView } from "../chain/nodes";

export interface CostEstimate {
  /** Escrowed at submission (refunded, less what nodes earned, at the end). */
  escrow: bigint;
  /** replicas x maxPricePerSecond x 3600. */
  maxPerHour: bigint;
  /** At the prices of the eligible nodes now; undefined when no node fits. */
  estimatedPerHour?: bigint;
  /** Seconds the escrow lasts at the estimated rate (or the max rate when no node fits). */
  lastsSeconds?: bigint;
  /** How many replicas fit on the nodes now. */
  fitting: number;
}

/**
 * @example estimateCost(intent, nodes).estimatedPerHour
 */
export function estimateCost(intent: DeploymentIntent, nodes: NodeView[]): CostEstimate {
  const replicas = BigInt(intent.replicas);
  const maxPerHour = replicas * intent.maxPricePerSecond * 3600n;
  // Each eligible node with its free capacity, cheapest first; count the replicas it could take.
  const prices: bigint[] = [];
  const eligible = nodes
    .filter((n) => !n.jailed && n.unbondingSince === 0n && n.pricePerSecond <= intent.maxPricePerSecond)
    .sort((a, b) => (a.pricePerSecond === b.pricePerSecond ? a.id - b.id : a.pricePerSecond < b.pricePerSecond ? -1 : 1));
  for (const n of eligible) {
    let fit = Math.min(
      n.freeSlots,
      Math.floor(n.freeCpuMillis / Math.max(1, intent.cpuMillis)),
      Math.floor(n.freeMemoryMiB / Math.max(1, intent.memoryMiB)),
      Math.floor(n.freeDiskMiB / Math.max(1, intent.diskMiB)),
    );
    if (intent.kind === 1) fit = Math.min(fit, 1); // a job's replicas go to distinct nodes
    for (let i = 0; i < fit && prices.length < intent.replicas; i++) prices.push(n.pricePerSecond);
  }
  const fitting = prices.length;
  if (fitting < intent.replicas) {
    return { escrow: intent.budget, maxPerHour, fitting, lastsSeconds: maxPerHour > 0n ? (intent.budget * 3600n) / maxPerHour : undefined };
  }
  const perSecond = prices.reduce((a, b) => a + b, 0n);
  return {
    escrow: intent.budget,
    maxPerHour,
    estimatedPerHour: perSecond * 3600n,
    fitting,
    lastsSeconds: perSecond > 0n ? intent.budget / perSecond : undefined,
  };
}

/** @example formatDuration(93784n) // "1d 2h 3m" */
export function formatDuration(seconds: bigint): string {
  const s = Number(seconds);
  if (s >= 365 * 86400 * 100) return "over 100 years";
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = [d ? `${d}d` : "", h ? `${h}h` : "", m || (!d && !h) ? `${m}m` : ""].filter(Boolean);
  return parts.join(" ");
}
