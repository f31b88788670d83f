/**
 * `hypha cancel -f SIGNED.yaml`: the deployer cancels the signed intents in a file before anyone
 * submits them (DeploymentRegistry.cancelIntent). A cancelled intent can never be submitted, so a
 * signed file that leaked, or was signed with the wrong budget, is dead for good.
 */
import type { Command } from "commander";
import { deploymentRegistryAbi } from "../../chain/abi";
import { computeDeploymentId, domainFor } from "../../chain/signing";
import { sendContractTx } from "../../chain/tx";
import { HyphaError } from "../../errors";
import type { CliContext } from "../context";
import { signedIntentOf } from "../intentOptions";
import { readWorkloads } from "../workloads";

/** Registers `hypha cancel`. */
export function registerCancel(program: Command, ctx: CliContext): void {
  program
    .command("cancel")
    .description("cancel signed intents before they are submitted (the deployer's key sends the transaction)")
    .requiredOption("-f, --file <file>", "a signed ConfigMap written by `hypha sign` (- for stdin)")
    .addHelpText("after", "\nExample:\n  $ hypha cancel -f app.signed.yaml\n  cancelled 0x5c0e… (deterministic-app)  tx 0x9a1f…")
    .action(async (flags: { file: string }) => {
      const workloads = readWorkloads(flags.file);
      const addresses = await ctx.addresses();
      const domain = domainFor(addresses);
      const planned = [];
      for (const w of workloads) {
        if (!w.signed)
          throw new HyphaError(`-f ${flags.file}, document ${w.document}: not a signed intent (write one with \`hypha sign\`); nothing was cancelled`);
        planned.push({ name: w.spec.name, ...(await signedIntentOf(w, domain, ctx.publicClient, flags.file)) });
      }
      const account = await ctx.account();
      for (const p of planned) {
        if (p.intent.deployer.toLowerCase() !== account.address.toLowerCase()) {
          throw new HyphaError(
            `${p.name}: only its deployer ${p.intent.deployer} may cancel it; the key in use is ${account.address} (give the deployer's key)`,
          );
        }
      }
      const clients = await ctx.txClients();
      for (const p of planned) {
        const id = computeDeploymentId(domain, p.intent);
        const { hash } = await sendContractTx(
          clients,
          { address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "cancelIntent", args: [p.intent] },
          `cancelling ${id}`,
        );
        ctx.print(`cancelled ${id} (${p.name})  tx ${hash}`);
      }
    });
}
