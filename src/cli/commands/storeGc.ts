/**
 * `hypha store gc [--dry-run]`: removes the objects of a store directory that nothing needs. What is
 * needed is read from the catalog and from the chain: the image of every deployment still active
 * (Requested, Scheduled, Running) and the spec blob of every deployment ever submitted (an auditor
 * re-hashes it). Without a chain to ask, it refuses: it never guesses what is in use.
 */
import type { Command } from "commander";
import { HyphaError } from "../../errors";
import type { CliContext } from "../context";
import { parseOutputFormat, renderTable, toJson } from "../output";

const ACTIVE = new Set([1, 2, 3]); // Requested, Scheduled, Running

/** "90s", "30m", "1h", "2d" or plain milliseconds. @example parseAge("--min-age", "1h") // 3600000 */
export function parseAge(flag: string, text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new HyphaError(`${flag}: expected a duration like 90s, 30m, 1h or 2d, got ${JSON.stringify(text)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? "ms"]!;
  return Number(m[1]) * unit;
}

/** Registers `gc` under `hypha store`. */
export function registerStoreGc(store: Command, ctx: CliContext): void {
  store
    .command("gc")
    .description("remove objects no catalog name and no deployment on the chain needs (try --dry-run first)")
    .option("--dir <dir>", "store directory", ".hypha/store")
    .option("--dry-run", "only list what would be removed")
    .option("--min-age <duration>", "keep anything younger than this (uploads in progress)", "1h")
    .option("-o, --output <format>", "table (default) or json")
    .addHelpText("after", "\nExample:\n  $ hypha store gc --dry-run --rpc http://127.0.0.1:8545\n  $ hypha store gc")
    .action(async (o: { dir: string; dryRun?: boolean; minAge: string; output?: string }) => {
      const format = parseOutputFormat(o.output, ["table", "json"]);
      const minAgeMs = parseAge("--min-age", o.minAge);
      const { ChunkStore, Catalog, collectGarbage, bytes32ToRoot, RAW_CODEC } = require("../../image") as typeof import("../../image");
      const { listDeployments, readDeployment } = require("../../chain/deployments") as typeof import("../../chain/deployments");
      const addresses = await ctx.addresses();
      const roots: string[] = [];
      const blobs: string[] = [];
      const all = await listDeployments(ctx.publicClient, addresses);
      for (const d of all) {
        blobs.push(bytes32ToRoot(d.intent.specHash, RAW_CODEC).toString());
        if (ACTIVE.has((await readDeployment(ctx.publicClient, addresses, d.id)).status)) roots.push(bytes32ToRoot(d.intent.imageRoot).toString());
      }
      const report = await collectGarbage(new ChunkStore(o.dir), new Catalog(o.dir), { roots, blobs, dryRun: o.dryRun === true, minAgeMs });
      if (format === "json") {
        ctx.out(toJson({ ...report, remove: report.remove.map((r) => r.cid), deployments: all.length, activeImages: roots.length }));
        return;
      }
      if (report.remove.length > 0) ctx.out(renderTable(report.remove.map((r) => ({ CID: r.cid, BYTES: r.size }))));
      const verb = report.dryRun ? "would remove" : "removed";
      ctx.out(
        `${verb} ${report.remove.length} object(s), ${report.removeBytes} bytes; kept ${report.keep} (${report.keepBytes} bytes: reachable from the catalog, ` +
          `${roots.length} active deployment image(s) and ${all.length} deployment spec(s), or younger than ${o.minAge}: ${report.young})`,
      );
      for (const r of report.missingRoots) ctx.err(`warning: root ${r} is in use but its manifest is not in this store`);
      for (const r of report.badRoots)
        ctx.err(`warning: root ${r}: its manifest is unreadable; its chunks were not walked, so chunks only it uses may be removed`);
      if (report.dryRun && report.remove.length > 0) ctx.out("run again without --dry-run to remove them");
    });
}
