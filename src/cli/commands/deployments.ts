/**
 * kubectl-style verbs on deployments and nodes: `get deployments|nodes`, `get deployment REF`,
 * `describe deployment REF`, `delete deployment REF` (terminate) and `scale deployment REF
 * --replicas N`, where REF is a name, an id or a unique id prefix (see deploymentRef.ts). The JSON
 * and YAML are the API's shape (src/api/deploymentResource.ts).
 */
import type { Command } from "commander";
import type { Address, Hex } from "viem";
import { deploymentRegistryAbi } from "../../chain/abi";
import type { HyphaAddresses } from "../../chain/addresses";
import { listDeployments, readDeploymentEvents, readReplicas, replicaStatusName, type DeploymentListEntry } from "../../chain/deployments";
import { readIntent } from "../../chain/intents";
import { readDeploymentResources, type DeploymentResource } from "../../api/deploymentResource";
import { resolveDeploymentRef } from "../deploymentRef";
import { listNodes } from "../../chain/nodes";
import { readNodeResources } from "../../api/nodeResource";
import { sendContractTx } from "../../chain/tx";
import { HyphaError } from "../../errors";
import { LIMITS } from "../../spec/limits";
import { formatTokens, parseIntIn } from "../amounts";
import type { CliContext } from "../context";
import { emitAs, OUTPUT_HELP, parseOutputFormat, renderTable, type OutputFormat } from "../output";
import { chainEventRows, nowRows } from "../describeEvents";
import { approvedNodes, pendingReasons } from "../schedulingReason";
import { agentReplicaStatus } from "../agentStatus";
import { untilInterrupted } from "../untilInterrupted";

/** Parses a deployment id argument. */
export function parseDeploymentId(text: string): Hex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(text)) throw new HyphaError(`ID: a deployment id is 0x followed by 64 hex digits, got ${JSON.stringify(text)}`);
  return text.toLowerCase() as Hex;
}

function emit(ctx: CliContext, format: OutputFormat, data: unknown, table: () => string, names: () => string[] = () => []) {
  emitAs((t) => ctx.print(t), format, data, table, names);
}

/** Every deployment on the chain as resources, oldest first. */
export async function allDeploymentResources(ctx: CliContext, addresses: HyphaAddresses): Promise<DeploymentResource[]> {
  const list = await listDeployments(ctx.publicClient, addresses);
  return readDeploymentResources(ctx.publicClient, addresses, list, ctx.specNames());
}

/** The short id the tables print: accepted back as a unique prefix. */
export function shortId(id: string): string {
  return id.slice(0, 12);
}

/** `get deployments` table (wide adds columns). */
export function deploymentTable(list: DeploymentResource[], format: OutputFormat): string {
  if (list.length === 0) return "No deployments.";
  return renderTable(
    list.map((r) => ({
      NAME: r.name ?? "-",
      ID: format === "wide" ? r.id : shortId(r.id),
      STATUS: r.phase,
      KIND: r.kind,
      READY: `${r.replicas.running}/${r.replicas.desired}`,
      ...(format === "wide" ? { REASON: r.reason, "CHAIN STATUS": r.status } : {}),
      DEPLOYER: format === "wide" ? r.deployer : `${r.deployer.slice(0, 10)}…`,
      BLOCK: r.submitted.block,
      ...(format === "wide" ? { SPEC: r.intent.specHash, IMAGE: r.intent.imageRoot, ESCROW: formatTokens(BigInt(r.escrow)), RETRIES: r.retriesLeft } : {}),
    })),
  );
}

/** `-o name` lines. */
export const deploymentNames = (list: DeploymentResource[]) => list.map((r) => `deployment/${r.name ?? r.id}`);

