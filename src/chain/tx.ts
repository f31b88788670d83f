/**
 * Sends one contract transaction the careful way: simulate first (so a call that would revert
 * fails with a decoded reason and no transaction is sent), then send, wait for the receipt and
 * check it succeeded.
 */
import type { Abi, Account, Address, Hex, PublicClient, TransactionReceipt, WalletClient } from "viem";
import { ChainError, toChainError } from "./chainError";

export interface TxClients {
  publicClient: PublicClient;
  walletClient: WalletClient;
}

export interface ContractCall {
  address: Address;
  abi: Abi | readonly unknown[];
  functionName: string;
  args?: readonly unknown[];
}

export interface SentTx<R = unknown> {
  hash: Hex;
  receipt: TransactionReceipt;
  /** What the simulated call returned (e.g. a new node id). */
  result: R;
}

/**
 * Simulates, sends and confirms a contract call from the wallet client's account.
 * `what` names the action in errors ("registering the node").
 * @example const { hash } = await sendContractTx(clients, { address, abi: nodeRegistryAbi, functionName: "addStake", args: [1, 10n] }, "adding stake");
 */
export async function sendContractTx<R = unknown>(clients: TxClients, call: ContractCall, what: string): Promise<SentTx<R>> {
  const account = clients.walletClient.account as Account | undefined;
  if (!account) throw new ChainError(`${what}: no signing account given`, { exitCode: 1 });
  let request: unknown;
  let result: unknown;
  try {
    const sim = await clients.publicClient.simulateContract({ ...call, account } as never);
    request = sim.request;
    result = sim.result;
  } catch (err) {
    throw toChainError(err, what);
  }
  let hash: Hex;
  try {
    hash = await clients.walletClient.writeContract({ ...(request as Record<string, unknown>), account, chain: null } as never);
  } catch (err) {
    throw toChainError(err, what);
  }
  let receipt: TransactionReceipt;
  try {
    receipt = await clients.publicClient.waitForTransactionReceipt({ hash, timeout: 120_000 });
  } catch (err) {
    throw toChainError(err, `${what} (waiting for ${hash})`);
  }
  if (receipt.status !== "success") throw new ChainError(`${what}: transaction ${hash} reverted`, { exitCode: 1 });
  return { hash, receipt, result: result as R };
}
