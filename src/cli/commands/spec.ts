/**
 * `hypha spec hash -f FILE [-o json|yaml|name]`: the specHash of each workload in a manifest, and with
 * `-o json|yaml` its canonical JSON too.
 */
import type { Command } from "commander";
import type { CliContext } from "../context";
import { emitAs, parseOutputFormat } from "../output";
import { canonicalSpecJson, computeSpecHash, readWorkloads } from "../workloads";

/** Registers `hypha spec ...`. */
export function registerSpec(program: Command, ctx: CliContext): void {
  const spec = program
    .command("spec")
    .description("work with workload specs")
    .addHelpText("after", "\nExample:\n  $ hypha spec hash -f examples/deployment.yaml -o json");
  spec
    .command("hash")
    .description("print the specHash (sha256 of the RFC 8785 canonical JSON) of each workload in a manifest")
    .requiredOption("-f, --file <file>", "manifest file (- for stdin)")
    .option("-o, --output <format>", "json or yaml: also the canonical JSON; name: spec/NAME per workload")
    .addHelpText("after", "\nExample:\n  $ hypha spec hash -f examples/deployment.yaml\n  0x3b1c…  document 0  Deployment nginx-deployment")
    .action((opts: { file: string; output?: string }) => {
      const format = parseOutputFormat(opts.output, ["table", "json", "yaml", "name"]);
      const workloads = readWorkloads(opts.file);
      const rows = workloads.map((w) => ({
        document: w.document,
        source: w.source,
        name: w.spec.name,
        specHash: computeSpecHash(w.spec),
        canonicalJson: canonicalSpecJson(w.spec),
      }));
      emitAs(
        ctx.print.bind(ctx),
        format,
        rows.length === 1 ? rows[0] : rows,
        () => rows.map((r) => (rows.length === 1 ? r.specHash : `${r.specHash}  document ${r.document}  ${r.source} ${r.name}`)).join("\n"),
        () => rows.map((r) => `spec/${r.name}`),
      );
    });
}
