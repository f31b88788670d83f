/**
 * The agent's read side of the chain: which replicas were ever scheduled on this node, and which
 * of them changed since the last look (ReplicaScheduled and ReplicaStatusChanged logs filtered by
 * the indexed nodeId, scanned incrementally from the contracts' deploy block in one eth_getLogs per
 * tick), and their current on-chain state (getReplica + getDeployment). A placement's log is
 * chain data at a known block: the agent takes its view from it (Scheduled, its attempt, on this
 * node) instead of reading the views, and applies later status logs to it; the periodic full
 * re-read of the views stays as the repair (e.g. a deployment that Failed elsewhere).
 */
import { replicaStatusNumber } from "../chain/lifecycle";
import { encodeEventTopics, numberToHex, pad, parseEventLogs, type Hex, type PublicClient } from "viem";
import { deploymentRegistryAbi } from "../chain/abi";
import { DeploymentStatus, ReplicaStatus } from "../chain/eip712";
import { getLogsSplitting } from "../chain/logs";
import type { AgentAddresses } from "./config";
import type { ChainReplica } from "./reconcile";
import { replicaRef } from "./reconcile";

/** Max block range per eth_getLogs request. */
const MAX_RANGE = 5_000n;
/** Each scan re-reads this many already-scanned blocks, so a placement in a block replaced by a
 * shallow reorg is still seen (duplicates are harmless: the current state decides). */
export const REORG_OVERLAP = 12n;

const [SCHEDULED_TOPIC] = encodeEventTopics({ abi: deploymentRegistryAbi, eventName: "ReplicaScheduled" });
const [STATUS_TOPIC] = encodeEventTopics({ abi: deploymentRegistryAbi, eventName: "ReplicaStatusChanged" });

/** What one scan found. */
export interface ScanResult {
  /** New candidates (first placement on this node seen). */
  added: number;
  /** Replicas (replicaRef) with a placement or status change on this node not seen before. */
  touched: Set<string>;
  /**
   * For touched replicas whose new logs are only status changes (no new placement): the status
   * the last one moved to. The agent applies it to the view it read, without reading again.
   */
  statusNow: Map<string, ChainReplica["status"]>;
  /**
   * Replicas placed on this node in the scanned blocks: their view as of the last log seen for
   * them (Scheduled with the placement's attempt, then any status change logged after it).
   */
  placed: Map<string, ChainReplica>;
}

/** Incremental scanner of this node's ReplicaScheduled and ReplicaStatusChanged logs. */
export class AssignmentScanner {
  private nextBlock: bigint;
  /** Candidate replicas: key -> {deploymentId, replicaIndex, block of its latest placement here}. */
  readonly candidates = new Map<string, { deploymentId: Hex; replicaIndex: number; placedAt: bigint }>();
  /** Logs already counted as a change (blockHash:logIndex -> block), for the re-scanned overlap. */
  private readonly seen = new Map<string, bigint>();

  constructor(
    private readonly publicClient: PublicClient,
    private readonly addresses: AgentAddresses,
    private readonly nodeId: number,
  ) {
    this.nextBlock = BigInt(addresses.deployBlock);
  }

  /** eth_getLogs requests made so far (a tick with no new block makes none). */
  logReads = 0;
  /** The head the last complete scan reached. */
  private scannedHead: bigint | null = null;

  /**
   * Scan new blocks up to the chain head. With no block since the last scan nothing can have
   * changed: no logs are read (the head read alone confirms the chain answers), and the overlap is
   * re-read with the next block.
   */
  async scan(): Promise<ScanResult> {
    const head = await this.publicClient.getBlockNumber({ cacheTime: 0 });
    const result: ScanResult = { added: 0, touched: new Set(), statusNow: new Map(), placed: new Map() };
    if (head === this.scannedHead) return result;
    const floor = BigInt(this.addresses.deployBlock);
    this.nextBlock = this.nextBlock - REORG_OVERLAP > floor ? this.nextBlock - REORG_OVERLAP : floor;
    const placedAgain = new Set<string>();
    const nodeTopic = pad(numberToHex(this.nodeId));
    while (this.nextBlock <= head) {
      const to = this.nextBlock + MAX_RANGE - 1n < head ? this.nextBlock + MAX_RANGE - 1n : head;
      this.logReads++;
      const raw = await getLogsSplitting(this.publicClient, {
        address: this.addresses.deploymentRegistry,
        topics: [[SCHEDULED_TOPIC, STATUS_TOPIC], null, nodeTopic],
        fromBlock: this.nextBlock,
        toBlock: to,
      });
      const logs = parseEventLogs({ abi: deploymentRegistryAbi, logs: raw, strict: true });
      for (const log of logs) {
        if (log.eventName !== "ReplicaScheduled" && log.eventName !== "ReplicaStatusChanged") continue;
        const args = log.args as { id: Hex; replicaIndex: number; nodeId: number; attempt?: number; to?: number };
        if (Number(args.nodeId) !== this.nodeId) continue; // never trust a filter alone
        const key = replicaRef(args.id, Number(args.replicaIndex));
        const logId = `${log.blockHash}:${log.logIndex}`;
        if (this.seen.has(logId)) continue; // the re-scanned overlap: counted already
        this.seen.set(logId, log.blockNumber!);
        if (log.eventName === "ReplicaScheduled") {
          if (!this.candidates.has(key)) result.added++;
          this.candidates.set(key, { deploymentId: args.id, replicaIndex: Number(args.replicaIndex), placedAt: log.blockNumber! });
        }
        result.touched.add(key);
        const status = ReplicaStatus[Number(args.to)] as ChainReplica["status"];
        if (log.eventName === "ReplicaScheduled") {
          placedAgain.add(key);
          // The deployment is at least Scheduled once a replica is placed; a later change of the
          // deployment alone shows in the full re-read.
          result.placed.set(key, {
            deploymentId: args.id.toLowerCase() as Hex,
            replicaIndex: Number(args.replicaIndex),
            nodeId: this.nodeId,
            attempt: Number(args.attempt),
            status: "Scheduled",
            deploymentStatus: "Scheduled",
          });
        } else if (result.placed.has(key)) result.placed.get(key)!.status = status;
        else result.statusNow.set(key, status);
      }
      this.nextBlock = to + 1n;
    }
    for (const [id, block] of this.seen) if (block + 2n * REORG_OVERLAP < this.nextBlock) this.seen.delete(id);
    for (const key of placedAgain) result.statusNow.delete(key); // a new placement: its view is in `placed`
    this.scannedHead = head;
    return result;
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
    ids.map((id) =>
      publicClient.readContract({ address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "getDeployment", args: [id] }),
    ),
  );
  const depStatus = new Map(ids.map((id, i) => [id, DeploymentStatus[Number((deployments[i] as { status: number }).status)] ?? "None"]));
  // A replica index beyond a scaled-down deployment reverts (BadReplicaIndex): it is simply gone.
  const states = await Promise.all(
    replicas.map((r) =>
      publicClient
        .readContract({ address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "getReplica", args: [r.deploymentId, r.replicaIndex] })
        .catch((err: { name?: string; shortMessage?: string }) => {
          if (err?.name === "ContractFunctionExecutionError") return { nodeId: 0, status: replicaStatusNumber("Stopped"), attempt: 0 };
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