/** Prints nodes (shared by `get nodes` and `node list`): the API's shape, with the agents' liveness. */
export async function printNodes(ctx: CliContext, output: string | undefined): Promise<void> {
  const format = parseOutputFormat(output);
  const nodes = await readNodeResources(ctx.publicClient, await ctx.addresses());
  emit(
    ctx,
    format,
    { nodes },
    () => {
      if (nodes.length === 0) return "No nodes registered.";
      return renderTable(
        nodes.map((n) => ({
          ID: n.id,
          STATE: n.state,
          AGENT: n.liveness.reachable ? "Reachable" : "Unreachable",
          "LAST ATTESTED": n.liveness.lastAttestation ? `${age(Date.parse(n.liveness.checkedAt) - Date.parse(n.liveness.lastAttestation))} ago` : "never",
          "CPU FREE/TOTAL": `${n.free.cpuMillis}m/${n.capacity.cpuMillis}m`,
          "MEM FREE/TOTAL": `${n.free.memoryMiB}Mi/${n.capacity.memoryMiB}Mi`,
          SLOTS: `${n.free.slots}/${n.capacity.slots}`,
          PRICE: formatTokens(BigInt(n.pricePerSecond)) + "/s",
          STAKE: formatTokens(BigInt(n.stake)),
          ...(format === "wide"
            ? { OPERATOR: n.operator, "AGENT KEY": n.agent, DISK: `${n.free.diskMiB}Mi/${n.capacity.diskMiB}Mi`, ENDPOINT: n.endpoint }
            : {}),
        })),
      );
    },
    () => nodes.map((n) => `node/${n.id}`),
  );
}

