/**
 * kubectl-style verbs on deployments and nodes: `get deployments|nodes`, `describe deployment ID`,
 * `delete deployment ID` (terminate) and `scale deployment ID --replicas N`.
 */
import type { Command } from "commander";
import type { Hex } from "viem";
import { deploymentRegistryAbi } from "../../chain/abi";
import type { HyphaAddresses } from "../../chain/addresses";
import { deploymentStatusName, listDeployments, readDeployment, readDeploymentEvents, readReplicas, replicaStatusName } from "../../chain/deployments";
import { readIntent } from "../../chain/intents";
import { listNodes, type NodeView } from "../../chain/nodes";
import { sendContractTx } from "../../chain/tx";
import { HyphaError } from "../../errors";
import { formatTokens, parseIntIn } from "../amounts";
import type { CliContext } from "../context";
import { parseOutputFormat, renderTable, toJson, toYaml, type OutputFormat } from "../output";
import { describeEvent } from "../progress";
import { agentReplicaStatus } from "../agentStatus";

/** Parses a deployment id argument. */
export function parseDeploymentId(text: string): Hex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(text)) throw new HyphaError(`ID: a deployment id is 0x followed by 64 hex digits, got ${JSON.stringify(text)}`);
  return text.toLowerCase() as Hex;
}

function emit(ctx: CliContext, format: OutputFormat, data: unknown, table: () => string) {
  if (format === "json") ctx.print(toJson(data));
  else if (format === "yaml") ctx.print(toYaml(data));
  else ctx.print(table());
}

/** Rows for `get deployments`. */
async function deploymentRows(ctx: CliContext, addresses: HyphaAddresses) {
  const list = await listDeployments(ctx.publicClient, addresses);
  return Promise.all(
    list.map(async (d) => {
      const view = await readDeployment(ctx.publicClient, addresses, d.id);
      return { ...d, status: deploymentStatusName(view.status), view };
    }),
  );
}

/** Node state word for tables. */
export function nodeState(n: NodeView): string {
  if (n.jailed) return "Jailed";
  if (n.unbondingSince > 0n) return "Unbonding";
  return "Active";
}

/** Prints nodes (shared by `get nodes` and `node list`). */
export async function printNodes(ctx: CliContext, output: string | undefined): Promise<void> {
  const format = parseOutputFormat(output);
  const nodes = await listNodes(ctx.publicClient, await ctx.addresses());
  emit(ctx, format, nodes, () => {
    if (nodes.length === 0) return "No nodes registered.";
    return renderTable(
      nodes.map((n) => ({
        ID: n.id,
        STATE: nodeState(n),
        "CPU FREE/TOTAL": `${n.freeCpuMillis}m/${n.cpuMillis}m`,
        "MEM FREE/TOTAL": `${n.freeMemoryMiB}Mi/${n.memoryMiB}Mi`,
        SLOTS: `${n.freeSlots}/${n.slots}`,
        PRICE: formatTokens(n.pricePerSecond) + "/s",
        STAKE: formatTokens(n.stake),
        ...(format === "wide" ? { OPERATOR: n.operator, AGENT: n.agent, DISK: `${n.freeDiskMiB}Mi/${n.diskMiB}Mi`, ENDPOINT: n.endpoint } : {}),
      })),
    );
  });
}

