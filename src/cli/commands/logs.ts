/**
 * `hypha logs ID [-f]`: a deployment's output, fetched from the agents of the nodes its replicas
 * are placed on (the endpoint each node registered on-chain), once or following it. Logs are not on-chain; jobs' output
 * hashes are, and `hypha audit` checks those.
 */
import type { Command } from "commander";
import type { Hex } from "viem";
import { readNode } from "../../chain/nodes";
import { deploymentStatusName, readDeployment, readReplicas, replicaStatusName } from "../../chain/deployments";
import { HyphaError } from "../../errors";
import type { CliContext } from "../context";
import { parseIntIn } from "../amounts";
import { parseOutputFormat, toJson } from "../output";
import { resolveDeploymentRef } from "../deploymentRef";


/** Where one replica's log is read from, and how far it has been read. */
interface Follower {
  index: number;
  nodeId: number;
  attempt: number;
  url: string;
  offset: number;
  decoder: TextDecoder;
  partial: string;
}

/** Registers `hypha logs`. */
export function registerLogs(program: Command, ctx: CliContext): void {
  program
    .command("logs <ref>")
    .description("print a deployment's replica output, from the agents running it")
    .option("--replica <n>", "only this replica index")
    .option("--stdout", "only stdout (default: stdout, then stderr)")
    .option("--stderr", "only stderr")
    .option("--tail <n>", "only the last N lines of each stream")
    .option("-f, --follow", "keep printing new output (and follow replicas to new nodes) until Ctrl-C or the deployment ends (stdout unless --stderr)")
    .option("-o, --output <format>", "text (default) or json")
    .addHelpText("after", "\nExample:\n  $ hypha logs deterministic-app --replica 0\n  $ hypha logs sum-of-squares --tail 5\n  $ hypha logs 0x3f2ac1 -f")
    .action(async (ref: string, o: Record<string, string | boolean>) => {
      const id = (await resolveDeploymentRef(ctx, ref)).id;
      const only = o.replica === undefined ? undefined : parseIntIn("--replica", String(o.replica), 0, 65535);
      const tail = o.tail === undefined ? undefined : parseIntIn("--tail", String(o.tail), 0, 1_000_000);
      const json = parseOutputFormat(o.output as string | undefined, ["table", "json"]) === "json";
      if (o.stdout && o.stderr) throw new HyphaError("--stdout, --stderr: give one of them (neither prints both)");
      const streams = o.stderr ? ["stderr"] : o.stdout || o.follow ? ["stdout"] : ["stdout", "stderr"];
      const addresses = await ctx.addresses();
      const replicas = await readReplicas(ctx.publicClient, addresses, id);
      if (replicas.length === 0) throw new HyphaError(`deployment ${id}: not found on this chain`);
      if (o.follow) return follow(ctx, id, only, streams[0]);
      const records: Array<{ replica: number; status: string; nodeId: number | null; stream: string; lines: string[] | null; error?: string }> = [];
      for (const r of replicas) {
        if (only !== undefined && r.index !== only) continue;
        const status = replicaStatusName(r.status);
        const header = `--- replica ${r.index} (${status}) on node ${r.nodeId || "-"}`;
        if (!r.nodeId) {
          records.push({ replica: r.index, status, nodeId: null, stream: streams[0], lines: null, error: "not placed" });
          if (!json) ctx.out(`${header}: not placed`);
          continue;
        }
        const node = await readNode(ctx.publicClient, addresses, r.nodeId);
        let printedHeader = false;
        for (const stream of streams) {
          const url = `${node.endpoint.replace(/\/+$/, "")}/v1/replicas/${id}/${r.index}/logs?stream=${stream}`;
          let lines: string[] | null = null;
          let error: string | undefined;
          try {
            const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
            if (res.ok) {
              const text = (await res.text()).replace(/\n$/, "");
              lines = text === "" ? [] : text.split("\n");
              if (tail !== undefined) lines = tail === 0 ? [] : lines.slice(-tail);
            } else error = `agent answered ${res.status}`;
          } catch {
            error = `agent at ${node.endpoint} does not answer`;
          }
          records.push({ replica: r.index, status, nodeId: r.nodeId, stream, lines, ...(error ? { error } : {}) });
          if (json) continue;
          if (!printedHeader) ctx.out(`${header} (${node.endpoint})`);
          printedHeader = true;
          if (error) {
            ctx.out(`(${error})`);
            break;
          }
          if (stream === "stderr" && streams.length > 1) {
            if (lines!.length) ctx.out(`--- replica ${r.index} stderr`);
            if (lines!.length) ctx.out(lines!.join("\n"));
          } else ctx.out(lines!.length ? lines!.join("\n") : "(no output yet)");
        }
      }
      if (json) ctx.out(toJson({ id, logs: records }));
    });
}

/**
 * `logs -f`: every second, the bytes each replica's agent wrote since the last read, whole lines
 * only, prefixed with the replica when there are several; a replica placed again (another node or
 * attempt) is followed there from its start. Ends on Ctrl-C or when the deployment has ended.
 */
async function follow(ctx: CliContext, id: Hex, only: number | undefined, stream: string): Promise<void> {
  const addresses = await ctx.addresses();
  const followers = new Map<number, Follower>();
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    for (let round = 0; !stop; round++) {
      const ended = ["Completed", "Terminated", "Failed"].includes(deploymentStatusName((await readDeployment(ctx.publicClient, addresses, id)).status));
      const replicas = (await readReplicas(ctx.publicClient, addresses, id)).filter((r) => r.nodeId && (only === undefined || r.index === only));
      for (const r of replicas) {
        const f = followers.get(r.index);
        if (f && f.nodeId === r.nodeId && f.attempt === r.attempt) continue;
        const node = await readNode(ctx.publicClient, addresses, r.nodeId);
        if (f) ctx.out(`--- replica ${r.index} placed again: node ${r.nodeId}, attempt ${r.attempt}`);
        followers.set(r.index, {
          index: r.index,
          nodeId: r.nodeId,
          attempt: r.attempt,
          url: `${node.endpoint.replace(/\/+$/, "")}/v1/replicas/${id}/${r.index}/logs?stream=${stream}`,
          offset: 0,
          decoder: new TextDecoder(),
          partial: "",
        });
      }
      const prefix = (i: number) => (only === undefined && replicas.length > 1 ? `[replica ${i}] ` : "");
      for (const f of followers.values()) {
        const res = await fetch(`${f.url}&from=${f.offset}`, { signal: AbortSignal.timeout(3_000) }).catch(() => null);
        if (!res?.ok) continue; // the agent is down or has not started it yet: try again next round
        const size = Number(res.headers.get("x-log-size") ?? f.offset);
        const text = f.partial + f.decoder.decode(new Uint8Array(await res.arrayBuffer()), { stream: true });
        f.offset = size;
        const lines = text.split("\n");
        f.partial = lines.pop() ?? "";
        for (const line of lines) ctx.out(prefix(f.index) + line);
      }
      if (ended) {
        for (const f of followers.values()) if (f.partial) ctx.out(prefix(f.index) + f.partial);
        return;
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
