/**
 * Gets the agent's signed attestations on-chain: a queue of wanted attestations, flushed once
 * per tick as attestMany transactions from the agent's own account (one, unless the queue needs
 * more gas than one transaction may ask for; sequential nonces: the next flush starts only after
 * the previous receipt), each with an explicit gas limit from the measured per-item bounds (no
 * simulation, no eth_estimateGas: the node executes each batch once). Idempotent: before sending, each queued
 * attestation is checked against the replica's current on-chain state and dropped if the chain
 * already reflects it or the placement moved on.
 */
import { zeroHash, type Hex, type LocalAccount, type PublicClient, type TypedDataDomain, type WalletClient } from "viem";
import type { Logger } from "pino";
import { deploymentRegistryAbi } from "../chain/abi";
import { AttestedStatus, type Attestation } from "../chain/eip712";
import { bisectRefused } from "../chain/bisectRefused";
import { ChainRefusedError } from "../chain/chainError";
import { sendSizedContractTx } from "../chain/sizedTx";
import { batchGasLimit, splitUnderGasCap, type GasItem } from "../chain/gasCosts";
import type { AgentAddresses } from "./config";
import { readReplicaStates } from "./chainView";
import { createAttestationSigner } from "./attestationSigner";
import { attestationStillNeeded, replicaRef, type ChainReplica, type WantedAttestation } from "./reconcile";

/** An attestation waiting to be sent, with what it states. */
export interface QueuedAttestation extends WantedAttestation {
  measurement: Hex;
  outputHash: Hex;
}

/** Outcome of one sent attestation, reported to the agent's replica table. */
export interface AttestationSent {
  att: QueuedAttestation;
  transactionHash: Hex;
}

const ZERO32 = `0x${"0".repeat(64)}` as Hex;
/** A queue shorter than this is flushed as soon as something is queued (see flushSoon). */
export const FLUSH_AT_ONCE_BELOW = 8;
/** A queue this long is a full batch: sent at the next tick without waiting. */
export const FULL_BATCH = 64;

/** Build the EIP-712 Attestation struct (pure). */
export function toAttestation(q: QueuedAttestation, nodeId: number, timestamp: bigint): Attestation {
  return {
    deploymentId: q.deploymentId,
    replicaIndex: q.replicaIndex,
    nodeId,
    attempt: q.attempt,
    status: AttestedStatus[q.status],
    measurement: q.measurement,
    outputHash: q.outputHash ?? zeroHash,
    timestamp,
  };
}

/** The queue and its flusher. */
export class Attester {
  private queue = new Map<string, QueuedAttestation>();
  private flushing = false;
  private flushAgain = false;
  private lastFlushAt = 0;
  private signer: ReturnType<typeof createAttestationSigner> | undefined;

  constructor(
    private readonly publicClient: PublicClient,
    private readonly walletClient: WalletClient,
    private readonly account: LocalAccount,
    private readonly addresses: AgentAddresses,
    private readonly domain: TypedDataDomain,
    private readonly nodeId: number,
    private readonly logger: Logger,
    private readonly onSent: (s: AttestationSent) => void,
    /** Current on-chain state of replicas (default: read their views from the chain). */
    private readonly readStates: (replicas: { deploymentId: Hex; replicaIndex: number }[]) => Promise<ChainReplica[]> = (replicas) =>
      readReplicaStates(publicClient, addresses, replicas),
    /** A deployment's replica count when known (its intent): what a finalizing vote's gas depends on; else it is read. */
    private readonly replicasOf: (deploymentId: Hex) => number | undefined = () => undefined,
  ) {}

  /**
   * Queue an attestation; a later one for the same replica attempt replaces an unsent earlier one.
   * An unsent Running is replaced only by Completed: a job done before its Running went out (a fast
   * sandbox) completes straight from Scheduled, paid from its placement, in one attestation instead
   * of two. Before Failed or Tampered it still goes out first, in the same attestMany: the node is
   * paid for the time its replica ran.
   */
  enqueue(att: QueuedAttestation): void {
    const run = `${replicaRef(att.deploymentId, att.replicaIndex)}#${att.attempt}`;
    if (att.status === "Completed") this.queue.delete(`${run}#Running`);
    this.queue.set(att.status === "Running" ? `${run}#Running` : run, att);
  }

  /**
   * Drops `att` from the queue unless a later attestation for the same run replaced it meanwhile
   * (e.g. Tampered queued while Running was being sent): that one must still go out.
   */
  private forget(key: string, att: QueuedAttestation): void {
    if (this.queue.get(key) === att) this.queue.delete(key);
  }

  /** Attestations not yet on-chain. */
  pending(): QueuedAttestation[] {
    return [...this.queue.values()];
  }

