/**
 * `hypha audit ID [-f FILE] [-o json]`: re-checks a deployment from chain data alone (plus the
 * manifest or the public spec blob): ids, hashes, signatures, agents at each block, placements and
 * transitions. Prints PASS/FAIL per check; exits 1 when any check fails.
 */
import type { Command } from "commander";
import type { Hex } from "viem";
import { runAuditChecks, type AuditInput, type AuditReport } from "../../chain/audit/checks";
import { collectAuditInput } from "../../chain/audit/collect";
import { HyphaError, type HyphaErrorOptions } from "../../errors";
import { computeSpecHash, specFromCanonicalJson } from "../../spec";
import type { CliContext } from "../context";
import { parseOutputFormat, renderTable, toJson } from "../output";
import { fetchSpecBlob } from "../storeAccess";
import { readWorkloads } from "../workloads";
import { parseDeploymentId } from "./deployments";

/** An audit that found failures (exit code 1), carrying the report. */
export class AuditFailed extends HyphaError {
  override name = "AuditFailed";
  constructor(
    readonly report: AuditReport,
    options: HyphaErrorOptions = {},
  ) {
    super(`audit FAILED: ${report.checks.filter((c) => c.status === "FAIL").length} check(s) failed for ${report.id}`, { ...options, exitCode: 1 });
  }
}

/** The specHash re-derived from a manifest file: the workload whose hash matches, else the first. */
function specHashFromManifest(file: string, onChain: Hex): AuditInput["derivedSpecHash"] {
  const workloads = readWorkloads(file);
  const hashes = workloads.map((w) => ({ w, hash: computeSpecHash(w.spec) }));
  const match = hashes.find((h) => h.hash.toLowerCase() === onChain.toLowerCase()) ?? hashes[0];
  const label = workloads.length > 1 ? `${file} (document ${match.w.document}, ${match.w.spec.name})` : file;
  return { hash: match.hash, source: label };
}

/** The specHash re-derived from the store's spec blob (re-parsed and re-canonicalized); undefined if unavailable. */
async function specHashFromStore(storeUrl: string, onChain: Hex): Promise<AuditInput["derivedSpecHash"]> {
  let json: string | undefined;
  try {
    json = await fetchSpecBlob(storeUrl, onChain);
  } catch (err) {
    if (err instanceof HyphaError && err.exitCode === 2) return undefined; // store unreachable: skip, not fail
    return { error: (err as Error).message.split("\n")[0], source: `spec blob at ${storeUrl}` };
  }
  if (json === undefined) return undefined;
  try {
    return { hash: computeSpecHash(specFromCanonicalJson(json)), source: `spec blob at ${storeUrl} (re-parsed and re-canonicalized)` };
  } catch (err) {
    return { error: `not a valid workload spec: ${(err as HyphaError).shortMessage ?? (err as Error).message}`, source: `spec blob at ${storeUrl}` };
  }
}

/** Registers `hypha audit`. */
export function registerAudit(program: Command, ctx: CliContext): void {
  program
    .command("audit")
    .description("re-check a deployment from chain data alone: hashes, signatures, agents, transitions")
    .argument("<id>", "deployment id (0x…)")
    .option("-f, --file <file>", "the manifest the deployment claims to run (re-derives the specHash)")
    .option("-o, --output <format>", "table (default) or json")
    .addHelpText("after", "\nExample:\n  $ hypha audit 0x5c0e… -f examples/deployment.yaml\n  PASS  deployment id  …\n  PASS  spec hash  …")
    .action(async (idText: string, o: { file?: string; output?: string }) => {
      const format = parseOutputFormat(o.output, ["table", "json"]);
      const id = parseDeploymentId(idText);
      const addresses = await ctx.addresses();
      const input = await collectAuditInput(ctx.publicClient, addresses, id);
      input.derivedSpecHash = o.file ? specHashFromManifest(o.file, input.intent.specHash) : await specHashFromStore(ctx.config.storeUrl, input.intent.specHash);
      const report = await runAuditChecks(input);
      if (format === "json") ctx.print(toJson(report));
      else {
        ctx.print(renderTable(report.checks.map((c) => ({ RESULT: c.status, CHECK: c.name, DETAIL: c.detail }))));
        ctx.print(`\n${report.verdict}: deployment ${id}`);
      }
      if (report.verdict === "FAIL") throw new AuditFailed(report);
    });
}
