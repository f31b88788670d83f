/**
 * `hypha apply -f FILE`: validate the manifest, resolve the image, publish the spec blob, build
 * and sign the intent (or take a signed ConfigMap as is), make sure the budget can be escrowed,
 * submit, and print the deployment id and transaction; `--wait` follows it to Running.
 */
import type { Command } from "commander";
import type { Hex } from "viem";
import type { DeploymentIntent } from "../../chain/eip712";
import { deploymentRegistryAbi } from "../../chain/abi";
import { compactSignature, computeDeploymentId, domainFor, signIntent } from "../../chain/signing";
import { sendContractTxWithAllowance } from "../../chain/tx";
import { HyphaError } from "../../errors";
import { formatTokens, parseIntIn } from "../amounts";
import type { CliContext } from "../context";
import { addIntentOptions, applySpecOverrides, imageRootFor, intentForSpec, signedIntentOf, type IntentFlags } from "../intentOptions";
import { parseOutputFormat, toJson } from "../output";
import { followDeployment } from "../progress";
import { publishSpecBlob, resolveImageRoot } from "../storeAccess";
import { canonicalSpecJson, computeSpecHash, readWorkloads } from "../workloads";

interface ApplyFlags extends IntentFlags {
  file: string;
  wait?: boolean;
  timeout?: string;
  publish: boolean;
  output?: string;
}

/** Registers `hypha apply`. */
export function registerApply(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("apply")
    .description("sign a deployment intent for each workload in a manifest and submit it")
    .requiredOption("-f, --file <file>", "manifest file (- for stdin)");
  addIntentOptions(cmd)
    .option("--wait", "follow the deployment until Running (a job: Completed) or Failed")
    .option("--timeout <seconds>", "how long --wait waits", "300")
    .option("--no-publish", "do not publish the spec JSON to the store")
    .option("-o, --output <format>", "json for machines")
    .addHelpText(
      "after",
      "\nExample:\n  $ hypha apply -f examples/deployment.yaml --budget 5 --wait\n  deployment 0x5c0e…  tx 0x9a1f…\n  block 12  replica 0 scheduled on node 1 (attempt 1)\n  ...",
    )
    .action(async (flags: ApplyFlags) => {
      const format = parseOutputFormat(flags.output, ["table", "json"]);
      const timeoutS = parseIntIn("--timeout", flags.timeout ?? "300", 1, 86_400);
      const workloads = readWorkloads(flags.file);
      const addresses = await ctx.addresses();
      const domain = domainFor(addresses);
      const pc = ctx.publicClient;
      // Decide everything first (validation, image, signature), so bad input sends nothing.
      const planned: Array<{ name: string; intent: DeploymentIntent; signature?: Hex; specJson: string; relayOnly: boolean }> = [];
      const latest = await pc.getBlock().catch(() => undefined);
      const now = BigInt(Math.max(Math.floor(Date.now() / 1000), Number(latest?.timestamp ?? 0n)));
      for (const w of workloads) {
        if (w.source === "ConfigMap" && w.signed) {
          if (hasIntentFlags(flags)) throw new HyphaError(`document ${w.document}: a signed ConfigMap is applied as signed; intent flags (--replicas, --budget, ...) cannot change it`);
          const { intent, signature } = await signedIntentOf(w, domain, pc, flags.file);
          planned.push({ name: w.spec.name, intent, signature, specJson: canonicalSpecJson(w.spec), relayOnly: true });
          continue;
        }
        const spec = applySpecOverrides(w.spec, flags);
        const account = await ctx.account();
        const imageRoot = await imageRootFor(spec, flags, (image) => resolveImageRoot(ctx.config.storeUrl, image));
        const intent = intentForSpec(spec, flags, { deployer: account.address, imageRoot, now });
        if (intent.specHash !== computeSpecHash(spec)) throw new Error("specHash changed while building the intent");
        planned.push({ name: spec.name, intent, specJson: canonicalSpecJson(spec), relayOnly: false });
      }
      const results = [];
      for (const p of planned) {
        if (flags.publish) await publishSpecBlob(ctx.config.storeUrl, p.specJson);
        const account = await ctx.account();
        const clients = await ctx.txClients();
        // A signed ConfigMap is relayed exactly as signed. What we sign here with a local (EOA) key goes
        // on-chain in its 64-byte EIP-2098 form, which the contract accepts and which costs less calldata.
        const signature = p.signature ?? compactSignature(await signIntent(account, domain, p.intent));
        const id = computeDeploymentId(domain, p.intent);
        // Deposit-funded when the deployer's deposit covers the budget; else approve + transferFrom.
        const { hash, approveTx } = await sendContractTxWithAllowance(
          clients,
          { address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "submitIntent", args: [p.intent, signature] },
          `submitting ${p.name}`,
          { token: addresses.token, owner: p.intent.deployer, spender: addresses.deploymentRegistry, amount: p.intent.budget, field: "budget" },
        );
        results.push({ name: p.name, kind: p.intent.kind, id, transactionHash: hash, approveTx, specHash: p.intent.specHash, imageRoot: p.intent.imageRoot, budget: p.intent.budget, nonce: p.intent.nonce });
        if (format === "table") {
          ctx.print(`deployment ${id} (${p.name})  tx ${hash}`);
          ctx.print(`  specHash ${p.intent.specHash}  replicas ${p.intent.replicas}  budget ${formatTokens(p.intent.budget)}`);
        }
      }
      if (format === "json") ctx.print(toJson(results.length === 1 ? results[0] : results));
      if (flags.wait) {
        for (const r of results) {
          const status = await followDeployment(pc, addresses, r.id, { print: (l) => (format === "json" ? ctx.err(`${r.name}: ${l}`) : ctx.print(`${r.name}: ${l}`)), timeoutMs: timeoutS * 1000, until: r.kind === 1 ? ["Completed"] : ["Running"] });
          if (format === "table") ctx.print(`deployment ${r.id} is ${status}`);
        }
      }
    });
}

function hasIntentFlags(f: IntentFlags): boolean {
  return [f.replicas, f.budget, f.maxPrice, f.quorum, f.maxRetries, f.nonce, f.deadline, f.imageRoot].some((v) => v !== undefined);
}
