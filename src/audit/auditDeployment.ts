/**
 * Audits one deployment end to end, for the CLI (`hypha audit`) and the REST API: collects the
 * chain data, re-derives the specHash from a given manifest or else from the public spec blob in
 * the store (verified against the hash, re-parsed and re-canonicalized), and runs every check.
 */
import type { Hex, PublicClient } from "viem";
import type { HyphaAddresses } from "../chain/addresses";
import { runAuditChecks, type AuditInput, type AuditReport } from "./checks";
import { collectAuditInput } from "./collect";
import { HyphaError } from "../errors";
import { ImageError } from "../image/imageError";
import { StoreClient } from "../image/storeClient";
import { computeSpecHash, specFromCanonicalJson, type ParsedWorkload } from "../spec";

export interface AuditOptions {
  /** Workloads parsed from the manifest the deployment claims to run, and a label for messages. */
  manifest?: { workloads: ParsedWorkload[]; label: string };
  /** Store to fetch the spec blob from when no manifest is given. */
  storeUrl?: string;
}

/**
 * Runs the full audit of deployment `id`.
 * @example const report = await auditDeployment(pc, addresses, id, { storeUrl: "http://127.0.0.1:7700" }); report.verdict
 */
export async function auditDeployment(publicClient: PublicClient, addresses: HyphaAddresses, id: Hex, opts: AuditOptions = {}): Promise<AuditReport> {
  const input = await collectAuditInput(publicClient, addresses, id);
  if (opts.manifest) input.derivedSpecHash = specHashFromWorkloads(opts.manifest.workloads, opts.manifest.label, input.intent.specHash);
  else if (opts.storeUrl) input.derivedSpecHash = await specHashFromStore(opts.storeUrl, input.intent.specHash);
  return runAuditChecks(input);
}

/**
 * The specHash re-derived from a manifest: the workload whose hash matches, else the first.
 * @example specHashFromWorkloads(parseManifests(text), "app.yaml", intent.specHash)
 */
export function specHashFromWorkloads(workloads: ParsedWorkload[], label: string, onChain: Hex): AuditInput["derivedSpecHash"] {
  if (workloads.length === 0) return { error: "holds no workload", source: label };
  const hashes = workloads.map((w) => ({ w, hash: computeSpecHash(w.spec) }));
  const match = hashes.find((h) => h.hash.toLowerCase() === onChain.toLowerCase()) ?? hashes[0];
  return { hash: match.hash, spec: match.w.spec, source: workloads.length > 1 ? `${label} (document ${match.w.document}, ${match.w.spec.name})` : label };
}

/**
 * The specHash re-derived from the store's spec blob; undefined when the store is unreachable or
 * lacks it (the check is then skipped, not failed).
 * @example await specHashFromStore("http://127.0.0.1:7700", intent.specHash)
 */
export async function specHashFromStore(storeUrl: string, onChain: Hex): Promise<AuditInput["derivedSpecHash"]> {
  const source = `spec blob at ${storeUrl}`;
  let json: string | undefined;
  try {
    json = await new StoreClient([storeUrl]).findSpecJson(onChain);
  } catch (err) {
    if (err instanceof ImageError && err.code === "UNAVAILABLE") return undefined;
    return { error: err instanceof HyphaError ? err.shortMessage : String(err), source };
  }
  if (json === undefined) return undefined;
  try {
    const spec = specFromCanonicalJson(json);
    return { hash: computeSpecHash(spec), spec, source: `${source} (re-parsed and re-canonicalized)` };
  } catch (err) {
    return { error: `not a valid workload spec: ${(err as HyphaError).shortMessage ?? (err as Error).message}`, source };
  }
}
