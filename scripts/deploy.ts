/**
 * Deploys Hypha's contracts to the chain at --rpc (default http://127.0.0.1:8545) and writes
 * deployments/<chainId>.json. The admin key comes from HYPHA_ADMIN_KEY, else dev account #0
 * (local chains only). On chain 31337 it also funds dev accounts and grants orchestrator roles.
 *   npx tsx scripts/deploy.ts [--rpc URL] [--out DIR]
 */
import { createPublicClient, createWalletClient, http, parseEther, type Hex, type PublicClient, type WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { writeAddresses } from "../src/chain/addresses";
import { deployHypha, fundAccounts } from "../src/chain/deploy";
import { DEV_ROLES, devAccount, devPrivateKey } from "../src/chain/devAccounts";

async function main() {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const rpc = flag("--rpc") ?? process.env.HYPHA_RPC ?? "http://127.0.0.1:8545";
  const out = flag("--out") ?? "deployments";
  const publicClient = createPublicClient({ transport: http(rpc), pollingInterval: 100 }) as PublicClient;
  const chainId = await publicClient.getChainId();
  const local = chainId === 31337;
  const key = (process.env.HYPHA_ADMIN_KEY as Hex | undefined) ?? (local ? devPrivateKey(DEV_ROLES.admin) : undefined);
  if (!key) throw new Error(`chain ${chainId} is not local: set HYPHA_ADMIN_KEY`);
  const walletClient = createWalletClient({ account: privateKeyToAccount(key), transport: http(rpc), pollingInterval: 100 }) as WalletClient;
  const orchestrators = local ? DEV_ROLES.orchestrators.map((i) => devAccount(i).address) : [];
  const addresses = await deployHypha({ walletClient, publicClient, params: { orchestrators } });
  if (local) {
    const funded = [...DEV_ROLES.nodeOperators, ...DEV_ROLES.deployers].map((i) => devAccount(i).address);
    await fundAccounts({ walletClient, publicClient, addresses, accounts: funded, amount: parseEther("1000000") });
  }
  const file = writeAddresses(out, addresses);
  console.log(JSON.stringify({ ...addresses, deployBlock: addresses.deployBlock.toString(), file }));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
