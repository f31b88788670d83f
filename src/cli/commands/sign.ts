/**
 * `hypha sign -f FILE [-o OUT]`: turns each workload into the seed's portable signed ConfigMap,
 * with verification_hash (the specHash), the deployer's EIP-712 signature and the intent's other
 * fields beside them, so anyone holding the file can relay it with `hypha apply`.
 */
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { domainFor, signIntent } from "../../chain/signing";
import { HyphaError } from "../../errors";
import { renderSignedConfigMap } from "../../spec";
import type { CliContext } from "../context";
import { addIntentOptions, applySpecOverrides, imageRootFor, intentForSpec, type IntentFlags } from "../intentOptions";
import { resolveImageRoot } from "../storeAccess";
import { readWorkloads } from "../workloads";

/** Default output name: app.yaml -> app.signed.yaml. */
export function signedFileName(file: string): string {
  if (file === "-") return "signed.yaml";
  const ext = path.extname(file);
  return path.join(path.dirname(file), `${path.basename(file, ext)}.signed${ext || ".yaml"}`);
}

/** Registers `hypha sign`. */
export function registerSign(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("sign")
    .description("write a signed ConfigMap (portable deployment) for each workload in a manifest")
    .requiredOption("-f, --file <file>", "manifest file (- for stdin)")
    .option("-o, --out <file>", "where to write (default FILE.signed.yaml; - for stdout)")
    .option("--force", "overwrite the output file");
  addIntentOptions(cmd)
    .addHelpText("after", "\nExample:\n  $ hypha sign -f examples/smart-contract.yaml -o signed.yaml --budget 5\n  $ hypha apply -f signed.yaml")
    .action(async (flags: IntentFlags & { file: string; out?: string; force?: boolean }) => {
      const out = flags.out ?? signedFileName(flags.file);
      if (out !== "-" && fs.existsSync(out) && !flags.force) throw new HyphaError(`-o: ${out} exists; pass --force to overwrite`);
      const workloads = readWorkloads(flags.file);
      const addresses = await ctx.addresses();
      const domain = domainFor(addresses);
      const account = await ctx.account();
      const latest = await ctx.publicClient.getBlock().catch(() => undefined);
      const now = BigInt(Math.max(Math.floor(Date.now() / 1000), Number(latest?.timestamp ?? 0n)));
      const docs: string[] = [];
      for (const w of workloads) {
        const spec = applySpecOverrides(w.spec, flags);
        const imageRoot = await imageRootFor(spec, flags, (image) => resolveImageRoot(ctx.config.storeUrl, image));
        const intent = intentForSpec(spec, flags, { deployer: account.address, imageRoot, now });
        const signature = await signIntent(account, domain, intent);
        docs.push(
          renderSignedConfigMap(spec, {
            verificationHash: intent.specHash,
            signature,
            intent: {
              deployer: intent.deployer,
              imageRoot: intent.imageRoot,
              nonce: intent.nonce,
              deadline: intent.deadline,
              budget: intent.budget,
              maxPricePerSecond: intent.maxPricePerSecond,
              maxRetries: intent.maxRetries,
              maxRunSeconds: intent.maxRunSeconds,
              chainId: addresses.chainId,
              verifyingContract: addresses.deploymentRegistry,
            },
          }),
        );
        ctx.err(`signed ${spec.name}: specHash ${intent.specHash}, deployer ${intent.deployer}, nonce ${intent.nonce}`);
      }
      const text = docs.map((d) => d.replace(/\n*$/, "\n")).join("---\n");
      if (out === "-") ctx.print(text);
      else {
        const tmp = `${out}.tmp-${process.pid}`;
        fs.writeFileSync(tmp, text);
        fs.renameSync(tmp, out);
        ctx.print(`wrote ${out}`);
      }
    });
}
