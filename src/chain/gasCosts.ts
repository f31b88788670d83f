/**
 * What one item of a DeploymentRegistry batch call costs at most, in gas, and the split of a batch
 * into transactions that each stay under the per-transaction gas cap: the explicit gas limits the
 * watcher (scheduleMany, terminateMany, reportLost) and the agent (attestMany) send with, so no
 * node re-executes a batch for `eth_estimateGas`. The bounds are measured worst cases with headroom
 * (test/chain/gasCosts.test.ts fails when a real batch uses more); only the gas used is paid.
 */

/** EIP-7825's per-transaction gas cap (2^24), which Hardhat's node enforces: a larger limit is refused. */
export const TX_GAS_CAP = 16_777_216n;

/**
 * Upper bounds, measured on Hardhat (test/chain/gasCosts.test.ts runs the worst cases; measured
 * per item in batches: a job placement 47.6k on one operator, 65.8k over three; a finalizing
 * quorum-1 vote 70.4k, a 3-replica job's vote 111k on average; terminating a running 3-replica
 * service 71k, a finished job 15k):
 * - `batch`: the 21,000 every transaction pays, the call's own dispatch and calldata header.
 * - `placement`: one replica placed by scheduleMany, its intent's calldata counted as if alone
 *   (a job replica records its operator: ~70k when the node's slots are cold).
 * - `terminate` + `terminatePerReplica` x replicas: a deployment settled while every replica runs
 *   (each replica stopped, its node paid and credited for the first time: ~48k each at 255).
 * - `attest` + `attestPerReplica` x replicas: the vote that finalizes a job's quorum (it releases
 *   every reservation, stops and pays the other replicas: 231,702 for a 3-replica job).
 * - `reportLost`: one lost replica failed, its node paid, a re-placement slot freed.
 */
export const GAS_BOUNDS = {
  batch: 60_000n,
  placement: 100_000n,
  terminate: 60_000n,
  terminatePerReplica: 55_000n,
  attest: 80_000n,
  attestPerReplica: 40_000n,
  reportLost: 250_000n,
} as const;

/** One item of a batch call, with what its cost depends on. */
export type GasItem = { kind: "placement" } | { kind: "terminate"; replicas: number } | { kind: "attest"; replicas: number } | { kind: "reportLost" };

/**
 * The most one item can cost (pure).
 * @example itemGas({ kind: "terminate", replicas: 1 }) // 115000n
 */
export function itemGas(item: GasItem): bigint {
  switch (item.kind) {
    case "placement":
      return GAS_BOUNDS.placement;
    case "terminate":
      return GAS_BOUNDS.terminate + GAS_BOUNDS.terminatePerReplica * BigInt(Math.max(1, item.replicas));
    case "attest":
      return GAS_BOUNDS.attest + GAS_BOUNDS.attestPerReplica * BigInt(Math.max(1, item.replicas));
    case "reportLost":
      return GAS_BOUNDS.reportLost;
  }
}

/**
 * The gas limit for one transaction carrying `items` (pure): the batch overhead plus each item's
 * bound, never above the cap (splitUnderGasCap keeps batches under it).
 * @example batchGasLimit([{ kind: "placement" }, { kind: "placement" }]) // 260000n
 */
export function batchGasLimit(items: readonly GasItem[]): bigint {
  let gas = GAS_BOUNDS.batch;
  for (const item of items) gas += itemGas(item);
  return gas > TX_GAS_CAP ? TX_GAS_CAP : gas;
}

/**
 * Splits `items` into consecutive batches whose gas limit stays within `cap` (pure, order kept).
 * An item too large for any transaction goes alone (its transaction gets the cap).
 * @example splitUnderGasCap(jobs, (j) => ({ kind: "terminate", replicas: j.replicas })).length // 2 for 150 one-replica jobs
 */
export function splitUnderGasCap<T>(items: readonly T[], gasItemOf: (item: T) => GasItem, cap: bigint = TX_GAS_CAP): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let gas = GAS_BOUNDS.batch;
  for (const item of items) {
    const g = itemGas(gasItemOf(item));
    if (current.length > 0 && gas + g > cap) {
      batches.push(current);
      current = [];
      gas = GAS_BOUNDS.batch;
    }
    current.push(item);
    gas += g;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
