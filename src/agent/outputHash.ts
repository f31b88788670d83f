/**
 * A job replica's outputHash: what quorum agreement on-chain compares across nodes.
 *
 * outputHash = sha256 over the RFC 8785 (JCS) canonical JSON of
 *   { "stdout": "<sha256 hex of the stdout bytes>", "files": { "<declared path>": "<sha256 hex>" | null } }
 * with one entry per declared output path (null when the job did not produce it). stderr is not
 * included: it carries diagnostics that may legitimately differ between nodes.
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import type { Hex } from "viem";
import { canonicalJson } from "./measurement";

function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * outputHash from the job's stdout bytes and its declared output files' bytes (pure).
 * @example computeOutputHash(Buffer.from("hi\n"), { "/out/result": Buffer.from("42") })
 */
export function computeOutputHash(stdout: Uint8Array, files: Record<string, Uint8Array | null>): Hex {
  const doc = {
    stdout: sha256Hex(stdout),
    files: Object.fromEntries(Object.entries(files).map(([p, b]) => [p, b === null ? null : sha256Hex(b)])),
  };
  return `0x${createHash("sha256").update(canonicalJson(doc)).digest("hex")}`;
}

/**
 * Read stdout and declared outputs from disk and hash them. `outputs` maps each declared path
 * (inside the image) to the host file it was written to.
 * @example await readOutputHash("/data/r/stdout.log", { "/out/result": "/data/r/out/result" })
 */
export async function readOutputHash(stdoutFile: string, outputs: Record<string, string>): Promise<Hex> {
  const stdout = await fs.readFile(stdoutFile).catch(() => Buffer.alloc(0));
  const files: Record<string, Uint8Array | null> = {};
  for (const [inside, host] of Object.entries(outputs)) files[inside] = await fs.readFile(host).catch(() => null);
  return computeOutputHash(stdout, files);
}
