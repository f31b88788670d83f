/**
 * `hypha account balance|deposit|withdraw`: the signer's tokens and its balance inside the
 * DeploymentRegistry (deployers prepay budgets there; node operators are credited their pay there
 * and withdraw it).
 */
import type { Command } from "commander";
import type { Address } from "viem";
import { deploymentRegistryAbi, hyphaTokenAbi } from "../../chain/abi";
import { toChainError } from "../../chain/chainError";
import { sendContractTx, sendContractTxWithAllowance } from "../../chain/tx";
import { formatTokens, parseTokenAmount } from "../amounts";
import { parseAddress, type CliContext } from "../context";
import { parseOutputFormat, toJson } from "../output";
import { devAccount, DEV_ROLES } from "../../chain/devAccounts";
import { HyphaError } from "../../errors";

/** Registers `hypha account ...`. */
export function registerAccount(program: Command, ctx: CliContext): void {
  const account = program
    .command("account")
    .description("token balance and the DeploymentRegistry balance (prepaid budget, node pay)")
    .addHelpText("after", "\nExample:\n  $ hypha account balance\n  $ hypha account deposit 20\n  $ hypha account withdraw");

  account
    .command("balance")
    .description("show token and registry balances of an address (default: the signer)")
    .argument("[address]", "address to look at")
    .option("-o, --output <format>", "table (default) or json")
    .addHelpText("after", "\nExample:\n  $ hypha account balance 0x71bE63f3384f5fb98995898A86B02Fb2426c5788")
    .action(async (addressText: string | undefined, o: { output?: string }) => {
      const format = parseOutputFormat(o.output, ["table", "json"]);
      const who: Address = addressText ? parseAddress("ADDRESS", addressText) : (await ctx.account()).address;
      const addresses = await ctx.addresses();
      let tokens: bigint, registry: bigint;
      try {
        [tokens, registry] = (await Promise.all([
          ctx.publicClient.readContract({ address: addresses.token, abi: hyphaTokenAbi, functionName: "balanceOf", args: [who] }),
          ctx.publicClient.readContract({ address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "balanceOf", args: [who] }),
        ])) as [bigint, bigint];
      } catch (err) {
        throw toChainError(err, `reading the balances of ${who}`);
      }
      if (format === "json") ctx.print(toJson({ address: who, tokens, registryBalance: registry }));
      else ctx.print(`${who}\n  tokens:            ${formatTokens(tokens)}\n  registry balance:  ${formatTokens(registry)}`);
    });

  account
    .command("deposit")
    .description("prepay tokens into the DeploymentRegistry (budgets are then taken from it)")
    .argument("<amount>", "tokens (HYPHA or NNNwei)")
    .addHelpText("after", "\nExample:\n  $ hypha account deposit 20")
    .action(async (amountText: string) => {
      const amount = parseTokenAmount("AMOUNT", amountText);
      const addresses = await ctx.addresses();
      const clients = await ctx.txClients();
      const { hash } = await sendContractTxWithAllowance(
        clients,
        { address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "deposit", args: [amount] },
        "depositing",
        { token: addresses.token, owner: clients.account.address, spender: addresses.deploymentRegistry, amount, field: "AMOUNT" },
      );
      ctx.print(`deposited ${formatTokens(amount)}  tx ${hash}`);
    });

  account
    .command("withdraw")
    .description("withdraw from the registry balance (unspent deposits, refunds, node pay)")
    .argument("[amount]", "tokens (default: everything)")
    .addHelpText("after", "\nExample:\n  $ hypha account withdraw --dev-account 5")
    .action(async (amountText: string | undefined) => {
      const amount = amountText === undefined ? 0n : parseTokenAmount("AMOUNT", amountText);
      const addresses = await ctx.addresses();
      const clients = await ctx.txClients();
      const { hash } = await sendContractTx(
        clients,
        { address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "withdraw", args: [amount] },
        "withdrawing",
      );
      ctx.print(`withdrew ${amount === 0n ? "the whole balance" : formatTokens(amount)}  tx ${hash}`);
    });

  account
    .command("transfer")
    .description("send tokens from the signing account to another address")
    .argument("<to>", "the receiving address")
    .argument("<amount>", "tokens (HYPHA, or NNNwei)")
    .addHelpText("after", "\nExample:\n  $ hypha account transfer 0xNEW_KEY 150 --dev-account 11")
    .action(async (toText: string, amountText: string) => {
      const to = parseAddress("TO", toText);
      const amount = parseTokenAmount("AMOUNT", amountText);
      if (amount === 0n) throw new HyphaError("AMOUNT: must be more than 0");
      const addresses = await ctx.addresses();
      const clients = await ctx.txClients();
      const { hash } = await sendContractTx(
        clients,
        { address: addresses.token, abi: hyphaTokenAbi, functionName: "transfer", args: [to, amount] },
        `transferring to ${to}`,
      );
      ctx.print(`sent ${formatTokens(amount)} from ${clients.account.address} to ${to}  tx ${hash}`);
    });

  account
    .command("faucet")
    .description("local dev chains only: mint test tokens to an address (e.g. a key made with hypha key new)")
    .argument("<to>", "the receiving address")
    .option("--amount <amount>", "tokens to mint", "1000")
    .addHelpText("after", "\nExample:\n  $ hypha account faucet 0xNEW_KEY --amount 500")
    .action(async (toText: string, o: { amount: string }) => {
      const to = parseAddress("TO", toText);
      const amount = parseTokenAmount("--amount", o.amount);
      if (amount === 0n) throw new HyphaError("--amount: must be more than 0");
      const addresses = await ctx.addresses();
      if (addresses.chainId !== 31337)
        throw new HyphaError(
          `faucet: only on a local dev chain (chain id 31337); this is chain ${addresses.chainId}: ask the token's owner, or hypha account transfer`,
        );
      // The token's owner on a local chain is the dev admin (account #0), who deployed it.
      const clients = await ctx.txClients(devAccount(DEV_ROLES.admin));
      const { hash } = await sendContractTx(
        clients,
        { address: addresses.token, abi: hyphaTokenAbi, functionName: "mint", args: [to, amount] },
        `minting to ${to}`,
      );
      ctx.print(`minted ${formatTokens(amount)} to ${to} (signed by local dev account #${DEV_ROLES.admin}, ${clients.account.address})  tx ${hash}`);
    });
}
