/**
 * `hypha apply -f FILE` (declarative, like kubectl apply) and `hypha diff -f FILE`: validate the
 * manifest, resolve the image, build and sign the intent (or take a signed ConfigMap as is), find
 * the deployer's active deployment of the same name, and decide (applyPlan.ts): nothing when it
 * already runs this spec, a scale when only a service's replicas differ, else a new deployment
 * that replaces it (a signed ConfigMap is submitted as signed unless that very intent is active). The plan is printed before any token moves; `--dry-run` prints it with the
 * intent, specHash and estimated cost and sends nothing; `--wait` follows the result.
 */
import type { Command } from "commander";
import { zeroHash, type Address, type Hex } from "viem";
import type { DeploymentIntent } from "../../chain/eip712";
import { deploymentRegistryAbi } from "../../chain/abi";
import { ENDED_PHASES } from "../../chain/deploymentOutcome";
import { listDeployments } from "../../chain/deployments";
import { listNodes } from "../../chain/nodes";
import { compactSignature, computeDeploymentId, domainFor, signIntent } from "../../chain/signing";
import { sendContractTx, sendContractTxWithAllowance } from "../../chain/tx";
import { readIntent } from "../../chain/intents";
import { readDeploymentResources } from "../../api/deploymentResource";
import { HyphaError } from "../../errors";
import { StoreClient } from "../../image/storeClient";
import { specFromCanonicalJson, type WorkloadSpec } from "../../spec";
import { formatTokens, parseIntIn } from "../amounts";
import { describeAction, diffLines, planApply, type ApplyAction, type ExistingDeployment } from "../applyPlan";
import type { CliContext } from "../context";
import { estimateCost, formatDuration, type CostEstimate } from "../costEstimate";
import { addIntentOptions, applySpecOverrides, imageRootFor, intentForSpec, signedIntentOf, type IntentFlags } from "../intentOptions";
import { OUTPUT_HELP, parseOutputFormat, plain, toJson, toYaml } from "../output";
import { followDeployment } from "../progress";
import { HeadSleeper } from "../../chain/headSleeper";
import { approvedNodes, neverFits } from "../schedulingReason";
import { publishSpecBlob, resolveImageRoot } from "../storeAccess";
import { canonicalSpecJson, computeSpecHash, readWorkloads } from "../workloads";

interface ApplyFlags extends IntentFlags {
  file: string;
  wait?: boolean;
  timeout?: string;
  publish: boolean;
  output?: string;
  dryRun?: boolean;
}

/** One workload of the manifest, decided. */
interface Planned {
  name: string;
  spec: WorkloadSpec;
  intent: DeploymentIntent;
  signature?: Hex;
  specJson: string;
  id: Hex;
  plan: ApplyAction;
  cost: CostEstimate;
}

