/**
 * The browser wallet as the console uses it: an injected EIP-1193 provider (window.ethereum),
 * the connected account, its chain and HYPHA balance, kept current on accountsChanged and
 * chainChanged; contract calls sent with eth_sendTransaction and awaited through the same wallet.
 */
import { useEffect, useState } from "preact/hooks";
import { connectWallet, switchChain, walletChainId, WalletError, type Eip1193Provider } from "hypha/sdk";
import { createPublicClient, custom, encodeFunctionData, erc20Abi, getAddress, type Abi, type Address, type Hex } from "viem";
import type { ChainInfo } from "./chainInfo";

declare global {
  interface Window {
    ethereum?: Eip1193Provider;
  }
}

export interface WalletState {
  provider?: Eip1193Provider;
  account?: Address;
  chainId?: number;
  balance?: bigint;
  /** Tokens deposited in the DeploymentRegistry (refunds land here; budgets are taken from it first). */
  deposit?: bigint;
  error?: string;
}

export function useWallet(info: ChainInfo | undefined) {
  const provider = typeof window !== "undefined" ? window.ethereum : undefined;
  const [state, setState] = useState<WalletState>({ provider });

  const refresh = async (account?: Address) => {
    if (!provider) return;
    try {
      const chainId = await walletChainId(provider);
      const acct = account ?? state.account;
      let balance: bigint | undefined;
      let deposit: bigint | undefined;
      if (acct && info && chainId === info.chainId) {
        const client = readClient(provider);
        [balance, deposit] = await Promise.all([
          client.readContract({ address: info.token, abi: erc20Abi, functionName: "balanceOf", args: [acct] }),
          client.readContract({ address: info.registry, abi: erc20Abi, functionName: "balanceOf", args: [acct] }),
        ]);
      }
      setState((s) => ({ ...s, account: acct, chainId, balance, deposit, error: undefined }));
    } catch (err) {
      setState((s) => ({ ...s, error: (err as Error).message }));
    }
  };

  useEffect(() => {
    if (!provider?.on) return;
    const onAccounts = (accounts: string[]) => (accounts.length ? refresh(getAddress(accounts[0])) : setState({ provider }));
    const onChain = () => refresh();
    provider.on("accountsChanged", onAccounts);
    provider.on("chainChanged", onChain);
    return () => {
      provider.removeListener?.("accountsChanged", onAccounts);
      provider.removeListener?.("chainChanged", onChain);
    };
  }, [provider, info, state.account]);

  useEffect(() => {
    if (state.account) refresh();
  }, [info]);

  // A wallet that already trusts this site answers eth_accounts without a prompt: reconnect on
  // load, once the chain info is known (refresh reads the balance with it).
  useEffect(() => {
    if (!info || state.account) return;
    provider
      ?.request({ method: "eth_accounts" })
      .then((a) => {
        if ((a as string[])?.length) void refresh(getAddress((a as string[])[0]));
      })
      .catch(() => undefined);
  }, [provider, info]);

  return {
    ...state,
    connect: async () => {
      if (!provider) return setState({ error: "No browser wallet found: install MetaMask or another EIP-1193 wallet." });
      try {
        const account = await connectWallet(provider);
        await refresh(account);
      } catch (err) {
        setState((s) => ({ ...s, error: (err as WalletError).message }));
      }
    },
    switchTo: async (chainId: number) => {
      if (!provider) return;
      try {
        await switchChain(provider, chainId);
        await refresh();
      } catch (err) {
        setState((s) => ({ ...s, error: (err as WalletError).message }));
      }
    },
    refresh: () => refresh(),
  };
}

export type Wallet = ReturnType<typeof useWallet>;

/** Reads through the wallet's own RPC, as a dapp does. */
export function readClient(provider: Eip1193Provider) {
  return createPublicClient({ transport: custom(provider as never), pollingInterval: 250 });
}

/**
 * Sends a contract call from the wallet (eth_sendTransaction) and waits for its receipt.
 * @example await sendFromWallet(wallet, registry, deploymentRegistryAbi, "terminate", [intent])
 */
export async function sendFromWallet(provider: Eip1193Provider, from: Address, to: Address, abi: Abi, functionName: string, args: unknown[]): Promise<Hex> {
  const data = encodeFunctionData({ abi, functionName, args } as never);
  let hash: Hex;
  try {
    hash = (await provider.request({ method: "eth_sendTransaction", params: [{ from, to, data }] })) as Hex;
  } catch (err) {
    const code = (err as { code?: number }).code;
    throw new WalletError(code === 4001 ? `${functionName}: rejected in the wallet` : `${functionName}: ${(err as Error).message}`, code, err);
  }
  const receipt = await readClient(provider).waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${functionName}: transaction ${hash} reverted`);
  return hash;
}
