/**
 * `hypha config`: the kubeconfig-style contexts (configFile.ts). `view`, `get-contexts`,
 * `current-context`, `use-context NAME`, `set-context NAME --rpc URL ...`, `delete-context NAME`.
 */
import type { Command } from "commander";
import { HyphaError } from "../../errors";
import { parseAddress, type CliContext } from "../context";
import { CONTEXT_KEYS, configPath, readConfigFile, writeConfigFile, type HyphaContext } from "../configFile";
import { OUTPUT_HELP, parseOutputFormat, renderTable, toJson, toYaml } from "../output";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function contextName(name: string): string {
  if (!NAME.test(name)) throw new HyphaError(`NAME: a context name is letters, digits, '.', '_' or '-' (at most 63), got ${JSON.stringify(name)}`);
  return name;
}

/** Registers `hypha config ...`. */
export function registerConfig(program: Command, ctx: CliContext): void {
  const config = program
    .command("config")
    .description("named contexts (chain, store, addresses file, key) in ~/.config/hypha/config.yaml (env HYPHA_CONFIG)")
    .addHelpText(
      "after",
      "\nExample:\n  $ hypha config set-context testnet --rpc https://rpc.example --store https://blobs.example --deployment ./deployments/11155111.json --from 0xYOU\n  $ hypha config use-context testnet\n  $ hypha --context local get nodes",
    );
  const file = () => configPath(ctx.env);

  config
    .command("view")
    .description("print the config file")
    .option("-o, --output <format>", "yaml (default) or json")
    .action((o: { output?: string }) => {
      const data = readConfigFile(file());
      ctx.print(parseOutputFormat(o.output ?? "yaml", ["json", "yaml"]) === "json" ? toJson(data) : toYaml(data).trimEnd());
    });

  config
    .command("get-contexts")
    .description("list the contexts; * marks the current one")
    .option("-o, --output <format>", OUTPUT_HELP)
    .action((o: { output?: string }) => {
      const format = parseOutputFormat(o.output);
      const data = readConfigFile(file());
      const names = Object.keys(data.contexts);
      if (format === "json") return ctx.print(toJson(data));
      if (format === "yaml") return ctx.print(toYaml(data).trimEnd());
      if (format === "name") {
        if (names.length) ctx.print(names.join("\n"));
        return;
      }
      if (names.length === 0) return ctx.print(`No contexts in ${file()}.`);
      ctx.print(
        renderTable(
          names.map((n) => {
            const c = data.contexts[n];
            return {
              CURRENT: data["current-context"] === n ? "*" : "",
              NAME: n,
              RPC: c.rpc ?? "",
              STORE: c.store ?? "",
              KEY: c.from ?? (c["dev-account"] !== undefined ? `dev #${c["dev-account"]}` : ""),
            };
          }),
        ),
      );
    });

  config
    .command("current-context")
    .description("print the current context's name")
    .action(() => {
      const current = readConfigFile(file())["current-context"];
      if (!current) throw new HyphaError(`no current context in ${file()}; choose one with hypha config use-context NAME`);
      ctx.print(current);
    });

  config
    .command("use-context <name>")
    .description("make NAME the current context")
    .action((name: string) => {
      const data = readConfigFile(file());
      if (!data.contexts[name]) {
        const known = Object.keys(data.contexts);
        throw new HyphaError(
          `context ${JSON.stringify(name)}: not in ${file()}${known.length ? ` (contexts: ${known.join(", ")})` : "; add it with hypha config set-context NAME --rpc URL"}`,
        );
      }
      writeConfigFile(file(), { ...data, "current-context": name });
      ctx.print(`Switched to context "${name}".`);
    });

  config
    .command("set-context <name>")
    .description("create or change a context (only the given fields change)")
    .option("--rpc <url>", "chain JSON-RPC URL")
    .option("--store <url>", "blob/image store URL")
    .option("--deployment <file>", "contract addresses file or folder")
    .option("--keystore <dir>", "encrypted key folder")
    .option("--from <address>", "which keystore key signs")
    .option("--dev-account <n>", "sign with local dev account n (0..19; local chains only)")
    .option("--current", "also make it the current context")
    .action((name: string, _o: unknown, cmd: Command) => {
      contextName(name);
      // --rpc, --store, ... are also the program's global flags: read them wherever commander put them.
      const o = cmd.optsWithGlobals() as Record<string, string | boolean | undefined>;
      const data = readConfigFile(file());
      const next: HyphaContext = { ...(data.contexts[name] ?? {}) };
      for (const flag of ["rpc", "store"] as const) {
        const v = o[flag] as string | undefined;
        if (v !== undefined && !/^https?:\/\/[^\s]+$/.test(v)) throw new HyphaError(`--${flag}: must be an http(s) URL, got ${v}`);
        if (v !== undefined) next[flag] = v.replace(/\/+$/, "");
      }
      if (o.deployment !== undefined) next.deployment = String(o.deployment);
      if (o.keystore !== undefined) next.keystore = String(o.keystore);
      if (o.from !== undefined) next.from = parseAddress("--from", String(o.from));
      if (o.devAccount !== undefined) {
        const n = Number(o.devAccount);
        if (!Number.isInteger(n) || n < 0 || n > 19) throw new HyphaError(`--dev-account: must be an integer 0..19, got ${o.devAccount}`);
        next["dev-account"] = n;
      }
      if (Object.keys(next).length === 0) throw new HyphaError(`set-context ${name}: give at least one of ${CONTEXT_KEYS.map((k) => `--${k}`).join(" ")}`);
      const created = !data.contexts[name];
      writeConfigFile(file(), {
        ...data,
        ...(o.current || !data["current-context"] ? { "current-context": name } : {}),
        contexts: { ...data.contexts, [name]: next },
      });
      ctx.print(`Context "${name}" ${created ? "created" : "modified"} in ${file()}.`);
    });

  config
    .command("delete-context <name>")
    .description("remove a context")
    .action((name: string) => {
      const data = readConfigFile(file());
      if (!data.contexts[name]) throw new HyphaError(`context ${JSON.stringify(name)}: not in ${file()}`);
      const contexts = { ...data.contexts };
      delete contexts[name];
      const current = data["current-context"] === name ? undefined : data["current-context"];
      writeConfigFile(file(), { ...(current ? { "current-context": current } : {}), contexts });
      ctx.print(`Deleted context "${name}".`);
    });
}
