/**
 * The console's shell: the wallet bar (account, chain, HYPHA balance, a switch when the chain is
 * wrong), the navigation, and a hash router (#/, #/deploy, #/d/<id>, #/nodes), so every page,
 * a deployment's included, has its own URL.
 */
import { useEffect, useState } from "preact/hooks";
import { formatHypha } from "hypha/sdk";
import { loadChainInfo, type ChainInfo } from "./chainInfo";
import { short } from "./format";
import { useWallet, type Wallet } from "./wallet";
import { DeployPage } from "./pages/deployPage";
import { DeploymentPage } from "./pages/deploymentPage";
import { DeploymentsPage } from "./pages/deploymentsPage";
import { NodesPage } from "./pages/nodesPage";

function useHash(): string {
  const [hash, setHash] = useState(location.hash || "#/");
  useEffect(() => {
    const on = () => setHash(location.hash || "#/");
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function WalletBar({ wallet, info }: { wallet: Wallet; info?: ChainInfo }) {
  const wrongChain = wallet.account && info && wallet.chainId !== info.chainId;
  return (
    <div class="wallet">
      {!wallet.account ? (
        <button type="button" id="connect" onClick={wallet.connect}>
          Connect wallet
        </button>
      ) : (
        <span class="who">
          <span id="account" title={wallet.account}>
            {short(wallet.account, 4)}
          </span>
          <span id="chain" class={wrongChain ? "bad" : "ok"}>
            chain {wallet.chainId}
          </span>
          {wallet.balance !== undefined && (
            <span id="balance" title="in your wallet">
              {formatHypha(wallet.balance, 4)}
            </span>
          )}
          {!!wallet.deposit && (
            <span id="deposit" title="deposited in the DeploymentRegistry (refunds land here)">
              + {formatHypha(wallet.deposit, 4)} deposited
            </span>
          )}
        </span>
      )}
      {wrongChain && (
        <div class="banner bad" id="wrong-chain" role="alert">
          Your wallet is on chain {wallet.chainId}; this Hypha runs on chain {info!.chainId}. Switch networks to deploy or manage deployments.
          <button type="button" onClick={() => wallet.switchTo(info!.chainId)}>
            Switch to chain {info!.chainId}
          </button>
        </div>
      )}
      {wallet.error && (
        <div class="banner bad" id="wallet-error" role="alert">
          {wallet.error}
        </div>
      )}
    </div>
  );
}

export function App() {
  const hash = useHash();
  const [info, setInfo] = useState<ChainInfo>();
  const [infoError, setInfoError] = useState<string>();
  useEffect(() => {
    loadChainInfo().then(setInfo, (e) => setInfoError(String(e.message ?? e)));
  }, []);
  const wallet = useWallet(info);
  const route = hash.slice(1);
  const page = route.startsWith("/d/") ? (
    <DeploymentPage id={route.slice(3) as `0x${string}`} wallet={wallet} info={info} />
  ) : route === "/deploy" ? (
    <DeployPage wallet={wallet} info={info} />
  ) : route === "/nodes" ? (
    <NodesPage />
  ) : (
    <DeploymentsPage wallet={wallet} />
  );
  const link = (to: string, text: string) => (
    <a href={`#${to}`} class={route === to || (to === "/" && route === "") ? "active" : ""}>
      {text}
    </a>
  );
  return (
    <>
      <header>
        <strong class="logo">Hypha</strong>
        <nav>
          {link("/", "Deployments")}
          {link("/deploy", "Deploy")}
          {link("/nodes", "Nodes")}
          <a href="/docs">API</a>
        </nav>
        <WalletBar wallet={wallet} info={info} />
      </header>
      <main>
        {infoError && <div class="banner bad">The API does not answer: {infoError}</div>}
        {page}
      </main>
    </>
  );
}