/**
 * A kubectl-style age: the largest unit or two (45s, 3m12s, 2h5m, 4d3h).
 * @example age(192_000) // "3m12s"
 */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ""}`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ""}`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600) ? `${Math.floor((s % 86_400) / 3600)}h` : ""}`;
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
    .argument("[ref]", "a deployment name, id or unique id prefix (default: all)")
    .description("list deployments, or show one")
    .option("-o, --output <format>", OUTPUT_HELP)
    .option("-w, --watch", "keep printing a line whenever a deployment changes (Ctrl-C stops)")
    .addHelpText("after", "\nExample:\n  $ hypha get deployments -o wide\n  $ hypha get deployment deterministic-app -o json\n  $ hypha get deployments -w")
    .action(async (ref: string | undefined, opts: { output?: string; watch?: boolean }) => {
      const format = parseOutputFormat(opts.output);
      const addresses = await ctx.addresses();
      const read = async () => (ref ? [await resolveDeploymentRef(ctx, ref)] : await allDeploymentResources(ctx, addresses));
      const list = await read();
      const data = ref ? list[0] : { total: list.length, deployments: list };
      emit(
        ctx,
        format,
        data,
        () => deploymentTable(list, format),
        () => deploymentNames(list),
      );
      if (opts.watch) await watchDeployments(ctx, read, list, format);
    });
  get
    .command("nodes")
    .alias("node")
    .description("list registered nodes")
    .option("-o, --output <format>", OUTPUT_HELP)
    .addHelpText("after", "\nExample:\n  $ hypha get nodes -o wide")
    .action(async (opts: { output?: string }) => printNodes(ctx, opts.output));

  program
    .command("describe")
    .description("show everything the chain knows about a deployment, with its events")
    .argument("<type>", "deployment")
    .argument("<ref>", "deployment name, id or unique id prefix")
    .option("-o, --output <format>", OUTPUT_HELP)
    .addHelpText("after", "\nExample:\n  $ hypha describe deployment deterministic-app\n  $ hypha describe deployment 0x5c0e41a2")
    .action(async (type: string, ref: string, opts: { output?: string }) => {
      requireDeploymentType(type);
      const format = parseOutputFormat(opts.output);
      const d = await resolveDeploymentRef(ctx, ref);
      const id = d.id;
      const addresses = await ctx.addresses();
      const [replicas, events, nodes] = await Promise.all([
        readReplicas(ctx.publicClient, addresses, id),
        readDeploymentEvents(ctx.publicClient, addresses, id),
        listNodes(ctx.publicClient, addresses),
      ]);
      const onNodes = await agentReplicaStatus(id, replicas, new Map(nodes.map((n) => [n.id, n.endpoint])));
      const pendingIdx =
        d.phase === "Requested" || d.phase === "Scheduled" || d.phase === "Running"
          ? replicas.filter((r) => replicaStatusName(r.status) === "Pending").map((r) => r.index)
          : [];
      const pending = pendingIdx.length
        ? pendingReasons(
            id,
            { ...d.intent, maxPricePerSecond: BigInt(d.intent.maxPricePerSecond) },
            pendingIdx,
            nodes,
            await approvedNodes(ctx.publicClient, addresses, nodes),
          )
        : new Map<number, string>();
      const rows = [...chainEventRows(events), ...nowRows(pending, onNodes, new Map(replicas.map((r) => [r.index, r.nodeId])))];
      const data = {
        ...d,
        agents: Object.fromEntries(onNodes),
        events: rows,
      };
      emit(
        ctx,
        format,
        data,
        () => {
          const lines = [
            `Name:         ${d.name ?? "(not in the store)"}`,
            `Deployment:   ${id}`,
            `Status:       ${d.phase}${d.phase === d.status ? "" : ` (on-chain ${d.status})`}`,
            `Reason:       ${d.reason}: ${d.message}`,
            `Kind:         ${d.kind === "job" ? `job (quorum ${d.intent.quorum})` : "service"}`,
            `Deployer:     ${d.deployer}`,
            `SpecHash:     ${d.intent.specHash}`,
            `ImageRoot:    ${d.intent.imageRoot}`,
            `Replicas:     ${d.replicas.running}/${d.replicas.desired} ready, ${d.replicas.placed} placed`,
            `Resources:    ${d.intent.cpuMillis}m CPU, ${d.intent.memoryMiB}Mi memory, ${d.intent.diskMiB}Mi disk per replica`,
            `Budget:       ${formatTokens(BigInt(d.intent.budget))} (escrow left ${formatTokens(BigInt(d.escrow))}), max ${formatTokens(BigInt(d.intent.maxPricePerSecond))}/s`,
            ...(d.jobResult ? [`Job result:   ${d.jobResult}`] : []),
            `Nonce:        ${d.intent.nonce}`,
            `Deadline:     ${d.intent.deadline} (${new Date(Number(d.intent.deadline) * 1000).toISOString()})`,
            `Retries left: ${d.retriesLeft} of ${d.intent.maxRetries}`,
            `Submitted:    block ${d.submitted.block}, tx ${d.submitted.transactionHash}`,
            ...(d.terminated
              ? [
                  `Terminated:   block ${d.terminated.block} by ${d.terminated.by}, ${formatTokens(BigInt(d.terminated.paidToNodes))} paid to nodes, ${formatTokens(BigInt(d.terminated.refunded))} refunded`,
                ]
              : []),
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
            rows.length
              ? renderTable(rows.map((r) => ({ TYPE: r.type, REASON: r.reason, AT: r.at, FROM: r.from, MESSAGE: r.message })))
                  .split("\n")
                  .map((l) => `  ${l}`)
                  .join("\n")
              : "  (none)",
          ];
          return lines.join("\n");
        },
        () => deploymentNames([d]),
      );
    });

  program
    .command("delete")
    .description("terminate a deployment (the deployer, or anyone once it is finished or out of budget)")
    .argument("<type>", "deployment")
    .argument("<ref>", "deployment name, id or unique id prefix")
    .option("-o, --output <format>", OUTPUT_HELP)
    .addHelpText("after", "\nExample:\n  $ hypha delete deployment deterministic-app")
    .action(async (type: string, ref: string, opts: { output?: string }) => {
      requireDeploymentType(type);
      const format = parseOutputFormat(opts.output);
      const d = await resolveDeploymentRef(ctx, ref);
      const addresses = await ctx.addresses();
      const { intent } = await readIntent(ctx.publicClient, addresses, d.id, { before: BigInt(d.submitted.block) });
      const clients = await ctx.txClients();
      const { hash } = await sendContractTx(
        clients,
        { address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "terminate", args: [intent] },
        `terminating ${d.id}`,
      );
      const [after] = await readDeploymentResources(ctx.publicClient, addresses, [await entryOf(ctx, d.id)], ctx.specNames());
      emit(
        ctx,
        format,
        { ...after, transactionHash: hash },
        () => `deployment ${d.name ?? d.id} (${d.id}) deleted: ${after.message}  tx ${hash}`,
        () => deploymentNames([after]),
      );
    });

  program
    .command("scale")
    .description("change a deployment's replica count (deployer only)")
    .argument("<type>", "deployment")
    .argument("<ref>", "deployment name, id or unique id prefix")
    .requiredOption("--replicas <n>", "new replica count")
    .option("-o, --output <format>", OUTPUT_HELP)
    .addHelpText("after", "\nExample:\n  $ hypha scale deployment deterministic-app --replicas 3")
    .action(async (type: string, ref: string, opts: { replicas: string; output?: string }) => {
      requireDeploymentType(type);
      const format = parseOutputFormat(opts.output);
      const replicas = parseIntIn("--replicas", opts.replicas, 1, LIMITS.maxReplicas);
      const d = await resolveDeploymentRef(ctx, ref);
      const id = d.id;
      const addresses = await ctx.addresses();
      const { intent } = await readIntent(ctx.publicClient, addresses, id, { before: BigInt(d.submitted.block) });
      const clients = await ctx.txClients();
      const { hash } = await sendContractTx(
        clients,
        { address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "scale", args: [intent, replicas] },
        `scaling ${id}`,
      );
      const [after] = await readDeploymentResources(ctx.publicClient, addresses, [await entryOf(ctx, id)], ctx.specNames());
      emit(
        ctx,
        format,
        { ...after, transactionHash: hash },
        () => `deployment ${d.name ?? id} (${id}) scaled to ${replicas} replicas  tx ${hash}`,
        () => deploymentNames([after]),
      );
    });
}

/** The IntentSubmitted entry of `id` (for re-reading a resource after a change). */
async function entryOf(ctx: CliContext, id: Hex): Promise<DeploymentListEntry> {
  const addresses = await ctx.addresses();
  const s = await readIntent(ctx.publicClient, addresses, id);
  return { id, deployer: s.intent.deployer, intent: s.intent, signature: s.signature, blockNumber: s.blockNumber, transactionHash: s.transactionHash };
}

/**
 * `get deployments -w`: re-reads every second and prints a row (or a JSON/YAML document) for each
 * deployment whose status, readiness or reason changed, until Ctrl-C.
 */
async function watchDeployments(ctx: CliContext, read: () => Promise<DeploymentResource[]>, first: DeploymentResource[], format: OutputFormat): Promise<void> {
  const key = (r: DeploymentResource) => `${r.phase}|${r.status}|${r.replicas.running}/${r.replicas.desired}|${r.reason}`;
  const last = new Map(first.map((r) => [r.id, key(r)]));
  await untilInterrupted(async (stopped) => {
    while (!stopped()) {
      await new Promise((r) => setTimeout(r, 1_000));
      if (stopped()) break;
      const changed = (await read()).filter((r) => last.get(r.id) !== key(r));
      for (const r of changed) last.set(r.id, key(r));
      if (changed.length === 0) continue;
      if (format === "json") for (const r of changed) ctx.print(JSON.stringify(r));
      else
        emit(
          ctx,
          format,
          changed,
          () => deploymentTable(changed, format).split("\n").slice(1).join("\n"),
          () => deploymentNames(changed),
        );
    }
  });
}

function requireDeploymentType(type: string): void {
  if (!["deployment", "deployments", "deploy"].includes(type)) throw new HyphaError(`TYPE: only "deployment" is supported here, got ${JSON.stringify(type)}`);
}
