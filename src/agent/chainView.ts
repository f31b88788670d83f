/**
 * The agent's read side of the chain: which replicas were ever scheduled on this node
 * (ReplicaScheduled logs filtered by the indexed nodeId, scanned incrementally from the
 * contracts' deploy block), and their current on-chain state (getReplica + getDeployment).
 * Logs only nominate candidates; the agent acts on the current state read each tick.
 */
import type { Hex, PublicClient } from "viem";
import { deploymentRegistryAbi } from "../chain/abi";
import { DeploymentStatus, ReplicaStatus } from "../chain/eip712";
import type { AgentAddresses } from "./config";
import type { ChainReplica } from "./reconcile";
import { replicaKey } from "./reconcile";

/** Max block range per eth_getLogs request. */
const MAX_RANGE = 5_000n;
/** Each scan re-reads this many already-scanned blocks, so a placement in a block replaced by a
 * shallow reorg is still seen (duplicates are harmless: the current state decides). */
export const REORG_OVERLAP = 12n;

/** Incremental scanner of this node's ReplicaScheduled logs. */
export class AssignmentScanner {
  private nextBlock: bigint;
  /** Candidate replicas: key -> {deploymentId, replicaIndex}. */
  readonly candidates = new Map<string, { deploymentId: Hex; replicaIndex: number }>();

  constructor(
    private readonly publicClient: PublicClient,
    private readonly addresses: AgentAddresses,
    private readonly nodeId: number,
  ) {
    this.nextBlock = BigInt(addresses.deployBlock);
  }

  /** Scan new blocks up to the chain head; returns the number of new candidates. */
  async scan(): Promise<number> {
    const head = await this.publicClient.getBlockNumber();
    const floor = BigInt(this.addresses.deployBlock);
    this.nextBlock = this.nextBlock - REORG_OVERLAP > floor ? this.nextBlock - REORG_OVERLAP : floor;
    let added = 0;
    while (this.nextBlock <= head) {
      const to = this.nextBlock + MAX_RANGE - 1n < head ? this.nextBlock + MAX_RANGE - 1n : head;
      const logs = await this.publicClient.getContractEvents({
        address: this.addresses.deploymentRegistry,
        abi: deploymentRegistryAbi,
        eventName: "ReplicaScheduled",
        args: { nodeId: this.nodeId },
        fromBlock: this.nextBlock,
        toBlock: to,
        strict: true,
      });
      for (const log of logs) {
        const args = log.args as { id: Hex; replicaIndex: number; nodeId: number };
        if (Number(args.nodeId) !== this.nodeId) continue; // never trust a filter alone
        const key = replicaKey(args.id, Number(args.replicaIndex));
        if (!this.candidates.has(key)) {
          this.candidates.set(key, { deploymentId: args.id, replicaIndex: Number(args.replicaIndex) });
          added++;
        }
      }
      this.nextBlock = to + 1n;
    }
    return added;
  }

  /** Forget a candidate (it is placed elsewhere now; a new placement here logs it again). */
  forget(key: string): void {
    this.candidates.delete(key);
  }
}

/**
 * Current on-chain state of the given replicas (one getDeployment per deployment, one
 * getReplica per replica; viem batches them into few HTTP requests).
 * @example const states = await readReplicaStates(pc, addresses, [...scanner.candidates.values()]);
 */
export async function readReplicaStates(
  publicClient: PublicClient,
  addresses: AgentAddresses,
  replicas: { deploymentId: Hex; replicaIndex: number }[],
): Promise<ChainReplica[]> {
  const ids = [...new Set(replicas.map((r) => r.deploymentId.toLowerCase() as Hex))];
  const deployments = await Promise.all(
    ids.map((id) => publicClient.readContract({ address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "getDeployment", args: [id] })),
  );
  const depStatus = new Map(ids.map((id, i) => [id, DeploymentStatus[Number((deployments[i] as { status: number }).status)] ?? "None"]));
  // A replica index beyond a scaled-down deployment reverts (BadReplicaIndex): it is simply gone.
  const states = await Promise.all(
    replicas.map((r) =>
      publicClient
        .readContract({ address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "getReplica", args: [r.deploymentId, r.replicaIndex] })
        .catch((err: { name?: string; shortMessage?: string }) => {
          if (err?.name === "ContractFunctionExecutionError") return { nodeId: 0, status: 6, attempt: 0 };
          throw err;
        }),
    ),
  );
  return replicas.map((r, i) => {
    const s = states[i] as { nodeId: number; status: number; attempt: number };
    return {
      deploymentId: r.deploymentId.toLowerCase() as Hex,
      replicaIndex: r.replicaIndex,
      nodeId: Number(s.nodeId),
      attempt: Number(s.attempt),
      status: ReplicaStatus[Number(s.status)] ?? "Pending",
      deploymentStatus: depStatus.get(r.deploymentId.toLowerCase() as Hex) ?? "None",
    };
  });
}
