/**
 * `hypha logs ID`: a deployment's output, fetched from the agents of the nodes its replicas are
 * placed on (the endpoint each node registered on-chain). Logs are not on-chain; jobs' output
 * hashes are, and `hypha audit` checks those.
 */
import type { Command } from "commander";
import type { Hex } from "viem";
import { readNode } from "../../chain/nodes";
import { readReplicas, replicaStatusName } from "../../chain/deployments";
import { HyphaError } from "../../errors";
import type { CliContext } from "../context";
import { parseIntIn } from "../amounts";

function parseId(text: string): Hex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(text)) throw new HyphaError(`ID: must be a deployment id (0x + 64 hex digits), got ${text}`);
  return text.toLowerCase() as Hex;
}

/** Registers `hypha logs`. */
export function registerLogs(program: Command, ctx: CliContext): void {
  program
    .command("logs <id>")
    .description("print a deployment's replica output, from the agents running it")
    .option("--replica <n>", "only this replica index")
    .option("--stderr", "print stderr instead of stdout")
    .addHelpText("after", "\nExample:\n  $ hypha logs 0x3f…c2 --replica 0")
    .action(async (idText: string, o: Record<string, string | boolean>) => {
      const id = parseId(idText);
      const only = o.replica === undefined ? undefined : parseIntIn("--replica", String(o.replica), 0, 65535);
      const addresses = await ctx.addresses();
      const replicas = await readReplicas(ctx.publicClient, addresses, id);
      if (replicas.length === 0) throw new HyphaError(`deployment ${id}: not found on this chain`);
      for (const r of replicas) {
        if (only !== undefined && r.index !== only) continue;
        const header = `--- replica ${r.index} (${replicaStatusName(r.status)}) on node ${r.nodeId || "-"}`;
        if (!r.nodeId) {
          ctx.out(`${header}: not placed`);
          continue;
        }
        const node = await readNode(ctx.publicClient, addresses, r.nodeId);
        const url = `${node.endpoint.replace(/\/+$/, "")}/v1/replicas/${id}/${r.index}/logs?stream=${o.stderr ? "stderr" : "stdout"}`;
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
          ctx.out(`${header} (${node.endpoint})`);
          ctx.out(res.ok ? (await res.text()).trimEnd() || "(no output yet)" : `(agent answered ${res.status})`);
        } catch {
          ctx.out(`${header}: agent at ${node.endpoint} does not answer`);
        }
      }
    });
}