/** Registers `hypha apply` and `hypha diff`. */
export function registerApply(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("apply")
    .description("create or update deployments from a manifest (signs an intent for each new one)")
    .requiredOption("-f, --file <file>", "manifest file (- for stdin)");
  addIntentOptions(cmd)
    .option("--wait", "follow each deployment until Running (a job: Succeeded); exit 3 with the reason if it ends otherwise")
    .option("--timeout <seconds>", "how long --wait waits", "300")
    .option("--dry-run", "print what would happen, the intent, its specHash and the estimated cost; send nothing")
    .option("--no-publish", "do not publish the spec JSON to the store")
    .option("-o, --output <format>", OUTPUT_HELP)
    .addHelpText(
      "after",
      "\nRe-applying an unchanged manifest does nothing; a changed replica count scales the service; any other\nchange submits a new deployment and then deletes the old one.\n\nExample:\n  $ hypha apply -f examples/deployment.yaml --budget 5 --wait\n  $ hypha apply -f examples/deployment.yaml --dry-run",
    )
    .action(async (flags: ApplyFlags) => {
      const format = parseOutputFormat(flags.output);
      const timeoutS = parseIntIn("--timeout", flags.timeout ?? "300", 1, 86_400);
      const planned = await planManifest(ctx, flags);
      const human = format === "table" || format === "wide";
      if (flags.dryRun) {
        const data = planned.map(dryRunView);
        if (human) for (const p of planned) ctx.print(dryRunText(p));
        else if (format === "name") for (const p of planned) ctx.print(`deployment/${p.name}`);
        else printData(ctx, format, data.length === 1 ? data[0] : data);
        return;
      }
      if (human) for (const p of planned) ctx.print(describeAction(p.plan));
      // Subscribed before anything is sent, so --wait reads the deployment after each block from the first.
      const sleeper = flags.wait ? HeadSleeper.start(ctx.config.rpcUrl) : undefined;
      try {
        await applyAndFollow(ctx, planned, flags, format, human, timeoutS, sleeper);
      } finally {
        await sleeper?.close();
      }
    });

  program
    .command("diff")
    .description("show what `hypha apply -f FILE` would change, field by field; sends nothing")
    .requiredOption("-f, --file <file>", "manifest file (- for stdin)")
    .option("--replicas <n>", "replica count (overrides the manifest)")
    .option("--quorum <n>", "jobs: replicas that must agree on the output")
    .option("-o, --output <format>", "table (default), json or yaml")
    .addHelpText(
      "after",
      "\nExample:\n  $ hypha diff -f examples/deployment.yaml\n  deterministic-app: will scale deployment 0x2684… from 1 to 3 replicas (no new escrow)\n  -  replicas: 1\n  +  replicas: 3",
    )
    .action(async (flags: ApplyFlags) => {
      const format = parseOutputFormat(flags.output, ["table", "json", "yaml"]);
      const planned = await planManifest(ctx, { ...flags, publish: false });
      if (format !== "table")
        return printData(
          ctx,
          format,
          planned.map((p) => ({ name: p.name, action: p.plan.action, existing: "existing" in p.plan ? p.plan.existing.id : null, changes: changesOf(p) })),
        );
      for (const p of planned) {
        ctx.print(describeAction(p.plan));
        for (const l of diffLines(changesOf(p))) ctx.print(l);
      }
    });
}

/** Send what the plans say, print the results, and with --wait follow each deployment. */
async function applyAndFollow(
  ctx: CliContext,
  planned: Planned[],
  flags: ApplyFlags,
  format: ReturnType<typeof parseOutputFormat>,
  human: boolean,
  timeoutS: number,
  sleeper: HeadSleeper | undefined,
): Promise<void> {
  const results = [];
  for (const p of planned) results.push(await execute(ctx, p, flags.publish, human));
  if (format === "name") for (const r of results) ctx.print(`deployment/${r.name}`);
  else if (!human) printData(ctx, format, results.length === 1 ? results[0] : results);
  if (!flags.wait) return;
  const addresses = await ctx.addresses();
  for (const r of results) {
    const print = (l: string) => (human ? ctx.print(`${r.name}: ${l}`) : ctx.err(`${r.name}: ${l}`));
    const needs = planned.find((p) => p.name === r.name)!.intent;
    const unschedulable = async () => {
      const nodes = await listNodes(ctx.publicClient, addresses);
      return neverFits(needs, nodes, await approvedNodes(ctx.publicClient, addresses, nodes));
    };
    const sleep = sleeper ? (ms: number) => sleeper.sleep(ms) : undefined;
    const outcome = await followDeployment(ctx.publicClient, addresses, r.id, { print, timeoutMs: timeoutS * 1000, label: r.name, unschedulable, sleep });
    if (human) ctx.print(`deployment ${r.name} (${r.id}) is ${outcome.phase}: ${outcome.message}`);
  }
}

function changesOf(p: Planned) {
  if (p.plan.action === "replace") return p.plan.changes;
  if (p.plan.action === "scale") return [{ path: "replicas", from: p.plan.from, to: p.plan.to }];
  if (p.plan.action === "create") return [{ path: "(new deployment)", from: undefined, to: p.name }];
  return [];
}

function printData(ctx: CliContext, format: string, data: unknown): void {
  ctx.print(format === "yaml" ? toYaml(data) : toJson(data));
}

