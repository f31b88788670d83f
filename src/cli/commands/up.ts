/**
 * `hypha up`: the whole system on this machine (local chain, contracts, store, staked nodes with
 * agents, watcher), until Ctrl-C. See src/cli/up/up.ts.
 */
import path from "node:path";
import type { Command } from "commander";
import { autoRuntime, parseRuntimeChoice } from "../../agent/runtime/registry";
import { HyphaError } from "../../errors";
import type { CliContext } from "../context";
import { parseIntIn } from "../amounts";

/** Registers `hypha up`. */
export function registerUp(program: Command, ctx: CliContext): void {
  program
    .command("up")
    .description("start a local chain, the contracts, a store, N staked nodes with agents, the watcher and the REST API")
    .option("--nodes <n>", "how many nodes", "3")
    .option("--dir <dir>", "state and logs", ".hypha")
    .option("--chain-port <port>", "local chain JSON-RPC port", "8545")
    .option("--store-port <port>", "store port", "7700")
    .option("--watcher-port <port>", "watcher status API port", "7790")
    .option("--api-port <port>", "REST API and dashboard port", "7780")
    .option("--agent-ports <ports>", "agents' HTTP ports, comma-separated (default 7801,7802,…)")
    .option(
      "--runtime <driver>",
      "the agents' runtime: auto (the strongest sandbox here: bwrap, else unshare), bwrap, unshare, or process (UNISOLATED, development only)",
      "auto",
    )
    .option("--restart-backoff-ms <ms>", "agents' restart backoff base (Kubernetes: 10000)", "10000")
    .option("--node-lost-after-ms <ms>", "watcher: a node not answering this long is lost (agents' leases are sized under it)", "5000")
    .addHelpText("after", "\nExample:\n  $ hypha up            # Ctrl-C stops everything\n  $ hypha up --nodes 2")
    .action(async (o: Record<string, string | boolean>) => {
      const projectDir = path.resolve(__dirname, "../../..");
      // Whoever started us may be gone (a closed pipe): still stop every child cleanly on a signal.
      for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
      const runtime = parseRuntimeChoice(String(o.runtime), "--runtime");
      if (runtime === "auto") {
        const { name, skipped } = autoRuntime();
        if (!name)
          throw new HyphaError(`--runtime auto: no sandbox can run on this machine (${skipped.join("; ")})`, {
            details: "install bubblewrap, or run as root (util-linux namespaces); --runtime process runs workloads UNISOLATED",
          });
        ctx.out(`runtime: ${name} (auto: the strongest sandbox available here${skipped.length ? `; ${skipped.join("; ")}` : ""})`);
      } else if (runtime === "process") {
        ctx.err("\n!!! WARNING: --runtime process: workloads run UNISOLATED as plain host processes (development only). !!!\n");
      } else ctx.out(`runtime: ${runtime}`);
      const nodes = parseIntIn("--nodes", String(o.nodes), 1, 3);
      const { startUp } = require("../up/up") as typeof import("../up/up");
      const handle = await startUp(
        {
          projectDir,
          hyphaDir: path.resolve(String(o.dir)),
          nodes,
          chainPort: parseIntIn("--chain-port", String(o.chainPort), 1, 65535),
          storePort: parseIntIn("--store-port", String(o.storePort), 1, 65535),
          watcherPort: parseIntIn("--watcher-port", String(o.watcherPort), 1, 65535),
          apiPort: parseIntIn("--api-port", String(o.apiPort), 1, 65535),
          agentPorts: parseAgentPorts(o.agentPorts === undefined ? undefined : String(o.agentPorts), nodes),
          runtime,
          restartBackoffMs: parseIntIn("--restart-backoff-ms", String(o.restartBackoffMs), 1, 3_600_000),
          nodeLostAfterMs: parseIntIn("--node-lost-after-ms", String(o.nodeLostAfterMs), 100, 3_600_000),
        },
        (line) => ctx.out(line),
      );
      ctx.out(
        `hypha up: ready — chain ${handle.state.rpcUrl}, store ${handle.state.storeUrl}, ${nodes} nodes, watcher ${handle.state.watcherUrl}, API and dashboard ${handle.state.apiUrl}; logs in ${path.join(String(o.dir), "logs")}; Ctrl-C stops`,
      );
      const signal = new Promise<string>((resolve) => {
        process.once("SIGINT", () => resolve("SIGINT"));
        process.once("SIGTERM", () => resolve("SIGTERM"));
      });
      // A child that dies (the demo kills an agent on purpose) is reported, not fatal: the watcher re-places its replicas.
      void watchCrashes(handle.crashed, ctx);
      const why = await signal;
      ctx.out(`hypha up: ${why}, stopping…`);
      await handle.stop();
      ctx.out("hypha up: stopped");
    });
}

function parseAgentPorts(text: string | undefined, nodes: number): number[] {
  if (text === undefined) return Array.from({ length: nodes }, (_, i) => 7801 + i);
  const ports = text.split(",").map((p) => parseIntIn("--agent-ports", p, 1, 65535));
  if (ports.length !== nodes) throw new HyphaError(`--agent-ports: ${nodes} node(s) need ${nodes} port(s), got ${ports.length}`);
  return ports;
}

async function watchCrashes(crashed: Promise<string>, ctx: CliContext): Promise<void> {
  const name = await crashed;
  ctx.err(`hypha up: ${name} exited; the rest keeps running`);
}
