/**
 * `hypha admin ...`: what the contracts' admin (DEFAULT_ADMIN_ROLE) does: approve agent
 * measurements for placement, unjail a slashed node after its incident, and grant or revoke the
 * orchestrator role. Every call is simulated first, so a sender without the role gets the decoded
 * AccessControl error and nothing is sent.
 */
import type { Command } from "commander";
import { keccak256, toBytes } from "viem";
import { deploymentRegistryAbi, nodeRegistryAbi } from "../../chain/abi";
import { DEV_ROLES } from "../../chain/devAccounts";
import { sendContractTx } from "../../chain/tx";
import { parseBytes32, parseIntIn } from "../amounts";
import { parseAddress, type CliContext } from "../context";

const ORCHESTRATOR_ROLE = keccak256(toBytes("ORCHESTRATOR_ROLE"));

/** Registers `hypha admin approve-measurement|unjail|grant-orchestrator`. */
export function registerAdmin(program: Command, ctx: CliContext): void {
  const admin = program
    .command("admin")
    .description("contract admin actions: approve agent measurements, unjail nodes, orchestrator role")
    .addHelpText("after", "\nExample:\n  $ hypha admin approve-measurement $(hypha node measurement)\n  $ hypha admin unjail 2");

  const send = async (call: Parameters<typeof sendContractTx>[1], what: string) => {
    const account = await ctx.account(DEV_ROLES.admin);
    return sendContractTx(await ctx.txClients(account), call, what);
  };

  admin
    .command("approve-measurement")
    .description("allow nodes whose agent has this measurement to be placed on (or disallow it with --revoke)")
    .argument("<measurement>", "0x + 64 hex (hypha node measurement prints this agent build's)")
    .option("--revoke", "disallow it instead")
    .action(async (text: string, o: { revoke?: boolean }) => {
      const measurement = parseBytes32("measurement", text);
      const addresses = await ctx.addresses();
      const { hash } = await send(
        { address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "setMeasurementApproved", args: [measurement, !o.revoke] },
        `${o.revoke ? "revoking" : "approving"} measurement ${measurement}`,
      );
      ctx.print(`measurement ${measurement} ${o.revoke ? "revoked" : "approved"}  tx ${hash}`);
    });

  admin
    .command("unjail")
    .description("let a slashed node be placed on again, once its incident is dealt with")
    .argument("<nodeId>", "node id")
    .action(async (text: string) => {
      const nodeId = parseIntIn("nodeId", text, 1, 2 ** 32 - 1);
      const addresses = await ctx.addresses();
      const { hash } = await send(
        { address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "unjail", args: [nodeId] },
        `unjailing node ${nodeId}`,
      );
      ctx.print(`node ${nodeId} unjailed  tx ${hash}`);
    });

  admin
    .command("grant-orchestrator")
    .description("let an account place replicas, report lost nodes (run a watcher), or stop it with --revoke")
    .argument("<address>", "the watcher's sender account")
    .option("--revoke", "take the role away instead")
    .action(async (text: string, o: { revoke?: boolean }) => {
      const account = parseAddress("address", text);
      const addresses = await ctx.addresses();
      const { hash } = await send(
        {
          address: addresses.deploymentRegistry,
          abi: deploymentRegistryAbi,
          functionName: o.revoke ? "revokeRole" : "grantRole",
          args: [ORCHESTRATOR_ROLE, account],
        },
        `${o.revoke ? "revoking" : "granting"} the orchestrator role ${o.revoke ? "from" : "to"} ${account}`,
      );
      ctx.print(`${account} ${o.revoke ? "is no longer" : "is now"} an orchestrator  tx ${hash}`);
    });
}
