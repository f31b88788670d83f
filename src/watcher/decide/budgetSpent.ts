/**
 * Whether a deployment's budget is spent, by the same rule as DeploymentRegistry._budgetSpent: the
 * run time owed to its Running replicas (price per second times seconds since each started, capped
 * by the replica's maxRunSeconds when it has one) has
 * reached the escrow left. Then anyone may terminate it, and the watcher does, so the nodes are paid
 * and stop running what nobody pays for. Pure: the caller reads the views at one block.
 */
import { replicaStatusNumber } from "../../chain/lifecycle";
const REPLICA_RUNNING = replicaStatusNumber("Running");

/**
 * @example isBudgetSpent(1_000n, [{ status: 2, pricePerSecond: 10n, since: 0n }], 100n) // true
 */
export function isBudgetSpent(
  escrow: bigint,
  replicas: ReadonlyArray<{ status: number; pricePerSecond: bigint; since: bigint; maxRunSeconds?: number }>,
  blockTimestamp: bigint,
): boolean {
  let owed = 0n;
  for (const r of replicas) {
    if (r.status !== REPLICA_RUNNING || blockTimestamp <= r.since) continue;
    let ran = blockTimestamp - r.since;
    if (r.maxRunSeconds && ran > BigInt(r.maxRunSeconds)) ran = BigInt(r.maxRunSeconds);
    owed += r.pricePerSecond * ran;
  }
  return owed >= escrow;
}
