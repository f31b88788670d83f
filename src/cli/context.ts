/**
 * The CLI's one typed configuration (read once from flags and environment at the edge) and the
 * chain connections built from it on first use: public client, contract addresses, the signing
 * account and its wallet client.
 */
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { isHex, type Address, type LocalAccount, type PublicClient, type WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { HyphaAddresses } from "../chain/addresses";
import { loadContracts, makeChain, makePublicClient, makeWalletClient } from "../chain/clients";
import { toChainError } from "../chain/chainError";
import { devAccount, DEV_ROLES } from "../chain/devAccounts";
import { loadKey } from "../chain/keystore";
import type { TxClients } from "../chain/tx";
import { HyphaError } from "../errors";
import { readPassphrase } from "./passphrase";
import { activeContext, configPath, readConfigFile, type ConfigFile } from "./configFile";
import { specNameLookup, type SpecNameLookup } from "../api/deploymentResource";

export const DEFAULT_RPC = "http://127.0.0.1:8545";
export const DEFAULT_STORE = "http://127.0.0.1:7700";
export const DEFAULT_KEYSTORE = ".hypha/keystore";

/** Global flags and their environment fallbacks, resolved once. */
export interface CliConfig {
  rpcUrl: string;
  deploymentFile?: string;
  keystore: string;
  keystoreGiven: boolean;
  storeUrl: string;
  privateKey?: `0x${string}`;
  devAccount?: number;
  from?: string;
  passphraseFile?: string;
  passphraseEnv?: string;
  /** The config file's context in effect, if any. */
  context?: string;
}

/** The repository this CLI runs from: its deployments/ folder is the default addresses file when the working directory has none. */
export const PACKAGE_DIR = path.resolve(__dirname, "..", "..");

/**
 * Reads the global flags, HYPHA_* environment variables and the config file's context (in that
 * order of precedence) into a CliConfig.
 */
export function readConfig(opts: Record<string, unknown>, env: NodeJS.ProcessEnv, file: { path: string; config: ConfigFile } = loadConfigFile(env)): CliConfig {
  const { name: contextName, context } = activeContext(file.config, (opts.context as string | undefined) ?? env.HYPHA_CONTEXT, file.path);
  const pk = (opts.privateKey as string | undefined) ?? env.HYPHA_PRIVATE_KEY;
  if (pk !== undefined && (!isHex(pk) || pk.length !== 66)) throw new HyphaError("--private-key: must be 0x followed by 64 hex digits");
  let dev: number | undefined;
  if (opts.devAccount !== undefined) {
    dev = Number(opts.devAccount);
    if (!Number.isInteger(dev) || dev < 0 || dev > 19) throw new HyphaError(`--dev-account: must be an integer 0..19, got ${opts.devAccount}`);
  }
  // A context's key applies only when no flag or variable chose one.
  const keyChosen = pk !== undefined || dev !== undefined || opts.keystore !== undefined || opts.from !== undefined || env.HYPHA_KEYSTORE !== undefined;
  const rpcUrl = (opts.rpc as string | undefined) ?? env.HYPHA_RPC ?? context.rpc ?? DEFAULT_RPC;
  const storeUrl = (opts.store as string | undefined) ?? env.HYPHA_STORE ?? context.store ?? DEFAULT_STORE;
  for (const [flag, url] of [
    ["--rpc", rpcUrl],
    ["--store", storeUrl],
  ] as const) {
    if (!/^https?:\/\/[^\s]+$/.test(url))
      throw new HyphaError(
        `${flag}: must be an http(s) URL, got ${url}${contextName && (flag === "--rpc" ? context.rpc : context.store) === url ? ` (from context ${contextName})` : ""}`,
      );
  }
  const keystore = (opts.keystore as string | undefined) ?? env.HYPHA_KEYSTORE ?? (keyChosen ? undefined : context.keystore);
  return {
    rpcUrl,
    deploymentFile: (opts.deployment as string | undefined) ?? env.HYPHA_DEPLOYMENT ?? context.deployment ?? defaultDeploymentFile(),
    keystore: keystore ?? DEFAULT_KEYSTORE,
    keystoreGiven: keystore !== undefined,
    storeUrl: storeUrl.replace(/\/+$/, ""),
    privateKey: pk as `0x${string}` | undefined,
    devAccount: dev ?? (keyChosen ? undefined : context["dev-account"]),
    from: (opts.from as string | undefined) ?? (keyChosen ? undefined : context.from),
    passphraseFile: opts.passphraseFile as string | undefined,
    passphraseEnv: env.HYPHA_PASSPHRASE,
    context: contextName,
  };
}

/** The config file at its usual place (see configFile.ts). */
export function loadConfigFile(env: NodeJS.ProcessEnv): { path: string; config: ConfigFile } {
  const file = configPath(env);
  return { path: file, config: readConfigFile(file) };
}

/** What to do when no contract addresses file is found: every way of naming one. */
export const DEPLOYMENT_FILE_REMEDY =
  "pass --deployment FILE (the deployments/<chainId>.json that `hypha up` or scripts/deploy.ts wrote, or its folder), set HYPHA_DEPLOYMENT, or name it in a context (hypha config set-context NAME --deployment FILE)";

/**
 * The contract addresses file (or folder) a command reads, checked to exist before any chain call;
 * else an error naming --deployment and the remedy (`undefined`: the default deployments/ folder).
 * @example existingDeploymentFile(undefined, () => false) // throws "--deployment: not given, and ..."
 */
export function existingDeploymentFile(file: string | undefined, exists: (p: string) => boolean = fs.existsSync): string {
  const target = file ?? "deployments";
  if (exists(target)) return target;
  throw new HyphaError(
    file === undefined ? `--deployment: not given, and there is no deployments/ folder here or in ${PACKAGE_DIR}` : `--deployment: ${file} not found`,
    { details: DEPLOYMENT_FILE_REMEDY },
  );
}

/** deployments/ in the working directory, else the one in this CLI's repository (so `hypha` works from any folder). */
function defaultDeploymentFile(): string | undefined {
  if (fs.existsSync("deployments")) return undefined;
  const own = path.join(PACKAGE_DIR, "deployments");
  return fs.existsSync(own) ? own : undefined;
}

/** What commands get: the config and lazily made chain connections. */
export class CliContext {
  private _config?: CliConfig;
  private _pc?: PublicClient;
  private _addresses?: Promise<HyphaAddresses>;
  private _account?: Promise<LocalAccount>;
  private _names?: SpecNameLookup;

  constructor(
    private readonly program: Command,
    readonly env: NodeJS.ProcessEnv,
    readonly out: (text: string) => void = (t) => process.stdout.write(t.endsWith("\n") ? t : `${t}\n`),
    readonly err: (text: string) => void = (t) => process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
  ) {}

  get config(): CliConfig {
    if (!this._config) this._config = readConfig(this.program.opts(), this.env);
    return this._config;
  }

  get publicClient(): PublicClient {
    if (!this._pc) this._pc = makePublicClient(this.config.rpcUrl);
    return this._pc;
  }

  /** Contract addresses for the chain behind --rpc. */
  addresses(): Promise<HyphaAddresses> {
    if (!this._addresses) this._addresses = (async () => loadContracts(this.publicClient, existingDeploymentFile(this.config.deploymentFile)))();
    return this._addresses;
  }

  /** Looks up deployments' manifest names in the store (cached for this command). */
  specNames(): SpecNameLookup {
    if (!this._names) this._names = specNameLookup(this.config.storeUrl);
    return this._names;
  }

  /** The passphrase for keystore files: --passphrase-file, HYPHA_PASSPHRASE, or a prompt on a terminal. */
  async passphrase(prompt = "Passphrase: ", confirm = false): Promise<string> {
    const c = this.config;
    if (c.passphraseFile) {
      try {
        return fs.readFileSync(c.passphraseFile, "utf8").replace(/\r?\n$/, "");
      } catch (err) {
        throw new HyphaError(`--passphrase-file: cannot read ${c.passphraseFile}`, { cause: err });
      }
    }
    if (c.passphraseEnv !== undefined) return c.passphraseEnv;
    return readPassphrase(prompt, confirm);
  }

  /**
   * The signing account: --private-key, --dev-account N, a keystore key (--keystore/--from), or on a
   * local chain (id 31337) the default dev deployer #11.
   */
  account(defaultDev: number = DEV_ROLES.defaultDeployer): Promise<LocalAccount> {
    if (!this._account) this._account = this.resolveAccount(defaultDev);
    return this._account;
  }

  private async resolveAccount(defaultDev: number): Promise<LocalAccount> {
    const c = this.config;
    if (c.privateKey) return privateKeyToAccount(c.privateKey);
    if (c.devAccount !== undefined) return devAccount(c.devAccount);
    if (c.keystoreGiven || c.from) {
      const pass = await this.passphrase(`Passphrase for ${c.from ?? "key"} in ${c.keystore}: `);
      return privateKeyToAccount(loadKey(c.keystore, pass, c.from).privateKey);
    }
    let chainId: number;
    try {
      chainId = await this.publicClient.getChainId();
    } catch (err) {
      throw toChainError(err, "reading the chain id");
    }
    if (chainId === 31337) {
      const account = devAccount(defaultDev);
      const keys = keystoreFiles(c.keystore);
      if (keys.length > 0) {
        this.err(
          `note: signing with local dev account #${defaultDev} (${account.address}), not with the key(s) in ${c.keystore}; pass --from ADDRESS (or --keystore DIR) to sign with yours`,
        );
      }
      return account;
    }
    throw new HyphaError("no signing key: pass --keystore DIR [--from ADDRESS], --private-key KEY or --dev-account N");
  }

  /** Public + wallet client pair for sending transactions as `account`. */
  async txClients(account?: LocalAccount): Promise<TxClients & { account: LocalAccount }> {
    const a = account ?? (await this.account());
    const chainId = (await this.addresses()).chainId;
    const walletClient: WalletClient = makeWalletClient(this.config.rpcUrl, a, { chain: makeChain(chainId, this.config.rpcUrl) });
    return { publicClient: this.publicClient, walletClient, account: a };
  }

  /** Prints machine or human output to stdout. */
  print(text: string): void {
    this.out(text);
  }
}

/** Key files in a keystore folder (none when it does not exist). */
function keystoreFiles(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((f) => f.endsWith(".json") || f.startsWith("UTC--"));
  } catch {
    return [];
  }
}

/** Parses a 0x address flag. */
export function parseAddress(flag: string, v: string): Address {
  if (!/^0x[0-9a-fA-F]{40}$/.test(v)) throw new HyphaError(`${flag}: not an address: ${v}`);
  return v as Address;
}
