/**
 * `hypha logs REF [-f] [--since D] [--timestamps] [--previous]`: a deployment's output, fetched from
 * the agents of the nodes its replicas are placed on (the endpoint each node registered on-chain),
 * once or following it; stdout and stderr merged in the order the agent saw them written
 * (logLines.ts). Logs are not on-chain; jobs' output hashes are, and `hypha audit` checks those.
 */
import type { Command } from "commander";
import type { Hex } from "viem";
import { readNode } from "../../chain/nodes";
import { deploymentStatusName, readDeployment, readDeploymentEvents, readReplicas, replicaStatusName } from "../../chain/deployments";
import { HyphaError } from "../../errors";
import type { CliContext } from "../context";
import { parseIntIn } from "../amounts";
import { emitAs, parseOutputFormat } from "../output";
import { formatLine, mergeByTime, parseDuration, parseRfc3339, parseStamped, type LogLine } from "../logLines";
import { resolveDeploymentRef } from "../deploymentRef";
import { untilInterrupted } from "../untilInterrupted";

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

/** Where and how one replica's log is asked for. */
interface LogQuery {
  timestamps: boolean;
  /** Epoch ms: only lines written since. */
  since?: number;
}

/** One replica's output, as `-o json|yaml` prints it. */
interface ReplicaLog {
  replica: number;
  attempt: number;
  status: string;
  nodeId: number | null;
  endpoint: string | null;
  lines: LogLine[];
  error?: string;
}

/** Registers `hypha logs`. */
export function registerLogs(program: Command, ctx: CliContext): void {
  program
    .command("logs <ref>")
    .description("print a deployment's replica output (stdout and stderr merged in the order written), from the agents running it")
    .option("--replica <n>", "only this replica index")
    .option("--stdout", "only stdout")
    .option("--stderr", "only stderr")
    .option("--tail <n>", "only the last N lines of each replica")
    .option("--since <duration>", "only lines written in the last DURATION, e.g. 30s, 5m, 1h30m")
    .option("--since-time <time>", "only lines written since this RFC 3339 time, e.g. 2026-01-01T12:00:00Z")
    .option("--timestamps", "put the time each line was written (RFC 3339, as the agent saw it) before it")
    .option("-p, --previous", "the replica's previous attempt (its run on the node it was placed on before), e.g. to see why it failed there")
    .option("-f, --follow", "keep printing new output (and follow replicas to new nodes) until Ctrl-C or the deployment ends (stdout unless --stderr)")
    .option("-o, --output <format>", "text (default), json or yaml")
    .addHelpText(
      "after",
      "\nExample:\n  $ hypha logs deterministic-app --replica 0\n  $ hypha logs sum-of-squares --tail 5 --timestamps\n  $ hypha logs my-job --previous\n  $ hypha logs 0x3f2ac1 -f --since 10m",
    )
    .action(async (ref: string, o: Record<string, string | boolean>) => {
      const only = o.replica === undefined ? undefined : parseIntIn("--replica", String(o.replica), 0, 65535);
      const tail = o.tail === undefined ? undefined : parseIntIn("--tail", String(o.tail), 0, 1_000_000);
      const format = parseOutputFormat(o.output as string | undefined, ["table", "json", "yaml"]);
      if (o.stdout && o.stderr) throw new HyphaError("--stdout, --stderr: give one of them (neither prints both)");
      if (o.since !== undefined && o.sinceTime !== undefined) throw new HyphaError("--since, --since-time: give one of them");
      if (o.previous && o.follow) throw new HyphaError("--previous, --follow: a previous attempt has ended, there is nothing to follow; give one of them");
      const since =
        o.since !== undefined
          ? Date.now() - parseDuration("--since", String(o.since))
          : o.sinceTime !== undefined
            ? parseRfc3339("--since-time", String(o.sinceTime))
            : undefined;
      const query: LogQuery = { timestamps: Boolean(o.timestamps), since };
      const resource = await resolveDeploymentRef(ctx, ref);
      const id = resource.id;
      const streams: LogLine["stream"][] = o.stderr ? ["stderr"] : o.stdout || o.follow ? ["stdout"] : ["stdout", "stderr"];
      const addresses = await ctx.addresses();
      const replicas = await readReplicas(ctx.publicClient, addresses, id);
      if (replicas.length === 0) throw new HyphaError(`deployment ${id}: not found on this chain`);
      if (only !== undefined && !replicas.some((r) => r.index === only))
        throw new HyphaError(`--replica: ${resource.name ?? id} has replicas 0..${replicas.length - 1}, got ${only}`);
      if (o.follow) return follow(ctx, id, only, streams[0], query);
      const chosen = replicas.filter((r) => only === undefined || r.index === only);
      // --previous: the attempt before the current one, on the node the chain placed it on then.
      const placements = o.previous ? await previousPlacements(ctx, resource.submitted.block, id) : undefined;
      if (placements && chosen.every((r) => r.attempt <= 1)) {
        throw new HyphaError(
          `--previous: ${only === undefined ? `no replica of ${resource.name ?? id} has a` : `replica ${only} of ${resource.name ?? id} has no`} previous attempt`,
          {
            details: "each replica is on its first placement; `hypha logs` without --previous shows it",
          },
        );
      }
      const records: ReplicaLog[] = [];
      for (const r of chosen) {
        const attempt = placements ? r.attempt - 1 : r.attempt;
        const before = placements?.get(`${r.index}/${attempt}`);
        const nodeId = placements ? (before?.nodeId ?? 0) : r.nodeId;
        const status = placements ? (before?.status ?? "Unknown") : replicaStatusName(r.status);
        const base = { replica: r.index, attempt, status, nodeId: nodeId || null, endpoint: null as string | null, lines: [] as LogLine[] };
        if (placements && attempt < 1) {
          records.push({ ...base, error: "no previous attempt" });
          continue;
        }
        if (!nodeId) {
          records.push({ ...base, error: "not placed" });
          continue;
        }
        const endpoint = (await readNode(ctx.publicClient, addresses, nodeId)).endpoint;
        const fetched = await Promise.all(streams.map((stream) => fetchLines(endpoint, id, r.index, attempt, stream, query)));
        const failed = fetched.find((f) => f.error);
        let lines = mergeByTime(fetched.map((f) => f.lines));
        if (tail !== undefined) lines = tail === 0 ? [] : lines.slice(-tail);
        records.push({ ...base, endpoint, lines, ...(failed ? { error: failed.error } : {}) });
      }
      emitAs(ctx.out, format, { id, name: resource.name, logs: records }, () => renderLogs(records, query.timestamps, Boolean(placements)));
    });
}

