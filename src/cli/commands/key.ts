/**
 * `hypha key new|import|list`: encrypted Web3 Secret Storage key files in the keystore folder
 * (--keystore, default .hypha/keystore). A private key never touches the disk unencrypted.
 */
import fs from "node:fs";
import type { Command } from "commander";
import { generatePrivateKey } from "viem/accounts";
import { encryptKey, listKeys, saveKey, STANDARD_SCRYPT, type ScryptParams } from "../../chain/keystore";
import { HyphaError } from "../../errors";
import type { CliContext } from "../context";
import { emitAs, parseOutputFormat, renderTable, type OutputFormat } from "../output";

const KEY_FORMATS: OutputFormat[] = ["table", "json", "yaml", "name"];
const KEY_OUTPUT_HELP = "table (default), json, yaml or name (key/ADDRESS)";

/** scrypt cost: the standard one, or a light one when HYPHA_KEYSTORE_LIGHT=1 (tests, local demos). */
function scryptFor(env: NodeJS.ProcessEnv): ScryptParams {
  return env.HYPHA_KEYSTORE_LIGHT === "1" ? { n: 1 << 12, r: 8, p: 1 } : STANDARD_SCRYPT;
}

/** Registers `hypha key ...`. */
export function registerKey(program: Command, ctx: CliContext): void {
  const key = program
    .command("key")
    .description("encrypted signing keys")
    .addHelpText("after", "\nExample:\n  $ hypha key new --keystore ~/.hypha/keys\n  $ hypha key list --keystore ~/.hypha/keys");
  key
    .command("new")
    .description("create a new key, encrypted with a passphrase")
    .option("-o, --output <format>", KEY_OUTPUT_HELP)
    .addHelpText("after", "\nExample:\n  $ HYPHA_PASSPHRASE=… hypha key new --keystore ~/.hypha/keys")
    .action(async (o: { output?: string }) => {
      const format = parseOutputFormat(o.output, KEY_FORMATS);
      const pass = await ctx.passphrase("New passphrase: ", true);
      const info = saveKey(ctx.config.keystore, encryptKey(generatePrivateKey(), pass, scryptFor(ctx.env)));
      printKeys(ctx, format, [info], info);
    });
  key
    .command("import")
    .description("encrypt an existing private key into the keystore (read from a file or stdin, never a flag)")
    .option("--key-file <file>", "file holding the 0x private key (default: stdin)")
    .option("-o, --output <format>", KEY_OUTPUT_HELP)
    .addHelpText("after", "\nExample:\n  $ hypha key import --key-file ./pk.txt --passphrase-file ./pass.txt")
    .action(async (o: { keyFile?: string; output?: string }) => {
      const format = parseOutputFormat(o.output, KEY_FORMATS);
      let text: string;
      try {
        text = fs.readFileSync(o.keyFile ?? 0, "utf8").trim();
      } catch (err) {
        throw new HyphaError(`--key-file: cannot read ${o.keyFile ?? "stdin"}`, { cause: err });
      }
      const pk = (text.startsWith("0x") ? text : `0x${text}`) as `0x${string}`;
      if (!/^0x[0-9a-fA-F]{64}$/.test(pk)) throw new HyphaError("private key: must be 64 hex digits (optionally 0x-prefixed)");
      const pass = await ctx.passphrase("New passphrase: ", true);
      const info = saveKey(ctx.config.keystore, encryptKey(pk, pass, scryptFor(ctx.env)));
      printKeys(ctx, format, [info], info);
    });
  key
    .command("list")
    .description("list the keys in the keystore")
    .option("-o, --output <format>", KEY_OUTPUT_HELP)
    .addHelpText("after", "\nExample:\n  $ hypha key list --keystore ~/.hypha/keys")
    .action((o: { output?: string }) => {
      const format = parseOutputFormat(o.output, KEY_FORMATS);
      const keys = listKeys(ctx.config.keystore);
      printKeys(ctx, format, keys, keys);
    });
}

/**
 * Prints keys: `data` as JSON/YAML (one key after new/import, the list after list), `-o name` as
 * key/ADDRESS, and for people "ADDRESS  FILE" after new/import or a table for list.
 */
function printKeys(ctx: CliContext, format: OutputFormat, keys: Array<{ address: string; file: string }>, data: unknown): void {
  const one = !Array.isArray(data);
  emitAs(
    ctx.print.bind(ctx),
    format,
    data,
    () =>
      one
        ? `${keys[0].address}  ${keys[0].file}`
        : keys.length
          ? renderTable(keys.map((k) => ({ ADDRESS: k.address, FILE: k.file })))
          : `No keys in ${ctx.config.keystore}.`,
    () => keys.map((k) => `key/${k.address}`),
  );
}