/** Registers get / describe / delete / scale. */
export function registerDeploymentCommands(program: Command, ctx: CliContext): void {
  const get = program
    .command("get")
    .description("list deployments or nodes")
    .addHelpText("after", "\nExample:\n  $ hypha get deployments\n  $ hypha get nodes -o wide");
  get
    .command("deployments")
    .alias("deployment")
    .description("list every deployment on the chain")
    .option("-o, --output <format>", "table (default), wide, json or yaml")
    .addHelpText("after", "\nExample:\n  $ hypha get deployments -o wide")
    .action(async (opts: { output?: string }) => {
      const format = parseOutputFormat(opts.output);
      const rows = await deploymentRows(ctx, await ctx.addresses());
      emit(
        ctx,
        format,
        rows.map((r) => ({ id: r.id, status: r.status, deployer: r.deployer, block: r.blockNumber, transactionHash: r.transactionHash, intent: r.intent, onChain: r.view })),
        () =>
          rows.length === 0
            ? "No deployments."
            : renderTable(
                rows.map((r) => ({
                  ID: format === "wide" ? r.id : `${r.id.slice(0, 18)}…`,
                  STATUS: r.status,
                  KIND: r.view.kind === 1 ? "job" : "service",
                  READY: `${r.view.running}/${r.view.replicas}`,
                  DEPLOYER: format === "wide" ? r.deployer : `${r.deployer.slice(0, 10)}…`,
                  BLOCK: String(r.blockNumber),
                  ...(format === "wide"
                    ? { SPEC: r.intent.specHash, IMAGE: r.intent.imageRoot, ESCROW: formatTokens(r.view.escrow), RETRIES: r.view.retriesLeft }
                    : {}),
                })),
              ),
      );
    });
  get
    .command("nodes")
    .alias("node")
    .description("list registered nodes")
    .option("-o, --output <format>", "table (default), wide, json or yaml")
    .addHelpText("after", "\nExample:\n  $ hypha get nodes -o wide")
    .action(async (opts: { output?: string }) => printNodes(ctx, opts.output));

  program
    .command("describe")
    .description("show everything the chain knows about a deployment")
    .argument("<type>", "deployment")
    .argument("<id>", "deployment id (0x…)")
    .option("-o, --output <format>", "text (default), json or yaml")
    .addHelpText("after", "\nExample:\n  $ hypha describe deployment 0x5c0e…")
    .action(async (type: string, idText: string, opts: { output?: string }) => {
      requireDeploymentType(type);
      const format = parseOutputFormat(opts.output === "text" ? undefined : opts.output, ["table", "json", "yaml"]);
      const id = parseDeploymentId(idText);
      const addresses = await ctx.addresses();
      const submitted = await readIntent(ctx.publicClient, addresses, id);
      const [view, replicas, events] = await Promise.all([
        readDeployment(ctx.publicClient, addresses, id),
        readReplicas(ctx.publicClient, addresses, id),
        readDeploymentEvents(ctx.publicClient, addresses, id),
      ]);
      const nodes = await listNodes(ctx.publicClient, addresses);
      const onNodes = await agentReplicaStatus(id, replicas, new Map(nodes.map((n) => [n.id, n.endpoint])));
      const data = {
        id,
        status: deploymentStatusName(view.status),
        agents: Object.fromEntries(onNodes),
        intent: submitted.intent,
        signature: submitted.signature,
        submitted: { block: submitted.blockNumber, transactionHash: submitted.transactionHash, relayer: submitted.relayer },
        onChain: view,
        replicas: replicas.map((r) => ({ ...r, statusName: replicaStatusName(r.status) })),
        events: events.map((e) => ({ event: e.eventName, block: e.blockNumber, transactionHash: e.transactionHash, args: e.args })),
      };
      emit(ctx, format, data, () => {
        const i = submitted.intent;
        const lines = [
          `Deployment:   ${id}`,
          `Status:       ${data.status}`,
          `Kind:         ${i.kind === 1 ? `job (quorum ${i.quorum})` : "service"}`,
          `Deployer:     ${i.deployer}`,
          `SpecHash:     ${i.specHash}`,
          `ImageRoot:    ${i.imageRoot}`,
          `Replicas:     ${view.running}/${view.replicas} ready (intent asked ${i.replicas})`,
          `Resources:    ${i.cpuMillis}m CPU, ${i.memoryMiB}Mi memory, ${i.diskMiB}Mi disk per replica`,
          `Budget:       ${formatTokens(i.budget)} (escrow left ${formatTokens(view.escrow)}), max ${formatTokens(i.maxPricePerSecond)}/s`,
          `Nonce:        ${i.nonce}`,
          `Deadline:     ${i.deadline} (${new Date(Number(i.deadline) * 1000).toISOString()})`,
          `Retries left: ${view.retriesLeft} of ${i.maxRetries}`,
          `Submitted:    block ${submitted.blockNumber}, tx ${submitted.transactionHash}`,
          "",
          "Replicas:",
          replicas.length
            ? renderTable(
                replicas.map((r) => {
                  const local = onNodes.get(r.index);
                  return {
                    INDEX: r.index,
                    STATUS: replicaStatusName(r.status),
                    NODE: r.nodeId || "-",
                    ATTEMPT: r.attempt,
                    PRICE: `${formatTokens(r.pricePerSecond)}/s`,
                    SINCE: r.since > 0n ? new Date(Number(r.since) * 1000).toISOString() : "-",
                    "AGENT SAYS": local === undefined ? "-" : local === "unreachable" ? "(agent unreachable)" : local.status,
                    RESTARTS: local === undefined || local === "unreachable" ? "-" : local.restarts,
                  };
                }),
              )
                .split("\n")
                .map((l) => `  ${l}`)
                .join("\n")
            : "  (none)",
          "",
          "Events:",
          ...events.map((e) => `  ${describeEvent(e) ?? `block ${e.blockNumber}  ${e.eventName}`}  tx ${e.transactionHash}`),
        ];
        return lines.join("\n");
      });
    });

  program
    .command("delete")
    .description("terminate a deployment (the deployer, or anyone once it is finished or out of budget)")
    .argument("<type>", "deployment")
    .argument("<id>", "deployment id (0x…)")
    .addHelpText("after", "\nExample:\n  $ hypha delete deployment 0x5c0e…")
    .action(async (type: string, idText: string) => {
      requireDeploymentType(type);
      const id = parseDeploymentId(idText);
      const addresses = await ctx.addresses();
      const { intent } = await readIntent(ctx.publicClient, addresses, id);
      const clients = await ctx.txClients();
      const { hash } = await sendContractTx(
        clients,
        { address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "terminate", args: [intent] },
        `terminating ${id}`,
      );
      ctx.print(`deployment ${id} terminated  tx ${hash}`);
    });

  program
    .command("scale")
    .description("change a deployment's replica count (deployer only)")
    .argument("<type>", "deployment")
    .argument("<id>", "deployment id (0x…)")
    .requiredOption("--replicas <n>", "new replica count")
    .addHelpText("after", "\nExample:\n  $ hypha scale deployment 0x5c0e… --replicas 3")
    .action(async (type: string, idText: string, opts: { replicas: string }) => {
      requireDeploymentType(type);
      const id = parseDeploymentId(idText);
      const replicas = parseIntIn("--replicas", opts.replicas, 1, 1000);
      const addresses = await ctx.addresses();
      const { intent } = await readIntent(ctx.publicClient, addresses, id);
      const clients = await ctx.txClients();
      const { hash } = await sendContractTx(
        clients,
        { address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "scale", args: [intent, replicas] },
        `scaling ${id}`,
      );
      ctx.print(`deployment ${id} scaled to ${replicas} replicas  tx ${hash}`);
    });
}

function requireDeploymentType(type: string): void {
  if (!["deployment", "deployments", "deploy"].includes(type)) throw new HyphaError(`TYPE: only "deployment" is supported here, got ${JSON.stringify(type)}`);
}
