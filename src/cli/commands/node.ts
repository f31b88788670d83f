/**
 * `hypha node register|update|stake|unbond|withdraw|list`: a node operator's on-chain actions
 * (stake and capacity, agent key, endpoint, price, measurement). On a local chain without a key
 * flag the first demo operator (dev account #5) signs.
 */
import type { Command } from "commander";
import { zeroHash } from "viem";
import { nodeRegistryAbi } from "../../chain/abi";
import { DEV_ROLES } from "../../chain/devAccounts";
import { readNode } from "../../chain/nodes";
import { type ContractCall, sendContractTx, sendContractTxWithAllowance } from "../../chain/tx";
import { HyphaError } from "../../errors";
import { formatTokens, parseBytes32, parseCpu, parseIntIn, parseMiB, parseTokenAmount } from "../amounts";
import { parseAddress, type CliContext } from "../context";
import { printNodes } from "./deployments";
import { OUTPUT_HELP } from "../output";

const OPERATOR = DEV_ROLES.nodeOperators[0];

function parseNodeId(text: string): number {
  return parseIntIn("NODE_ID", text, 1, 2 ** 32 - 1);
}

/** Registers `hypha node ...`. */
export function registerNode(program: Command, ctx: CliContext): void {
  const node = program
    .command("node")
    .description("node operator actions")
    .addHelpText("after", "\nExample:\n  $ hypha node register --stake 100 --cpu 4 --mem 8Gi --endpoint http://127.0.0.1:7801\n  $ hypha node list");

  node
    .command("register")
    .description("register a node: stake, capacity, agent key, endpoint, price")
    .requiredOption("--stake <amount>", "tokens to stake (HYPHA or NNNwei)")
    .requiredOption("--cpu <quantity>", "CPU capacity, e.g. 4 or 2000m")
    .requiredOption("--mem <quantity>", "memory capacity, e.g. 8Gi or 8192 (MiB)")
    .option("--disk <quantity>", "disk capacity, e.g. 20Gi", "10Gi")
    .option("--slots <n>", "most replicas at once", "16")
    .option("--price <amount>", "price per replica-second (HYPHA or NNNwei)", "0.0001")
    .requiredOption("--endpoint <url>", "the agent's HTTP endpoint")
    .option("--agent <address>", "the agent's signing address (default: the operator)")
    .option("--measurement <hex>", "the agent's measurement (0x + 64 hex)", zeroHash)
    .addHelpText("after", "\nExample:\n  $ hypha node register --stake 100 --cpu 4 --mem 8Gi --endpoint http://127.0.0.1:7801 --agent 0x…")
    .action(async (o: Record<string, string>) => {
      const stake = parseTokenAmount("--stake", o.stake);
      const registration = {
        agent: o.agent ? parseAddress("--agent", o.agent) : undefined,
        cpuMillis: parseCpu("--cpu", o.cpu),
        memoryMiB: parseMiB("--mem", o.mem),
        diskMiB: parseMiB("--disk", o.disk),
        slots: parseIntIn("--slots", o.slots, 1, 65535),
        pricePerSecond: parseTokenAmount("--price", o.price),
        measurement: parseBytes32("--measurement", o.measurement),
        endpoint: parseEndpoint(o.endpoint),
      };
      const account = await ctx.account(OPERATOR);
      const addresses = await ctx.addresses();
      const clients = await ctx.txClients(account);
      const full = { ...registration, agent: registration.agent ?? account.address };
      const { hash, result } = await sendContractTxWithAllowance(
        clients,
        { address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "register", args: [full, stake] },
        "registering the node",
        { token: addresses.token, owner: account.address, spender: addresses.nodeRegistry, amount: stake, field: "--stake" },
      );
      ctx.print(`node ${result} registered (operator ${account.address}, agent ${full.agent})  tx ${hash}`);
    });

  node
    .command("update")
    .description("change a node's capacity, endpoint, price, agent key or measurement")
    .argument("<nodeId>", "node id")
    .option("--cpu <quantity>", "CPU capacity")
    .option("--mem <quantity>", "memory capacity")
    .option("--disk <quantity>", "disk capacity")
    .option("--slots <n>", "most replicas at once")
    .option("--endpoint <url>", "agent endpoint")
    .option("--price <amount>", "price per replica-second")
    .option("--agent <address>", "new agent signing address")
    .option("--measurement <hex>", "new agent measurement")
    .addHelpText("after", "\nExample:\n  $ hypha node update 1 --price 0.0002 --endpoint http://127.0.0.1:7801")
    .action(async (idText: string, o: Record<string, string | undefined>) => {
      const nodeId = parseNodeId(idText);
      const calls: Array<Pick<ContractCall<typeof nodeRegistryAbi>, "functionName" | "args"> & { what: string }> = [];
      const capacity = [o.cpu, o.mem, o.disk, o.slots].some((v) => v !== undefined);
      const price = o.price !== undefined ? parseTokenAmount("--price", o.price) : undefined;
      const agent = o.agent !== undefined ? parseAddress("--agent", o.agent) : undefined;
      const measurement = o.measurement !== undefined ? parseBytes32("--measurement", o.measurement) : undefined;
      const endpoint = o.endpoint !== undefined ? parseEndpoint(o.endpoint) : undefined;
      const cap = {
        cpu: o.cpu !== undefined ? parseCpu("--cpu", o.cpu) : undefined,
        mem: o.mem !== undefined ? parseMiB("--mem", o.mem) : undefined,
        disk: o.disk !== undefined ? parseMiB("--disk", o.disk) : undefined,
        slots: o.slots !== undefined ? parseIntIn("--slots", o.slots, 1, 65535) : undefined,
      };
      if (!capacity && price === undefined && !agent && !measurement && endpoint === undefined)
        throw new HyphaError("node update: give at least one of --cpu --mem --disk --slots --endpoint --price --agent --measurement");
      const addresses = await ctx.addresses();
      if (capacity) {
        const cur = await readNode(ctx.publicClient, addresses, nodeId);
        calls.push({
          functionName: "updateCapacity",
          args: [nodeId, cap.cpu ?? cur.cpuMillis, cap.mem ?? cur.memoryMiB, cap.disk ?? cur.diskMiB, cap.slots ?? cur.slots],
          what: "updating capacity",
        });
      }
      if (endpoint !== undefined) calls.push({ functionName: "updateEndpoint", args: [nodeId, endpoint], what: "updating the endpoint" });
      if (price !== undefined) calls.push({ functionName: "updatePrice", args: [nodeId, price], what: "updating the price" });
      if (agent) calls.push({ functionName: "updateAgent", args: [nodeId, agent], what: "updating the agent key" });
      if (measurement) calls.push({ functionName: "updateMeasurement", args: [nodeId, measurement], what: "updating the measurement" });
      const clients = await ctx.txClients(await ctx.account(OPERATOR));
      for (const c of calls) {
        const { hash } = await sendContractTx(
          clients,
          { address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: c.functionName, args: c.args },
          `node ${nodeId}: ${c.what}`,
        );
        ctx.print(`node ${nodeId}: ${c.what.replace(/^updating/, "updated")}  tx ${hash}`);
      }
    });

  node
    .command("stake")
    .description("add stake to a node")
    .argument("<nodeId>", "node id")
    .requiredOption("--amount <amount>", "tokens to add (HYPHA or NNNwei)")
    .addHelpText("after", "\nExample:\n  $ hypha node stake 1 --amount 50")
    .action(async (idText: string, o: { amount: string }) => {
      const nodeId = parseNodeId(idText);
      const amount = parseTokenAmount("--amount", o.amount);
      const account = await ctx.account(OPERATOR);
      const addresses = await ctx.addresses();
      const clients = await ctx.txClients(account);
      await readNode(ctx.publicClient, addresses, nodeId);
      const { hash } = await sendContractTxWithAllowance(
        clients,
        { address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "addStake", args: [nodeId, amount] },
        `staking on node ${nodeId}`,
        { token: addresses.token, owner: account.address, spender: addresses.nodeRegistry, amount, field: "--amount" },
      );
      ctx.print(`node ${nodeId}: staked ${formatTokens(amount)}  tx ${hash}`);
    });

  for (const [name, fn, desc] of [
    ["unbond", "beginUnbonding", "start unbonding a node's stake (no new placements)"],
    ["withdraw", "withdraw", "withdraw a node's stake after the unbonding delay"],
  ] as const) {
    node
      .command(name)
      .description(desc)
      .argument("<nodeId>", "node id")
      .addHelpText("after", `\nExample:\n  $ hypha node ${name} 1`)
      .action(async (idText: string) => {
        const nodeId = parseNodeId(idText);
        const addresses = await ctx.addresses();
        const clients = await ctx.txClients(await ctx.account(OPERATOR));
        const { hash } = await sendContractTx(
          clients,
          { address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: fn, args: [nodeId] },
          `node ${nodeId}: ${name}`,
        );
        ctx.print(`node ${nodeId}: ${name === "unbond" ? "unbonding started" : "stake withdrawn"}  tx ${hash}`);
      });
  }

  node
    .command("measurement")
    .description("print this agent build's measurement (register it with --measurement; the admin approves it)")
    .addHelpText(
      "after",
      "\nExample:\n  $ hypha node register --stake 100 --cpu 4 --mem 8Gi --endpoint http://node.example:7801 --measurement $(hypha node measurement)",
    )
    .action(() => {
      const { agentMeasurement } = require("../../agent/measurement") as typeof import("../../agent/measurement");
      ctx.out(agentMeasurement());
    });

  node
    .command("list")
    .description("list registered nodes (same as `hypha get nodes`)")
    .option("-o, --output <format>", OUTPUT_HELP)
    .addHelpText("after", "\nExample:\n  $ hypha node list -o json")
    .action(async (o: { output?: string }) => printNodes(ctx, o.output));
}

function parseEndpoint(text: string): string {
  try {
    const u = new URL(text);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("protocol");
  } catch {
    throw new HyphaError(`--endpoint: must be an http(s) URL, got ${JSON.stringify(text)}`);
  }
  return text;
}
