/**
 * Where Hypha's contracts live on one chain: reads and writes `deployments/<chainId>.json`
 * (written by the deploy code, read by every other part). Writes are atomic (temp file + rename).
 */
import fs from "node:fs";
import path from "node:path";
import { getAddress, isAddress, type Address } from "viem";
import { HyphaError } from "../errors";

/** The contract addresses of one Hypha deployment; `deployBlock` is where to start reading logs. */
export interface HyphaAddresses {
  chainId: number;
  token: Address;
  nodeRegistry: Address;
  deploymentRegistry: Address;
  /** Block of the first contract deployment; serialized as a decimal string. */
  deployBlock: bigint;
}

/** A missing, unreadable or malformed deployment (addresses) file. */
export class AddressesError extends HyphaError {
  override name = "AddressesError";
}

/**
 * Writes `<dir>/<chainId>.json` atomically and returns its path.
 * @example writeAddresses("deployments", addresses) // "deployments/31337.json"
 */
export function writeAddresses(dir: string, a: HyphaAddresses): string {
  const checked = parseAddresses({ ...a, deployBlock: String(a.deployBlock) }, "addresses to write");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${checked.chainId}.json`);
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const json = JSON.stringify({ ...checked, deployBlock: checked.deployBlock.toString() }, null, 2) + "\n";
  fs.writeFileSync(tmp, json);
  fs.renameSync(tmp, file);
  return file;
}

/**
 * Reads the addresses from a `<chainId>.json` file, or from `<dir>/<chainId>.json` when given a
 * folder (then `chainId` is required).
 * @example readAddresses("deployments", 31337).deploymentRegistry
 */
export function readAddresses(fileOrDir: string, chainId?: number): HyphaAddresses {
  let file = fileOrDir;
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(fileOrDir);
  } catch {
    stat = undefined;
  }
  if (stat?.isDirectory()) {
    if (chainId === undefined) throw new AddressesError(`deployment folder ${fileOrDir}: a chain id is needed to pick <chainId>.json`);
    file = path.join(fileOrDir, `${chainId}.json`);
  }
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (cause) {
    throw new AddressesError(`deployment file ${file}: not found`, {
      details: "deploy the contracts first (hypha up, or npx tsx scripts/deploy.ts) or pass the right file",
      cause,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new AddressesError(`deployment file ${file}: not valid JSON`, { cause });
  }
  const a = parseAddresses(raw, `deployment file ${file}`);
  if (chainId !== undefined && a.chainId !== chainId) {
    throw new AddressesError(`deployment file ${file}: chainId is ${a.chainId}, expected ${chainId}`);
  }
  return a;
}

/** Validates the JSON shape; every error names the field. */
export function parseAddresses(raw: unknown, where: string): HyphaAddresses {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new AddressesError(`${where}: not a JSON object`);
  const o = raw as Record<string, unknown>;
  if (typeof o.chainId !== "number" || !Number.isSafeInteger(o.chainId) || o.chainId <= 0) {
    throw new AddressesError(`${where}: field chainId must be a positive integer`);
  }
  const addr = (field: string): Address => {
    const v = o[field];
    if (typeof v !== "string" || !isAddress(v, { strict: false })) throw new AddressesError(`${where}: field ${field} must be a 0x address`);
    return getAddress(v);
  };
  const db = o.deployBlock;
  if (typeof db !== "string" || !/^(0|[1-9][0-9]*)$/.test(db)) {
    throw new AddressesError(`${where}: field deployBlock must be a decimal string`);
  }
  return {
    chainId: o.chainId,
    token: addr("token"),
    nodeRegistry: addr("nodeRegistry"),
    deploymentRegistry: addr("deploymentRegistry"),
    deployBlock: BigInt(db),
  };
}