/** Validates every workload, builds its intent and decides its action; nothing is sent. */
async function planManifest(ctx: CliContext, flags: ApplyFlags, opts: { needsImage?: boolean } = {}): Promise<Planned[]> {
  const workloads = readWorkloads(flags.file);
  const addresses = await ctx.addresses();
  const domain = domainFor(addresses);
  const pc = ctx.publicClient;
  const latest = await pc.getBlock().catch(() => undefined);
  const now = BigInt(Math.max(Math.floor(Date.now() / 1000), Number(latest?.timestamp ?? 0n)));
  const nodes = await listNodes(pc, addresses);
  const out: Planned[] = [];
  for (const w of workloads) {
    let intent: DeploymentIntent;
    let signature: Hex | undefined;
    let spec: WorkloadSpec;
    if (w.source === "ConfigMap" && w.signed) {
      if (hasIntentFlags(flags))
        throw new HyphaError(`document ${w.document}: a signed ConfigMap is applied as signed; intent flags (--replicas, --budget, ...) cannot change it`);
      ({ intent, signature } = await signedIntentOf(w, domain, pc, flags.file));
      spec = w.spec;
    } else {
      spec = applySpecOverrides(w.spec, flags);
      const account = await ctx.account();
      const imageRoot = opts.needsImage === false ? zeroHash : await imageRootFor(spec, flags, (image) => resolveImageRoot(ctx.config.storeUrl, image));
      intent = intentForSpec(spec, flags, { deployer: account.address, imageRoot, now });
      if (intent.specHash !== computeSpecHash(spec)) throw new Error("specHash changed while building the intent");
    }
    const existing = await activeOfName(ctx, intent.deployer, spec.name);
    const id = computeDeploymentId(domain, intent);
    // A signed intent is applied exactly as signed: it exists already (unchanged) or it is submitted.
    const signedPlan = (): ApplyAction => {
      const same = existing.find((e) => e.resource.id.toLowerCase() === id.toLowerCase());
      return same ? { action: "unchanged", name: spec.name, existing: same.resource } : { action: "create", name: spec.name };
    };
    out.push({
      name: spec.name,
      spec,
      intent,
      signature,
      specJson: canonicalSpecJson(spec),
      id,
      plan: signature ? signedPlan() : planApply(spec, intent.specHash, existing, intent.imageRoot),
      cost: estimateCost(intent, nodes),
    });
  }
  const names = out.map((p) => p.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new HyphaError(`${flags.file}: two workloads are named ${twice}; names identify deployments, so each must be unique`);
  return out;
}

/** The deployer's deployments named `name` that have not ended, with their specs from the store. */
async function activeOfName(ctx: CliContext, deployer: Address, name: string): Promise<ExistingDeployment[]> {
  const addresses = await ctx.addresses();
  const mine = await listDeployments(ctx.publicClient, addresses, { deployer });
  const nameOf = ctx.specNames();
  const names = await Promise.all(mine.map((e) => nameOf(e.intent.specHash)));
  const same = mine.filter((_, i) => names[i] === name);
  const resources = (await readDeploymentResources(ctx.publicClient, addresses, same, nameOf)).filter((r) => !ENDED_PHASES.has(r.phase));
  return Promise.all(
    resources.map(async (resource) => {
      const json = await (async () => new StoreClient([ctx.config.storeUrl]).findSpecJson(resource.intent.specHash))().catch(() => undefined);
      return { resource, spec: json === undefined ? undefined : specFromCanonicalJson(json) };
    }),
  );
}

function dryRunView(p: Planned) {
  return plain({
    name: p.name,
    action: p.plan.action,
    plan: describeAction(p.plan),
    existing: "existing" in p.plan ? p.plan.existing.id : null,
    id: p.plan.action === "create" || p.plan.action === "replace" ? p.id : null,
    specHash: p.intent.specHash,
    intent: p.intent,
    cost: p.cost,
  });
}

function dryRunText(p: Planned): string {
  const i = p.intent;
  const c = p.cost;
  const newOne = p.plan.action === "create" || p.plan.action === "replace";
  return [
    `${describeAction(p.plan)} (dry run: nothing sent)`,
    ...diffLines(p.plan.action === "replace" ? p.plan.changes : []).map((l) => `  ${l}`),
    `  specHash   ${i.specHash}`,
    `  id         ${newOne ? p.id : "(no new deployment)"}`,
    `  intent     ${i.kind === 1 ? `job, quorum ${i.quorum}` : "service"}, ${i.replicas} replica(s) of ${i.cpuMillis}m CPU / ${i.memoryMiB}Mi / ${i.diskMiB}Mi, deployer ${i.deployer}`,
    `  cost       escrow ${newOne ? formatTokens(c.escrow) : "none"}; at most ${formatTokens(c.maxPerHour)}/h at the price limit ${formatTokens(i.maxPricePerSecond)}/s per replica`,
    c.estimatedPerHour !== undefined
      ? `  estimate   ${formatTokens(c.estimatedPerHour)}/h at the prices of the nodes that fit now${c.lastsSeconds !== undefined ? `; the escrow lasts ${formatDuration(c.lastsSeconds)}` : ""}`
      : `  estimate   only ${c.fitting} of ${i.replicas} replica(s) fit on the nodes now`,
  ].join("\n");
}

/** Carries out one plan; returns what machines get. */
async function execute(ctx: CliContext, p: Planned, publish: boolean, human: boolean) {
  const addresses = await ctx.addresses();
  const domain = domainFor(addresses);
  const plan = p.plan;
  // What apply reports for a deployment it kept (unchanged, or scaled in place).
  const kept = (existing: { id: Hex; intent: { specHash: Hex } }, transactionHash: Hex | null) => ({
    name: p.name,
    action: plan.action,
    id: existing.id,
    kind: p.intent.kind === 1 ? "job" : "service",
    transactionHash,
    specHash: existing.intent.specHash,
  });
  if (plan.action === "unchanged") return kept(plan.existing, null);
  if (plan.action === "scale") {
    const { intent } = await readIntent(ctx.publicClient, addresses, plan.existing.id, { before: BigInt(plan.existing.submitted.block) });
    const { hash } = await sendContractTx(
      await ctx.txClients(),
      { address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "scale", args: [intent, plan.to] },
      `scaling ${p.name}`,
    );
    if (human) ctx.print(`deployment ${p.name} (${plan.existing.id}) scaled ${plan.from} -> ${plan.to}  tx ${hash}`);
    return kept(plan.existing, hash);
  }
  if (publish) await publishSpecBlob(ctx.config.storeUrl, p.specJson);
  const account = await ctx.account();
  const clients = await ctx.txClients();
  // A signed ConfigMap is relayed exactly as signed. What we sign here with a local (EOA) key goes
  // on-chain in its 64-byte EIP-2098 form, which the contract accepts and which costs less calldata.
  const signature = p.signature ?? compactSignature(await signIntent(account, domain, p.intent));
  // Deposit-funded when the deployer's deposit covers the budget; else approve + transferFrom.
  const { hash, approveTx } = await sendContractTxWithAllowance(
    clients,
    { address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "submitIntent", args: [p.intent, signature] },
    `submitting ${p.name}`,
    { token: addresses.token, owner: p.intent.deployer, spender: addresses.deploymentRegistry, amount: p.intent.budget, field: "budget" },
  );
  if (human) {
    ctx.print(`deployment ${p.id} (${p.name})  tx ${hash}`);
    ctx.print(`  specHash ${p.intent.specHash}  replicas ${p.intent.replicas}  budget ${formatTokens(p.intent.budget)}`);
  }
  let replaced: { id: Hex; transactionHash: Hex } | undefined;
  if (plan.action === "replace") {
    const { intent } = await readIntent(ctx.publicClient, addresses, plan.existing.id, { before: BigInt(plan.existing.submitted.block) });
    const t = await sendContractTx(
      clients,
      { address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "terminate", args: [intent] },
      `deleting the replaced ${plan.existing.id}`,
    );
    replaced = { id: plan.existing.id, transactionHash: t.hash };
    if (human) ctx.print(`  replaced: deployment ${plan.existing.id} deleted  tx ${t.hash}`);
  }
  return {
    name: p.name,
    action: plan.action,
    kind: p.intent.kind === 1 ? "job" : "service",
    id: p.id,
    transactionHash: hash,
    approveTx,
    specHash: p.intent.specHash,
    imageRoot: p.intent.imageRoot,
    budget: p.intent.budget,
    nonce: p.intent.nonce,
    ...(replaced ? { replaced } : {}),
  };
}

function hasIntentFlags(f: IntentFlags): boolean {
  return [f.replicas, f.budget, f.maxPrice, f.quorum, f.maxRetries, f.maxRun, f.nonce, f.deadline, f.imageRoot].some((v) => v !== undefined);
}
