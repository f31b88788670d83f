/**
 * Makes sure a deployer's budget can be escrowed by submitIntent: the contract takes it from the
 * deployer's deposit when that covers it, else pulls it with transferFrom, which needs an allowance.
 * Decides first (pure), then sends at most one approve.
 */
import type { Address, Hex } from "viem";
import { deploymentRegistryAbi, hyphaTokenAbi } from "./abi";
import type { HyphaAddresses } from "./addresses";
import { ChainError, toChainError } from "./chainError";
import { sendContractTx, type TxClients } from "./tx";

export interface FundingState {
  deposit: bigint;
  tokenBalance: bigint;
  allowance: bigint;
}

export type FundingPlan = { action: "none"; from: "deposit" | "allowance" } | { action: "approve"; amount: bigint };

/**
 * What must happen before submitting an intent with `budget`; throws when the deployer cannot pay.
 * @example planFunding({ deposit: 0n, tokenBalance: 10n, allowance: 0n }, 5n) // { action: "approve", amount: 5n }
 */
export function planFunding(state: FundingState, budget: bigint): FundingPlan {
  if (state.deposit >= budget) return { action: "none", from: "deposit" };
  if (state.tokenBalance < budget) {
    throw new ChainError(`budget: the deployer holds ${state.tokenBalance} token wei and has ${state.deposit} deposited; the budget needs ${budget}`, { exitCode: 1 });
  }
  if (state.allowance >= budget) return { action: "none", from: "allowance" };
  return { action: "approve", amount: budget };
}

/**
 * Reads the deployer's deposit, token balance and allowance to the DeploymentRegistry.
 * @example const state = await readFunding(pc, addresses, deployer)
 */
export async function readFunding(clients: Pick<TxClients, "publicClient">, addresses: HyphaAddresses, deployer: Address): Promise<FundingState> {
  const pc = clients.publicClient;
  try {
    const [deposit, tokenBalance, allowance] = await Promise.all([
      pc.readContract({ address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "balanceOf", args: [deployer] }),
      pc.readContract({ address: addresses.token, abi: hyphaTokenAbi, functionName: "balanceOf", args: [deployer] }),
      pc.readContract({ address: addresses.token, abi: hyphaTokenAbi, functionName: "allowance", args: [deployer, addresses.deploymentRegistry] }),
    ]);
    return { deposit: deposit as bigint, tokenBalance: tokenBalance as bigint, allowance: allowance as bigint };
  } catch (err) {
    throw toChainError(err, "reading the deployer's funds");
  }
}

/**
 * Plans and, when needed, sends the approve (from the wallet client's account, the deployer).
 * @example await ensureEscrow(clients, addresses, deployer, intent.budget)
 */
export async function ensureEscrow(clients: TxClients, addresses: HyphaAddresses, deployer: Address, budget: bigint): Promise<{ plan: FundingPlan; approveTx?: Hex }> {
  const plan = planFunding(await readFunding(clients, addresses, deployer), budget);
  if (plan.action === "none") return { plan };
  const { hash } = await sendContractTx(
    clients,
    { address: addresses.token, abi: hyphaTokenAbi, functionName: "approve", args: [addresses.deploymentRegistry, plan.amount] },
    "approving the budget",
  );
  return { plan, approveTx: hash };
}
