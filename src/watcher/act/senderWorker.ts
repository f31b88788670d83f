/**
 * One orchestrator account sending transactions strictly one after another (one sender =
 * sequential nonces; Hardhat's automine cannot queue future nonces). For each batch: simulate it
 * when it is a single strict call (eth_call; a refused action backs off; batch calls skip what
 * cannot apply, so they are not simulated), take the next nonce, sign locally, persist the signed
 * transaction in the outbox, broadcast, wait for the receipt, record the outcome.
 */
import { keccak256, type Address, type PrivateKeyAccount, type PublicClient } from "viem";
import { bisectRefused } from "../../chain/bisectRefused";
import { ChainUnavailableError, toChainError, type ChainError } from "../../chain/chainError";
import { batchGasLimit, type GasItem } from "../../chain/gasCosts";
import type { WatcherAction } from "../decide/reconcile";
import { awaitReceipt } from "./awaitReceipt";
import { encodeActions } from "./encodeActions";
import type { Outbox, OutboxTx } from "./outbox";
import type { Logger } from "../../logger";

export interface SenderOptions {
  deploymentRegistry: Address;
  chainId: number;
  pollIntervalMs: number;
  /** How long to wait for a receipt before asking the chain what became of the transaction. */
  receiptTimeoutMs?: number;
  /** Back-off before a failed action may be issued again. */
  failureBackoffMs?: number;
  logger: Pick<Logger, "info" | "warn">;
}

/**
 * What one action costs at most (src/chain/gasCosts.ts holds the measured bounds).
 * @example actionGasItem(terminateAction) // { kind: "terminate", replicas: 1 }
 */
export function actionGasItem(a: WatcherAction): GasItem {
  if (a.type === "schedule") return { kind: "placement" };
  if (a.type === "reportLost") return { kind: "reportLost" };
  return { kind: "terminate", replicas: a.intent.replicas };
}

/**
 * Explicit gas limit for a batch, from the measured per-item bounds (no eth_estimateGas: it would
 * re-execute the batch many times over; only gas used is paid; the eth_call simulation runs with
 * the same limit, so a too-small bound shows up before sending). The dispatcher keeps batches
 * under the per-transaction cap.
 * @example gasLimitFor([schedule, schedule]) // 260000n
 */
export function gasLimitFor(actions: readonly WatcherAction[]): bigint {
  return batchGasLimit(actions.map(actionGasItem));
}

/**
 * A sequential sender for one account. `busy` is true while a batch is in progress.
 * @example await new SenderWorker(client, account, outbox, opts).send(actions)
 */
export class SenderWorker {
  busy = false;
  private nonce: number | undefined;
  private nonceStale = false;

  constructor(
    private readonly client: PublicClient,
    readonly account: PrivateKeyAccount,
    private readonly outbox: Outbox,
    private readonly opts: SenderOptions,
  ) {}

  get address(): Address {
    return this.account.address;
  }

  /** Re-read the nonce from the chain before the next transaction (after a reorg dropped some). */
  invalidateNonce(): void {
    this.nonceStale = true;
  }

  /** Start from the chain's nonce (after resumeOutbox resolved what was in flight). */
  async syncNonce(): Promise<void> {
    const chain = await this.client.getTransactionCount({ address: this.address, blockTag: "pending" });
    this.nonce = chain;
    if (this.outbox.storedNonce(this.address) !== chain) await this.outbox.setNonce(this.address, chain);
  }

  /** Send a batch (all schedules, or one other action). Never throws for a revert; records it. */
  async send(actions: WatcherAction[]): Promise<void> {
    this.busy = true;
    try {
      await this.sendBatch(actions);
    } finally {
      this.busy = false;
    }
  }

