/**
 * `hypha audit ID [-f FILE] [-o json|yaml]`: re-checks a deployment from chain data alone (plus the
 * manifest or the public spec blob): ids, hashes, signatures, agents at each block, placements and
 * transitions. Prints PASS/FAIL per check; exits 1 when any check fails.
 */
import type { Command } from "commander";
import { auditDeployment, type AuditReport } from "../../audit";
import { HyphaError, type HyphaErrorOptions } from "../../errors";
import type { CliContext } from "../context";
import { emitAs, parseOutputFormat, renderTable } from "../output";
import { readWorkloads } from "../workloads";
import { parseDeploymentId } from "./deployments";

/** An audit that found failures (exit code 1), carrying the report. */
export class AuditFailed extends HyphaError {
  override name = "AuditFailed";
  constructor(
    readonly report: AuditReport,
    options: HyphaErrorOptions = {},
  ) {
    super(`audit FAILED: ${report.checks.filter((c) => c.status === "FAIL").length} check(s) failed for ${report.id}`, options);
  }
}

/** Registers `hypha audit`. */
export function registerAudit(program: Command, ctx: CliContext): void {
  program
    .command("audit")
    .description("re-check a deployment from chain data alone: hashes, signatures, agents, transitions")
    .argument("<id>", "deployment id (0x…)")
    .option("-f, --file <file>", "the manifest the deployment claims to run (re-derives the specHash)")
    .option("-o, --output <format>", "table (default), json or yaml (the report, as GET /v1/deployments/ID/audit)")
    .addHelpText("after", "\nExample:\n  $ hypha audit 0x5c0e… -f examples/deployment.yaml\n  PASS  deployment id  …\n  PASS  spec hash  …")
    .action(async (idText: string, o: { file?: string; output?: string }) => {
      const format = parseOutputFormat(o.output, ["table", "json", "yaml"]);
      const id = parseDeploymentId(idText);
      const addresses = await ctx.addresses();
      const report = await auditDeployment(
        ctx.publicClient,
        addresses,
        id,
        o.file ? { manifest: { workloads: readWorkloads(o.file), label: o.file } } : { storeUrl: ctx.config.storeUrl },
      );
      emitAs(
        ctx.print.bind(ctx),
        format,
        report,
        () => `${renderTable(report.checks.map((c) => ({ RESULT: c.status, CHECK: c.name, DETAIL: c.detail })))}\n\n${report.verdict}: deployment ${id}`,
      );
      if (report.verdict === "FAIL") throw new AuditFailed(report);
    });
}