  /**
   * Flush now when the queue is short and nothing is being sent (one deployment's attestation is
   * on-chain a block later instead of at the next tick); what queues while a send is in flight
   * goes out right after it, if the queue is still short. A long queue is left to `flushDue`.
   * @example attester.enqueue(att); attester.flushSoon();
   */
  flushSoon(): void {
    if (this.queue.size === 0 || this.queue.size >= FLUSH_AT_ONCE_BELOW) return;
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    void this.flush()
      .catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, "attestation flush failed; the next tick retries"))
      .finally(() => {
        if (!this.flushAgain) return;
        this.flushAgain = false;
        this.flushSoon();
      });
  }

  /**
   * The tick's flush, adaptive: a short queue or a full batch goes at once; a queue in between
   * waits until `maxWaitMs` after the last flush began, so a busy agent sends few large batches.
   * @example await attester.flushDue(cfg.pollIntervalMs)
   */
  async flushDue(maxWaitMs: number): Promise<number> {
    const n = this.queue.size;
    if (n === 0) return 0;
    if (n < FLUSH_AT_ONCE_BELOW || n >= FULL_BATCH || Date.now() - this.lastFlushAt >= maxWaitMs) return this.flush();
    return 0;
  }

  /** Send what is still needed in one attestMany. Network failures keep the queue for the next tick. */
  async flush(): Promise<number> {
    if (this.flushing || this.queue.size === 0) return 0;
    this.flushing = true;
    this.lastFlushAt = Date.now();
    try {
      const entries = [...this.queue.entries()];
      const states = await this.readStates(entries.map(([, a]) => a));
      const toSend: [string, QueuedAttestation][] = [];
      entries.forEach(([k, a], i) => {
        if (attestationStillNeeded(a, states[i], this.nodeId)) toSend.push([k, a]);
        else {
          this.logger.debug({ replica: k, status: a.status, chain: states[i].status }, "attestation already reflected or stale: dropped");
          this.forget(k, a);
        }
      });
      if (toSend.length === 0) return 0;
      const replicas = await this.replicaCounts(toSend.map(([, a]) => a.deploymentId));
      const gasItem = ([, a]: [string, QueuedAttestation]): GasItem => ({ kind: "attest", replicas: replicas.get(a.deploymentId.toLowerCase()) ?? 1 });
      let sent = 0;
      for (const chunk of splitUnderGasCap(toSend, gasItem)) sent += await this.send(chunk, gasItem);
      return sent;
    } finally {
      this.flushing = false;
    }
  }

  /** Replica counts of these deployments: from their intents when known, else one getDeployment each. */
  private async replicaCounts(ids: Hex[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    const unknown: Hex[] = [];
    for (const id of new Set(ids.map((i) => i.toLowerCase() as Hex))) {
      const n = this.replicasOf(id);
      if (n === undefined) unknown.push(id);
      else counts.set(id, n);
    }
    const read = await Promise.all(
      unknown.map((id) =>
        this.publicClient
          .readContract({ address: this.addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "getDeployment", args: [id] })
          .catch(() => undefined),
      ),
    );
    // An unreadable count is sized for the largest deployment (the limit is only an upper bound).
    for (const [i, id] of unknown.entries()) counts.set(id, read[i] ? Number((read[i] as { replicas: number }).replicas) : 255);
    return counts;
  }

  /** Send `batch`; a batch the contract refuses is split (bisectRefused.ts) down to the refused attestations, which are dropped. */
  private async send(batch: [string, QueuedAttestation][], gasItem: (entry: [string, QueuedAttestation]) => GasItem): Promise<number> {
    try {
      const sent = await bisectRefused(batch, (part) => this.sendOnce(part, gasItem), {
        isRefused: (err) => err instanceof ChainRefusedError,
        // A refusal of a single attestation will not get better by retrying: drop it, loudly.
        onRefused: ([k, a], err) => {
          this.logger.error({ replica: k, err: (err as ChainRefusedError).shortMessage }, "attestation rejected by the contract: dropped");
          this.forget(k, a);
        },
      });
      return sent.reduce((n, x) => n + x, 0);
    } catch (err) {
      this.logger.warn({ err: (err as { shortMessage?: string }).shortMessage ?? String(err) }, "attestation send failed; will retry");
      return 0;
    }
  }

  private async sendOnce(batch: [string, QueuedAttestation][], gasItem: (entry: [string, QueuedAttestation]) => GasItem): Promise<number> {
    const timestamp = BigInt(Math.floor(Date.now() / 1000));
    const atts = batch.map(([, a]) => toAttestation(a, this.nodeId, timestamp));
    this.signer ??= createAttestationSigner(this.account, this.domain);
    const signer = this.signer;
    const sigs = await Promise.all(atts.map((a) => signer.sign(a)));
    const hash = await this.sendAttestMany(atts, sigs, batchGasLimit(batch.map(gasItem)));
    for (const [k, a] of batch) {
      this.forget(k, a);
      this.onSent({ att: a, transactionHash: hash });
    }
    this.logger.info({ count: atts.length, tx: hash, statuses: batch.map(([, a]) => a.status) }, "attestations on-chain");
    return atts.length;
  }

  /** Send from the agent account with the explicit limit, await the receipt (a revert is decoded by replaying it). */
  private async sendAttestMany(atts: Attestation[], sigs: Hex[], gas: bigint): Promise<Hex> {
    const clients = { publicClient: this.publicClient, walletClient: this.walletClient };
    const call = { address: this.addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "attestMany", args: [atts, sigs] } as const;
    return (await sendSizedContractTx(clients, call, `attesting ${atts.length} replica(s)`, this.logger, { gas })).hash;
  }
}
