/**
 * Sends one contract transaction the careful way: simulate first (so a call that would revert
 * fails with a decoded reason and no transaction is sent), then send, wait for the receipt and
 * check it succeeded.
 */
import type {
  Abi,
  Address,
  ContractFunctionArgs,
  ContractFunctionName,
  ContractFunctionReturnType,
  Hex,
  PublicClient,
  TransactionReceipt,
  WalletClient,
} from "viem";
import { ChainRefusedError, toChainError } from "./chainError";
import { InputError } from "../errors";

export interface TxClients {
  publicClient: PublicClient;
  walletClient: WalletClient;
}

/** The state mutabilities a transaction may call. */
export type WriteMutability = "nonpayable" | "payable";

/**
 * One contract function call, typed by the ABI (an `as const` ABI from abi.ts checks the function
 * name and the arguments, as viem's writeContract does); with the default parameters, any call.
 */
export interface ContractCall<
  abi extends Abi = Abi,
  functionName extends ContractFunctionName<abi, WriteMutability> = ContractFunctionName<abi, WriteMutability>,
> {
  address: Address;
  abi: abi;
  functionName: functionName;
  args?: ContractFunctionArgs<abi, WriteMutability, functionName>;
}

/** What `call` returns, by the ABI. */
export type ContractCallResult<abi extends Abi, functionName extends ContractFunctionName<abi, WriteMutability>> = ContractFunctionReturnType<
  abi,
  WriteMutability,
  functionName
>;

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
export async function sendContractTx<const abi extends Abi, functionName extends ContractFunctionName<abi, WriteMutability>>(
  clients: TxClients,
  call: ContractCall<abi, functionName>,
  what: string,
): Promise<SentTx<ContractCallResult<abi, functionName>>> {
  const account = clients.walletClient.account;
  if (!account) throw new InputError(what, "no signing account given");
  const wide: ContractCall = call;
  let request: Awaited<ReturnType<PublicClient["simulateContract"]>>["request"];
  let result: unknown;
  try {
    ({ request, result } = await clients.publicClient.simulateContract({ ...wide, account }));
  } catch (err) {
    throw toChainError(err, what);
  }
  let hash: Hex;
  try {
    hash = await clients.walletClient.writeContract({ ...request, account, chain: null });
  } catch (err) {
    throw toChainError(err, what);
  }
  let receipt: TransactionReceipt;
  try {
    receipt = await clients.publicClient.waitForTransactionReceipt({ hash, timeout: 120_000 });
  } catch (err) {
    throw toChainError(err, `${what} (waiting for ${hash})`);
  }
  if (receipt.status !== "success") throw new ChainRefusedError(`${what}: transaction ${hash} reverted`);
  return { hash, receipt, result: result as ContractCallResult<abi, functionName> };
}

/** The token pull a call needs: `owner` must have approved `spender` for `amount`. */
export interface TokenPull {
  token: Address;
  owner: Address;
  spender: Address;
  amount: bigint;
  /** Names the amount in errors ("budget", "--stake"). */
  field: string;
}

const erc20Abi = [
  { type: "function", name: "balanceOf", stateMutability: "view", inputs: [{ name: "a", type: "address" }], outputs: [{ type: "uint256" }] },
  {
    type: "function",
    name: "approve",
    stateMutability: "nonpayable",
    inputs: [
      { name: "s", type: "address" },
      { name: "v", type: "uint256" },
    ],
    outputs: [{ type: "bool" }],
  },
] as const;

/**
 * Like sendContractTx for a call that pulls tokens with transferFrom. It simulates first: when the
 * only problem is a missing allowance (every other check in the contract came first), it checks
 * the balance, approves exactly `pull.amount`, then sends. Any other revert sends nothing, so bad
 * input never leaves a stray approval behind.
 * @example await sendContractTxWithAllowance(clients, submitCall, "submitting", { token, owner, spender: registry, amount: budget, field: "budget" })
 */
export async function sendContractTxWithAllowance<const abi extends Abi, functionName extends ContractFunctionName<abi, WriteMutability>>(
  clients: TxClients,
  call: ContractCall<abi, functionName>,
  what: string,
  pull: TokenPull,
): Promise<SentTx<ContractCallResult<abi, functionName>> & { approveTx?: Hex }> {
  const account = clients.walletClient.account;
  if (!account) throw new InputError(what, "no signing account given");
  const wide: ContractCall = call;
  try {
    await clients.publicClient.simulateContract({ ...wide, account });
    return await sendContractTx(clients, call, what);
  } catch (err) {
    const e = toChainError(err, what);
    if (e.errorName !== "ERC20InsufficientAllowance") throw e;
  }
  let balance: bigint;
  try {
    balance = await clients.publicClient.readContract({ address: pull.token, abi: erc20Abi, functionName: "balanceOf", args: [pull.owner] });
  } catch (err) {
    throw toChainError(err, `${what}: reading the token balance`);
  }
  if (balance < pull.amount) {
    throw new ChainRefusedError(`${pull.field}: ${pull.owner} holds ${balance} token wei, needs ${pull.amount}`);
  }
  if (account.address.toLowerCase() !== pull.owner.toLowerCase()) {
    throw new ChainRefusedError(
      `${pull.field}: ${pull.owner} has not approved ${pull.amount} token wei to ${pull.spender}; the sender ${account.address} cannot approve for it`,
    );
  }
  const approve = await sendContractTx(
    clients,
    { address: pull.token, abi: erc20Abi, functionName: "approve", args: [pull.spender, pull.amount] },
    `${what}: approving ${pull.field}`,
  );
  const sent = await sendContractTx(clients, call, what);
  return { ...sent, approveTx: approve.hash };
}
