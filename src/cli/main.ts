/**
 * The `hypha` command: global flags, the list of command groups, and the one place where errors
 * become a one-line message and an exit code (0 ok, 1 bad input, 2 chain or network failure).
 * To add a command group, write `register(program, ctx)` in its own file and add it to `commands`.
 */
import { Command, CommanderError } from "commander";
import { CliContext } from "./context";
import { formatError } from "./output";
import { registerAccount } from "./commands/account";
import { registerAdmin } from "./commands/admin";
import { registerApply } from "./commands/apply";
import { registerAudit } from "./commands/audit";
import { registerDeploymentCommands } from "./commands/deployments";
import { registerKey } from "./commands/key";
import { registerNode } from "./commands/node";
import { registerSign } from "./commands/sign";
import { registerCancel } from "./commands/cancel";
import { registerSpec } from "./commands/spec";
import { registerImage } from "./commands/image";
import { registerLogs } from "./commands/logs";
import { registerServices } from "./commands/services";
import { registerUp } from "./commands/up";
import { registerConfig } from "./commands/config";
import { registerCompletion } from "./commands/completion";
import { registerWait } from "./commands/wait";
import { cliVersion } from "./version";

/** A command group: adds its subcommands to the program. */
export type RegisterCommands = (program: Command, ctx: CliContext) => void;

/** Every command group of the CLI, one line each. */
export const commands: RegisterCommands[] = [
  registerSpec,
  registerSign,
  registerCancel,
  registerApply,
  registerDeploymentCommands, // get, describe, delete, scale
  registerNode,
  registerAudit,
  registerKey,
  registerAccount, // balance, deposit, withdraw
  registerLogs,
  registerImage,
  registerServices, // watcher, node run, api, store serve
  registerAdmin, // approve-measurement, unjail, grant-orchestrator
  registerUp,
  registerConfig, // view, get-contexts, current-context, use-context, set-context, delete-context
  registerCompletion,
  registerWait,
];

/**
 * Builds the program with global flags and every command group.
 * @example await buildProgram(process.env).parseAsync(["node", "hypha", "get", "nodes"])
 */
export function buildProgram(env: NodeJS.ProcessEnv = process.env, extra: RegisterCommands[] = []): { program: Command; ctx: CliContext } {
  const program = new Command("hypha");
  program
    .description("Hypha: deterministic compute run by smart contracts")
    .version(cliVersion(process.argv.includes("--version")), "--version", "print the version (and the git commit of a clone)")
    .option("--context <name>", "use this context of the config file (env HYPHA_CONTEXT; see hypha config)")
    .option("--rpc <url>", "chain JSON-RPC URL (env HYPHA_RPC)", undefined)
    .option("--deployment <file>", "contract addresses file or folder (default deployments/<chainId>.json)")
    .option("--keystore <dir>", "encrypted key folder (default .hypha/keystore; env HYPHA_KEYSTORE)")
    .option("--from <address>", "which keystore key signs")
    .option("--passphrase-file <file>", "read the keystore passphrase from a file (or env HYPHA_PASSPHRASE)")
    .option("--private-key <hex>", "sign with this key (local use; env HYPHA_PRIVATE_KEY)")
    .option("--dev-account <n>", "sign with local dev account n (0..19)")
    .option("--store <url>", "blob/image store URL (env HYPHA_STORE)", undefined)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) });
  program.addHelpText(
    "after",
    "\n-o FORMAT (json, yaml, wide, name) belongs to the commands that print, and may also stand before the command.\n\nExample:\n  $ hypha apply -f examples/deployment.yaml --wait\n  $ hypha -o wide get deployments",
  );
  const ctx = new CliContext(program, env);
  for (const register of [...commands, ...extra]) register(program, ctx);
  for (const cmd of allCommands(program)) cmd.exitOverride();
  return { program, ctx };
}

function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

/**
 * Runs the CLI with `argv` and returns the exit code (never throws, never prints a stack trace).
 * @example process.exitCode = await runCli(process.argv)
 */
/** Global flags that take a value (so their value is not mistaken for the command name). */
const GLOBAL_VALUE_FLAGS = new Set([
  "--context",
  "--rpc",
  "--deployment",
  "--keystore",
  "--from",
  "--passphrase-file",
  "--private-key",
  "--dev-account",
  "--store",
]);

/**
 * Lets `-o FORMAT` stand before the command as a global flag (`hypha -o json get nodes`) by moving
 * it after the command, where each command that prints defines it. (A program-level `-o` would
 * swallow `hypha sign -o FILE`.)
 * @example hoistOutputFlag(["node", "hypha", "-o", "json", "get", "nodes"]) // [..., "get", "nodes", "-o", "json"]
 */
export function hoistOutputFlag(argv: string[]): string[] {
  const head = argv.slice(0, 2);
  const rest = argv.slice(2);
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (!a.startsWith("-")) break; // the command: anything after it is the command's own
    if (a === "-o" || a === "--output") {
      if (i + 1 >= rest.length) break;
      const moved = rest.splice(i, 2);
      return [...head, ...rest, ...moved];
    }
    if ((a.startsWith("-o") && !a.startsWith("--") && a.length > 2) || a.startsWith("--output=")) {
      const moved = rest.splice(i, 1);
      return [...head, ...rest, ...moved];
    }
    if (GLOBAL_VALUE_FLAGS.has(a)) i++;
  }
  return argv;
}

export async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { program, ctx } = buildProgram(env);
  try {
    await program.parseAsync(hoistOutputFlag(argv));
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.help" || err.code === "commander.version") return 0;
      if (err.code === "commander.executeSubCommandAsync") return 0;
      return 1; // commander already printed the reason
    }
    const { text, exitCode } = formatError(err);
    ctx.err(text);
    if (env.HYPHA_DEBUG && err instanceof Error) ctx.err(String(err.stack));
    return exitCode;
  }
}

if (require.main === module || process.argv[1]?.endsWith("hypha.js") || process.argv[1]?.endsWith("hypha")) {
  runCli(process.argv).then((code) => {
    process.exitCode = code;
  });
}
