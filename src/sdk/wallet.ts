/**
 * Signing through a browser wallet (any EIP-1193 provider: MetaMask, Rabby, a test provider):
 * ask for the account, check or switch the chain, and sign typed data with eth_signTypedData_v4.
 * Errors a person can act on: a refused request, a wrong chain.
 */
import { getAddress, type Address, type Hex, type TypedDataDomain } from "viem";
import { HyphaError } from "../errors";
import { typedDataForWallet } from "./wire";

/** What EIP-1193 requires of a provider. */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
  on?(event: string, listener: (...args: any[]) => void): void;
  removeListener?(event: string, listener: (...args: any[]) => void): void;
}

/** The wallet refused (the person rejected, code 4001) or failed a request. */
export class WalletError extends HyphaError {
  override name = "WalletError";
  constructor(
    message: string,
    readonly code?: number,
    cause?: unknown,
  ) {
    super(message, { cause });
  }
  /** True when the person said no (EIP-1193 code 4001). */
  get rejected(): boolean {
    return this.code === 4001;
  }
}

async function ask<T>(provider: Eip1193Provider, method: string, params: unknown[] | undefined, what: string): Promise<T> {
  try {
    return (await provider.request(params ? { method, params } : { method })) as T;
  } catch (err) {
    const code = (err as { code?: number }).code;
    const reason = code === 4001 ? "rejected in the wallet" : ((err as Error).message ?? String(err));
    throw new WalletError(`${what}: ${reason}`, code, err);
  }
}

/**
 * Asks the wallet for its accounts (a connect prompt) and returns the first.
 * @example const account = await connectWallet(window.ethereum)
 */
export async function connectWallet(provider: Eip1193Provider): Promise<Address> {
  const accounts = await ask<string[]>(provider, "eth_requestAccounts", undefined, "connecting the wallet");
  if (!accounts?.length) throw new WalletError("connecting the wallet: it gave no account");
  return getAddress(accounts[0]);
}

/** @example await walletChainId(window.ethereum) // 31337 */
export async function walletChainId(provider: Eip1193Provider): Promise<number> {
  return Number(await ask<string>(provider, "eth_chainId", undefined, "reading the wallet's chain"));
}

/**
 * Asks the wallet to switch to `chainId` (wallet_switchEthereumChain); throws WalletError when it does not.
 * @example await switchChain(window.ethereum, 31337)
 */
export async function switchChain(provider: Eip1193Provider, chainId: number): Promise<void> {
  await ask(provider, "wallet_switchEthereumChain", [{ chainId: `0x${chainId.toString(16)}` }], `switching the wallet to chain ${chainId}`);
}

/**
 * Signs typed data with eth_signTypedData_v4 after checking that the wallet is on the domain's
 * chain (a wallet signs for any chain, and the contract would refuse the signature).
 * @example const signature = await signTypedDataWithWallet(window.ethereum, account, prepared.typedData)
 */
export async function signTypedDataWithWallet(
  provider: Eip1193Provider,
  account: Address,
  td: { domain: TypedDataDomain; types: Record<string, readonly { name: string; type: string }[]>; primaryType: string; message: object },
): Promise<Hex> {
  const onChain = await walletChainId(provider);
  if (td.domain.chainId !== undefined && Number(td.domain.chainId) !== onChain) {
    throw new WalletError(`the wallet is on chain ${onChain}, this Hypha is on chain ${td.domain.chainId}: switch the wallet's network first`);
  }
  return ask<Hex>(provider, "eth_signTypedData_v4", [account, JSON.stringify(typedDataForWallet(td))], `signing ${td.primaryType}`);
}
