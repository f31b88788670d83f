/**
 * Sends a contract transaction whose gas limit is sized for the state it will meet: either an
 * explicit limit from measured per-item bounds (gasCosts.ts: the batch calls; no simulation and no
 * estimate, so the node executes the transaction once), or estimated against the pending block
 * (which holds what is queued ahead of it) plus a margin, because under concurrent senders the
 * state at mining differs from the state at estimation (another agent's attestation mined first
 * turns ours into the one that finalizes a job's quorum and pays out). Either way the limit is
 * given explicitly, so nothing estimates again at send time. A revert is counted
 * (`hypha_tx_reverts_total{function,cause}` in prom-client's default registry) and logged with its
 * decoded cause: the contract's custom error, or "ran out of gas: used X of limit Y" (a retryable
 * ChainUnavailableError: more gas will do), never an RPC's "Missing or invalid parameters".
 */
import { Counter, register } from "prom-client";
import {
  encodeFunctionData,
  keccak256,
  type Abi,
  type Account,
  type ContractFunctionName,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type TransactionSerializable,
} from "viem";
import { ChainRefusedError, ChainUnavailableError, type ChainError, toChainError } from "./chainError";
import { InputError } from "../errors";
import type { ContractCall, ContractCallResult, SentTx, TxClients, WriteMutability } from "./tx";
import type { Logger } from "../logger";

/** How much above the pending-block estimate the limit goes: `estimate * (100 + percent) / 100 + extra`. */
export interface GasMargin {
  percent: number;
  extra: bigint;
}

export const DEFAULT_GAS_MARGIN: GasMargin = { percent: 50, extra: 150_000n };

/** A limit known in advance (batchGasLimit over the call's items): sent as is, nothing simulated or estimated. */
export interface ExplicitGas {
  gas: bigint;
}

/** Reverts of transactions sent here, by function and cause (out-of-gas, contract, unknown). */
export const txReverts: Counter<"function" | "cause"> =
  (register.getSingleMetric("hypha_tx_reverts_total") as Counter<"function" | "cause"> | undefined) ??
  new Counter({ name: "hypha_tx_reverts_total", help: "Transactions that reverted on-chain, by function and cause", labelNames: ["function", "cause"] });

/**
 * The limit for an estimate (pure).
 * @example gasLimitWithMargin(100_000n, { percent: 50, extra: 150_000n }, 30_000_000n) // 300000n
 */
export function gasLimitWithMargin(estimate: bigint, margin: GasMargin, blockGasLimit: bigint): bigint {
  const limit = (estimate * BigInt(100 + margin.percent)) / 100n + margin.extra;
  return limit > blockGasLimit ? blockGasLimit : limit;
}

/**
 * Why a mined transaction reverted, as one line (pure over the receipt and a replay's error).
 * @example revertCause({ gasUsed: 300000n }, 300000n, undefined) // { outOfGas: true, line: "ran out of gas: used 300000 of limit 300000" }
 */
export function revertCause(
  receipt: Pick<TransactionReceipt, "gasUsed">,
  gasLimit: bigint,
  replayError: ChainError | undefined,
): { outOfGas: boolean; line: string } {
  // Out of gas consumes the whole limit (a revert returns what is left); 63/64 of it at least.
  if (receipt.gasUsed * 64n >= gasLimit * 63n) return { outOfGas: true, line: `ran out of gas: used ${receipt.gasUsed} of limit ${gasLimit}` };
  if (replayError) return { outOfGas: false, line: replayError.shortMessage };
  return {
    outOfGas: false,
    line: `reverted (used ${receipt.gasUsed} of limit ${gasLimit}; the replay at its block did not revert, so the state it met is gone)`,
  };
}

/**
 * With a margin: simulate (a refused call sends nothing), estimate against the pending block, send
 * with the margin. With an explicit limit: send at once (a batch call skips the items that cannot
 * apply, so the outcome is known; a revert is still decoded by replaying it). Then wait for the
 * receipt; a revert throws a ChainError naming its cause.
 * @example const { hash } = await sendSizedContractTx(clients, call, "attesting 3 replica(s)", logger, { gas: batchGasLimit(items) })
 */
