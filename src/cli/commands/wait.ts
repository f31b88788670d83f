/**
 * `hypha wait deployment REF --for=phase=PHASE`: kubectl wait for deployments. Follows the
 * deployment's events (as `apply --wait` does) until it reaches PHASE; exits 3 with the reason when
 * it ends in another phase, 2 on timeout.
 */
import type { Command } from "commander";
import { DEPLOYMENT_PHASES } from "../../chain/deploymentOutcome";
import { HyphaError } from "../../errors";
import { parseIntIn } from "../amounts";
import type { CliContext } from "../context";
import { resolveDeploymentRef } from "../deploymentRef";
import { HeadSleeper } from "../../chain/headSleeper";
import { followDeployment } from "../progress";
import { emitAs, OUTPUT_HELP, parseOutputFormat } from "../output";
import { deploymentNames } from "./deployments";

/**
 * Parses `--for`: `phase=NAME` (also `status=NAME`, `condition=Ready` = Running).
 * @example parseWaitFor("phase=Succeeded") // "Succeeded"
 */
export function parseWaitFor(text: string): string {
  if (/^condition=ready$/i.test(text)) return "Running";
  const m = /^(phase|status)=(\w+)$/i.exec(text);
  const phases = DEPLOYMENT_PHASES.filter((p) => p !== "Unknown");
  const phase = m && phases.find((p) => p.toLowerCase() === m[2].toLowerCase());
  if (!phase) throw new HyphaError(`--for: phase=NAME with NAME one of ${phases.join(", ")} (or condition=Ready), got ${JSON.stringify(text)}`);
  return phase;
}

/** Registers `hypha wait`. */
export function registerWait(program: Command, ctx: CliContext): void {
  program
    .command("wait")
    .description("wait until a deployment reaches a phase (exit 3 if it ends in another)")
    .argument("<type>", "deployment")
    .argument("<ref>", "deployment name, id or unique id prefix")
    .requiredOption("--for <condition>", "phase=Running|Succeeded|Failed|Deleted|OutOfBudget|... or condition=Ready")
    .option("--timeout <seconds>", "give up after this long (exit 2)", "300")
    .option("-o, --output <format>", `${OUTPUT_HELP}: the deployment once it is there`)
    .addHelpText("after", "\nExample:\n  $ hypha wait deployment sum-of-squares --for=phase=Succeeded --timeout 600")
    .action(async (type: string, ref: string, o: { for: string; timeout: string; output?: string }) => {
      const format = parseOutputFormat(o.output);
      if (!["deployment", "deployments", "deploy"].includes(type))
        throw new HyphaError(`TYPE: only "deployment" is supported here, got ${JSON.stringify(type)}`);
      const phase = parseWaitFor(o.for);
      const timeoutS = parseIntIn("--timeout", o.timeout, 1, 86_400);
      const d = await resolveDeploymentRef(ctx, ref);
      const label = d.name ?? d.id;
      const sleeper = HeadSleeper.start(ctx.config.rpcUrl); // read again after each block
      const outcome = await followDeployment(ctx.publicClient, await ctx.addresses(), d.id, {
        print: () => undefined,
        timeoutMs: timeoutS * 1000,
        until: [phase],
        label,
        sleep: (ms) => sleeper.sleep(ms),
      }).finally(() => sleeper.close());
      const line = `deployment ${label} (${d.id}) is ${outcome.phase}: ${outcome.message}`;
      if (format === "table" || format === "wide") return ctx.print(line);
      const now = await resolveDeploymentRef(ctx, d.id); // the resource as it is now, as `get -o json` prints it
      emitAs(
        ctx.print.bind(ctx),
        format,
        now,
        () => line,
        () => deploymentNames([now]),
      );
    });
}