  /** Send `actions`; a batch the simulation refuses is split (bisectRefused.ts) down to the refused action, which backs off. */
  private async sendBatch(actions: WatcherAction[]): Promise<void> {
    await bisectRefused(actions, (part) => this.sendSimulated(part), {
      isRefused: (err) => err instanceof RefusedBySimulation,
      onRefused: (action, err) => {
        const reason = (err as RefusedBySimulation).chainError.shortMessage;
        this.outbox.markFailed(action, Date.now() + (this.opts.failureBackoffMs ?? 2000), reason);
        this.opts.logger.warn({ key: action.key, error: reason }, "action rejected by simulation; backing off");
      },
    });
  }

  private async sendSimulated(actions: WatcherAction[]): Promise<void> {
    const data = encodeActions(actions);
    const gas = gasLimitFor(actions);
    let fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };
    try {
      // A batch call (scheduleMany, terminateMany) skips an entry that cannot apply instead of
      // reverting, so simulating it would only make the node run it twice; a single strict call
      // (terminate, reportLost) is simulated with one eth_call, so a refusal costs no transaction.
      const strict = actions.length === 1 && actions[0]!.type !== "schedule";
      [, fees] = await Promise.all([
        strict ? this.client.call({ account: this.address, to: this.opts.deploymentRegistry, data, gas }) : undefined,
        this.client.estimateFeesPerGas() as Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }>,
      ]);
    } catch (err) {
      const chainErr = toChainError(err, `simulating ${actions[0]!.type} x${actions.length}`);
      if (chainErr instanceof ChainUnavailableError && !chainErr.errorName) throw chainErr; // network trouble: let the caller back off
      throw new RefusedBySimulation(chainErr); // nothing was sent: the batch may be split and tried again
    }
    if (this.nonce === undefined || this.nonceStale) {
      this.nonceStale = false;
      await this.syncNonce();
    }
    const nonce = this.nonce!;
    const raw = await this.account.signTransaction({
      chainId: this.opts.chainId,
      type: "eip1559",
      to: this.opts.deploymentRegistry,
      data,
      nonce,
      gas,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
    const tx: OutboxTx = { sender: this.address, nonce, hash: keccak256(raw), opKeys: actions.map((a) => a.key), sentAt: Date.now() };
    await this.outbox.recordSent(tx, actions); // persisted before broadcast: a crash from here on is resolved by asking the chain
    this.nonce = nonce + 1;
    try {
      await this.client.sendRawTransaction({ serializedTransaction: raw });
    } catch (err) {
      this.opts.logger.warn({ hash: tx.hash, nonce, error: toChainError(err, "broadcasting").shortMessage }, "broadcast failed; checking the chain");
    }
    await this.settle(tx);
  }

  /** Wait for the receipt; if none comes, ask the chain and drop or keep the transaction accordingly. */
  async settle(tx: OutboxTx): Promise<void> {
    const wait = await awaitReceipt(this.client, tx.hash, { timeoutMs: this.opts.receiptTimeoutMs ?? 30_000, pollMs: this.opts.pollIntervalMs });
    if (wait.state === "pending") {
      this.opts.logger.warn({ hash: tx.hash }, "no receipt in time; leaving the transaction to resume");
    } else if (wait.state === "unknown") {
      await this.outbox.dropTx(tx);
      await this.syncNonce();
    } else {
      const { receipt } = wait;
      const ok = receipt.status === "success";
      await this.outbox.recordMined(tx, receipt.blockNumber, ok, Date.now() + (this.opts.failureBackoffMs ?? 2000), ok ? undefined : "reverted");
      if (!ok) this.opts.logger.warn({ hash: tx.hash, keys: tx.opKeys.length }, "transaction reverted");
      else
        this.opts.logger.info(
          { hash: tx.hash, block: receipt.blockNumber.toString(), actions: tx.opKeys.length, first: tx.opKeys[0], gasUsed: receipt.gasUsed.toString() },
          "transaction mined",
        );
    }
  }
}

/** The simulation refused a batch before anything was signed or sent (only these are split and retried). */
class RefusedBySimulation extends Error {
  constructor(readonly chainError: ChainError) {
    super(chainError.shortMessage);
  }
}
