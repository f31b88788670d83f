/**
 * Measurements: what the agent attests it launched, and what the agent itself is.
 *
 * Launch measurement (per replica run) = sha256 over the RFC 8785 (JCS) canonical JSON of
 *   { specHash, imageRoot, argv, env, limits: {cpuMillis, memoryMiB, pids}, driver, agentVersion }
 * where argv/env are exactly what the runtime was given, as a 0x-prefixed bytes32.
 *
 * Agent measurement (registered on-chain, approved by the admin) = sha256 over the JCS of
 *   { name: "hypha-agent", version: AGENT_VERSION, files: { "<path relative to src/>": "<sha256 hex>" } }
 * covering every .ts file the agent runs on: src/agent/**, src/chain/**, src/image/**, src/spec/**
 * and src/errors.ts. Same sources, same measurement; any edit to them changes it.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import path from "node:path";
import canonicalize from "canonicalize";
import type { Hex } from "viem";
import type { ReplicaLimits } from "./runtime/driver";

export const AGENT_VERSION = "0.1.0";

/** The inputs of a launch measurement. */
export interface LaunchMeasurementInput {
  specHash: Hex;
  imageRoot: Hex;
  argv: string[];
  env: Record<string, string>;
  limits: ReplicaLimits;
  driver: string;
  agentVersion: string;
}

/** The RFC 8785 canonical JSON of a value (throws on values JSON cannot carry). */
export function canonicalJson(value: unknown): string {
  const s = canonicalize(value);
  if (s === undefined) throw new TypeError("value cannot be canonicalized");
  return s;
}

function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * The bytes32 measurement of one launch (pure).
 * @example computeMeasurement({ specHash, imageRoot, argv: ["echo", "hi"], env: { PATH: "/bin" }, limits, driver: "bwrap", agentVersion: agentVersionString() })
 */
export function computeMeasurement(input: LaunchMeasurementInput): Hex {
  const doc = {
    specHash: input.specHash.toLowerCase(),
    imageRoot: input.imageRoot.toLowerCase(),
    argv: input.argv,
    env: input.env,
    limits: { cpuMillis: input.limits.cpuMillis, memoryMiB: input.limits.memoryMiB, pids: input.limits.pids },
    driver: input.driver,
    agentVersion: input.agentVersion,
  };
  return `0x${sha256Hex(canonicalJson(doc))}`;
}

const MEASURED_ROOTS = ["agent", "chain", "image", "spec", "errors.ts"];

function listTs(dir: string, rel: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    const r = rel ? `${rel}/${name}` : name;
    const st = statSync(full);
    if (st.isDirectory()) listTs(full, r, out);
    else if (st.isFile() && name.endsWith(".ts")) out.push(r);
  }
}

/**
 * The agent measurement document for the sources under `srcDir` (pure apart from reading files).
 * @example agentMeasurementDocument("/work/main/src").files["agent/measurement.ts"]
 */
export function agentMeasurementDocument(srcDir: string): { name: string; version: string; files: Record<string, string> } {
  const files: Record<string, string> = {};
  for (const root of MEASURED_ROOTS) {
    const full = path.join(srcDir, root);
    if (!existsSync(full)) continue;
    const list: string[] = [];
    if (statSync(full).isDirectory()) listTs(full, root, list);
    else list.push(root);
    for (const rel of list) files[rel] = sha256Hex(readFileSync(path.join(srcDir, rel)));
  }
  return { name: "hypha-agent", version: AGENT_VERSION, files };
}

let cached: Hex | undefined;
/** The TypeScript sources, also when this module runs precompiled from dist/ (same depth as src/). */
const SOURCES = path.resolve(__dirname, "..", "..", "src");

/**
 * This agent's own measurement (bytes32), as registered on-chain and approved by `hypha up`.
 * @example await nodeRegistry.write.setMeasurementApproved([agentMeasurement(), true])
 */
export function agentMeasurement(srcDir = SOURCES): Hex {
  if (srcDir !== SOURCES) return `0x${sha256Hex(canonicalJson(agentMeasurementDocument(srcDir)))}`;
  cached ??= `0x${sha256Hex(canonicalJson(agentMeasurementDocument(srcDir)))}`;
  return cached;
}

/**
 * The `agentVersion` string bound into every launch measurement: version and agent measurement.
 * @example agentVersionString() // "hypha-agent/0.1.0+0x3f..."
 */
export function agentVersionString(): string {
  return `hypha-agent/${AGENT_VERSION}+${agentMeasurement()}`;
}