/** The text form: a header per replica, then its lines. */
function renderLogs(records: ReplicaLog[], timestamps: boolean, previous: boolean): string {
  const out: string[] = [];
  for (const r of records) {
    const header = `--- replica ${r.replica} (${previous ? `previous attempt ${r.attempt}, ${r.status}` : r.status}) on node ${r.nodeId ?? "-"}`;
    if (r.error && !r.endpoint) {
      out.push(`${header}: ${r.error}`);
      continue;
    }
    out.push(`${header} (${r.endpoint})`);
    if (r.error) out.push(`(${r.error})`);
    else if (r.lines.length === 0) out.push("(no output)");
    for (const l of r.lines) out.push(formatLine(l, timestamps));
  }
  return out.join("\n");
}

/** Node and last status of each placement `index/attempt`, from the deployment's events. */
async function previousPlacements(ctx: CliContext, submittedBlock: string, id: Hex): Promise<Map<string, { nodeId: number; status: string }>> {
  const addresses = await ctx.addresses();
  const events = await readDeploymentEvents(ctx.publicClient, { ...addresses, deployBlock: BigInt(submittedBlock) }, id);
  const placements = new Map<string, { nodeId: number; status: string }>();
  const current = new Map<number, string>(); // replica index -> its placement's key
  for (const e of events) {
    if (e.eventName === "ReplicaScheduled") {
      const key = `${e.args.replicaIndex}/${e.args.attempt}`;
      placements.set(key, { nodeId: e.args.nodeId, status: "Scheduled" });
      current.set(e.args.replicaIndex, key);
    } else if (e.eventName === "ReplicaStatusChanged" && current.has(e.args.replicaIndex) && replicaStatusName(e.args.to) !== "Pending") {
      // (back to Pending is the queue for the next attempt: the placement ended in the status before it)
      placements.get(current.get(e.args.replicaIndex)!)!.status = replicaStatusName(e.args.to);
    }
  }
  return placements;
}

/** One stream of one placement's run, stamped, from its node's agent. */
async function fetchLines(
  endpoint: string,
  id: Hex,
  index: number,
  attempt: number,
  stream: LogLine["stream"],
  query: LogQuery,
): Promise<{ lines: LogLine[]; error?: string }> {
  const url = `${endpoint.replace(/\/+$/, "")}/v1/replicas/${id}/${index}/logs?stream=${stream}&attempt=${attempt}&timestamps=true${query.since !== undefined ? `&since=${new Date(query.since).toISOString()}` : ""}`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (res.status === 404) return { lines: [], error: `the agent has no run of attempt ${attempt} (it may not have started yet, or its files were removed)` };
    if (!res.ok) return { lines: [], error: `agent answered ${res.status}` };
    return { lines: parseStamped(await res.text(), stream) };
  } catch {
    return { lines: [], error: `agent at ${endpoint} does not answer` };
  }
}

/**
 * `logs -f`: every second, the bytes each replica's agent wrote since the last read, whole lines
 * only, prefixed with the replica when there are several; a replica placed again (another node or
 * attempt) is followed there from its start. Ends on Ctrl-C or when the deployment has ended.
 */
async function follow(ctx: CliContext, id: Hex, only: number | undefined, stream: string, query: LogQuery): Promise<void> {
  const addresses = await ctx.addresses();
  const followers = new Map<number, Follower>();
  await untilInterrupted(async (stopped) => {
    while (!stopped()) {
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
          // stamped reads answer whole lines only, so no line is split across reads
          url: `${node.endpoint.replace(/\/+$/, "")}/v1/replicas/${id}/${r.index}/logs?stream=${stream}&attempt=${r.attempt}${query.timestamps ? "&timestamps=true" : ""}${query.since !== undefined ? `&since=${new Date(query.since).toISOString()}` : ""}`,
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
  });
}
