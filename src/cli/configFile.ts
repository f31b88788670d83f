/**
 * The CLI's config file, kubeconfig-style: named contexts, each naming a chain (RPC URL), a store,
 * the contract addresses file and the signing key, and the current one. Found at $HYPHA_CONFIG,
 * else $XDG_CONFIG_HOME/hypha/config.yaml, else ~/.config/hypha/config.yaml. Flags and HYPHA_*
 * variables win over the context; the context wins over the built-in defaults.
 *
 *   current-context: local
 *   contexts:
 *     local:
 *       rpc: http://127.0.0.1:8545
 *       store: http://127.0.0.1:7700
 *       deployment: /home/me/hypha/deployments/31337.json
 *       keystore: /home/me/.hypha/keystore
 *       from: "0x71bE63f3384f5fb98995898A86B02Fb2426c5788"
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { HyphaError } from "../errors";

/** What one context may set (all optional). */
export interface HyphaContext {
  rpc?: string;
  store?: string;
  deployment?: string;
  keystore?: string;
  from?: string;
  "dev-account"?: number;
}

export interface ConfigFile {
  "current-context"?: string;
  contexts: Record<string, HyphaContext>;
}

export const CONTEXT_KEYS = ["rpc", "store", "deployment", "keystore", "from", "dev-account"] as const;

/**
 * Where the config file is.
 * @example configPath({ HOME: "/home/me" }) // "/home/me/.config/hypha/config.yaml"
 */
export function configPath(env: NodeJS.ProcessEnv): string {
  if (env.HYPHA_CONFIG) return path.resolve(env.HYPHA_CONFIG);
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), ".config");
  return path.join(base, "hypha", "config.yaml");
}

/**
 * Reads and checks the config file; an absent file is an empty config.
 * @example readConfigFile("/home/me/.config/hypha/config.yaml").contexts
 */
export function readConfigFile(file: string): ConfigFile {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { contexts: {} };
    throw new HyphaError(`config file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
  let data: unknown;
  try {
    data = YAML.parse(text) ?? {};
  } catch (err) {
    throw new HyphaError(`config file ${file}: not valid YAML (${(err as Error).message.split("\n")[0]})`, { cause: err });
  }
  return checkConfig(data, file);
}

/** Validates the parsed YAML, naming the field at fault. */
export function checkConfig(data: unknown, file: string): ConfigFile {
  if (!isObject(data)) throw new HyphaError(`config file ${file}: must be a mapping with contexts and current-context`);
  for (const k of Object.keys(data))
    if (k !== "contexts" && k !== "current-context") throw new HyphaError(`config file ${file}, ${k}: unknown field (known: contexts, current-context)`);
  const current = data["current-context"];
  if (current !== undefined && typeof current !== "string") throw new HyphaError(`config file ${file}, current-context: must be a context name`);
  const contexts = data.contexts ?? {};
  if (!isObject(contexts)) throw new HyphaError(`config file ${file}, contexts: must be a mapping from names to contexts`);
  const out: ConfigFile = { ...(current !== undefined ? { "current-context": current } : {}), contexts: {} };
  for (const [name, ctx] of Object.entries(contexts)) {
    const where = `config file ${file}, contexts.${name}`;
    if (!isObject(ctx)) throw new HyphaError(`${where}: must be a mapping (${CONTEXT_KEYS.join(", ")})`);
    const c: HyphaContext = {};
    for (const [k, v] of Object.entries(ctx)) {
      if (!(CONTEXT_KEYS as readonly string[]).includes(k)) throw new HyphaError(`${where}.${k}: unknown field (known: ${CONTEXT_KEYS.join(", ")})`);
      if (k === "dev-account") {
        if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 19)
          throw new HyphaError(`${where}.dev-account: must be an integer 0..19, got ${JSON.stringify(v)}`);
        c["dev-account"] = v as number;
      } else {
        if (typeof v !== "string" || v === "") throw new HyphaError(`${where}.${k}: must be a non-empty string, got ${JSON.stringify(v)}`);
        (c as Record<string, string>)[k] = v;
      }
    }
    out.contexts[name] = c;
  }
  return out;
}

/**
 * Writes the config file (creating its folder), atomically.
 * @example writeConfigFile(configPath(process.env), { "current-context": "local", contexts: { local: { rpc: "http://127.0.0.1:8545" } } })
 */
export function writeConfigFile(file: string, config: ConfigFile): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, YAML.stringify(config), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/**
 * The context in effect: `name` (from --context or HYPHA_CONTEXT) or the file's current one.
 * @example activeContext(config, undefined) // { name: "local", context: { rpc: ... } }
 */
export function activeContext(config: ConfigFile, name: string | undefined, file: string): { name?: string; context: HyphaContext } {
  const chosen = name ?? config["current-context"];
  if (chosen === undefined) return { context: {} };
  const context = config.contexts[chosen];
  if (!context) {
    const known = Object.keys(config.contexts);
    throw new HyphaError(
      `context ${JSON.stringify(chosen)}: not in ${file}${known.length ? ` (contexts: ${known.join(", ")})` : " (it has no contexts; add one with hypha config set-context NAME --rpc URL ...)"}`,
    );
  }
  return { name: chosen, context };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
