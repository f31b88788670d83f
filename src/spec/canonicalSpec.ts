/**
 * The spec's one byte encoding and its hash: RFC 8785 (JCS) canonical JSON via the `canonicalize`
 * package, specHash = sha256 of those UTF-8 bytes as 0x + 64 hex. Also the agent-side inverse:
 * parse a fetched spec blob and re-validate it strictly (shape, rules, and that it is canonical).
 */
import canonicalize from "canonicalize";
import { sha256, stringToBytes } from "viem";
import { zodToSpecIssues } from "./manifestFields";
import { SpecError } from "./specError";
import { workloadSpecSchema, type WorkloadSpec } from "./workloadSpec";

/**
 * RFC 8785 canonical JSON of a normalized spec (the exact bytes published as the spec blob).
 * @example canonicalSpecJson(spec) // '{"args":[],"command":["echo","hi"],...}'
 */
export function canonicalSpecJson(spec: WorkloadSpec): string {
  const json = canonicalize(spec);
  if (json === undefined) throw new SpecError([{ document: -1, path: "", message: "spec is not JSON-serializable" }]);
  return json;
}

/**
 * specHash: sha256 over the canonical JSON's UTF-8 bytes, 0x-prefixed lowercase hex (a bytes32).
 * @example computeSpecHash(parseManifests(text)[0].spec) // "0x3f2a…" (66 characters)
 */
export function computeSpecHash(spec: WorkloadSpec): `0x${string}` {
  // viem's sha256 (noble) rather than node:crypto, so the SDK computes it in a browser too.
  return sha256(stringToBytes(canonicalSpecJson(spec)));
}

/**
 * Agent side: parse a spec blob (after checking sha256(blob) == specHash) and re-validate it. The
 * blob must be a valid normalized spec AND already canonical, so one spec has exactly one encoding.
 * @example const spec = specFromCanonicalJson(await (await fetch(url)).text())
 */
export function specFromCanonicalJson(json: string): WorkloadSpec {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw new SpecError([{ document: 0, path: "", message: `spec blob is not JSON: ${(e as Error).message}` }], { cause: e });
  }
  const parsed = workloadSpecSchema.safeParse(data);
  if (!parsed.success) {
    throw new SpecError(zodToSpecIssues(parsed.error, 0));
  }
  const spec = parsed.data as WorkloadSpec;
  if (canonicalSpecJson(spec) !== json) {
    throw new SpecError([{ document: 0, path: "", message: "spec blob is not in RFC 8785 canonical form (re-encoding it gives different bytes)" }]);
  }
  return spec;
}