export async function sendSizedContractTx<const abi extends Abi, functionName extends ContractFunctionName<abi, WriteMutability>>(
  clients: TxClients,
  call: ContractCall<abi, functionName>,
  what: string,
  logger?: Pick<Logger, "error">,
  sizing: GasMargin | ExplicitGas = DEFAULT_GAS_MARGIN,
): Promise<SentTx<ContractCallResult<abi, functionName>>> {
  const { publicClient, walletClient } = clients;
  const account = walletClient.account;
  if (!account) throw new InputError(what, "no signing account given");
  const wide: ContractCall = call;
  let result: unknown;
  let gas: bigint;
  if ("gas" in sizing) gas = sizing.gas;
  else ({ result, gas } = await simulateAndEstimate(publicClient, wide, account, sizing, what));
  const data = encodeFunctionData({ abi: wide.abi, functionName: wide.functionName, args: wide.args ?? [] });
  let hash: Hex | undefined;
  try {
    const signed = await signTx(clients, account, { to: call.address, data, gas });
    hash = keccak256(signed);
    await publicClient.sendRawTransaction({ serializedTransaction: signed });
  } catch (err) {
    // Some nodes (Hardhat's automine) mine at once and answer a failed execution with an RPC
    // error: if the transaction is in a block, its receipt says what happened.
    const mined = hash ? await publicClient.getTransactionReceipt({ hash }).catch(() => undefined) : undefined;
    if (!mined) throw toChainError(err, what);
  }
  let receipt: TransactionReceipt;
  try {
    receipt = await publicClient.waitForTransactionReceipt({ hash: hash!, timeout: 120_000 });
  } catch (err) {
    throw toChainError(err, `${what} (waiting for ${hash})`);
  }
  if (receipt.status === "success") return { hash: hash!, receipt, result: result as ContractCallResult<abi, functionName> };
  let replayError: ChainError | undefined;
  try {
    await publicClient.call({ account, to: call.address, data, gas, blockNumber: receipt.blockNumber - 1n });
  } catch (err) {
    replayError = toChainError(err);
  }
  const cause = revertCause(receipt, gas, replayError);
  report(call.functionName, cause.outOfGas ? "out-of-gas" : replayError ? "contract" : "unknown", `${what}: transaction ${hash} ${cause.line}`, logger, {
    tx: hash,
    gasUsed: receipt.gasUsed.toString(),
    gasLimit: gas.toString(),
  });
  // Out of gas says nothing about the input (the limit was too low): try again; else the contract refused.
  throw new (cause.outOfGas ? ChainUnavailableError : ChainRefusedError)(`${what}: transaction ${hash} ${cause.line}`, {
    errorName: replayError?.errorName,
    errorArgs: replayError?.errorArgs,
  });
}

/**
 * Prepares (nonce, fees) and signs one transaction with its gas limit given. A local account signs
 * here: viem's walletClient.signTransaction would ask the node for the chain id again on every send.
 */
async function signTx(clients: TxClients, account: Account, tx: { to: Hex; data: Hex; gas: bigint }): Promise<Hex> {
  const { publicClient, walletClient } = clients;
  const chainId = await chainIdOf(publicClient);
  const request = await walletClient.prepareTransactionRequest({ account, ...tx, chainId, chain: null });
  let signed: Hex;
  if (account.signTransaction) {
    const base = { chainId, ...tx, nonce: request.nonce };
    const serializable: TransactionSerializable =
      request.type === "legacy"
        ? { ...base, type: "legacy", gasPrice: request.gasPrice }
        : { ...base, type: "eip1559", maxFeePerGas: request.maxFeePerGas, maxPriorityFeePerGas: request.maxPriorityFeePerGas };
    signed = await account.signTransaction(serializable);
  } else signed = await walletClient.signTransaction({ ...request, account, chain: null });
  return signed;
}

/** The chain id per client, asked once (it does not change under a running client). */
const chainIds = new WeakMap<PublicClient, number>();
async function chainIdOf(publicClient: PublicClient): Promise<number> {
  let id = chainIds.get(publicClient);
  if (id === undefined) {
    id = await publicClient.getChainId();
    chainIds.set(publicClient, id);
  }
  return id;
}

/** The simulated result and the pending-block estimate plus the margin, capped at the block's limit. */
async function simulateAndEstimate(
  publicClient: PublicClient,
  call: ContractCall,
  account: Account,
  margin: GasMargin,
  what: string,
): Promise<{ result: unknown; gas: bigint }> {
  try {
    const { result } = await publicClient.simulateContract({ ...call, account });
    const [estimate, block] = await Promise.all([
      publicClient.estimateContractGas({ ...call, account, blockTag: "pending" }),
      publicClient.getBlock({ blockTag: "pending" }).catch(() => publicClient.getBlock()),
    ]);
    return { result, gas: gasLimitWithMargin(estimate, margin, block.gasLimit) };
  } catch (err) {
    throw toChainError(err, what);
  }
}

function report(functionName: string, cause: string, line: string, logger: Pick<Logger, "error"> | undefined, extra: object): void {
  txReverts.inc({ function: functionName, cause });
  logger?.error({ function: functionName, cause, ...extra }, line);
}
