/**
 * Entry point of the spec part: manifest text (one or many YAML documents) -> validated, normalized
 * workloads. Every problem in every document is collected and thrown together as one SpecError.
 */
import { normalizeContractConfigMap, type SignedContract } from "./contractConfigMap";
import { normalizeKubernetes, type KubernetesKind } from "./kubernetesManifest";
import { describeValue } from "./manifestFields";
import { SpecError, type SpecIssue } from "./specError";
import { LIMITS } from "./limits";
import type { WorkloadSpec } from "./workloadSpec";
import { parseYamlDocuments } from "./yamlDocuments";

export interface ParsedWorkload {
  /** 0-based index of the YAML document in the file. */
  document: number;
  source: "Deployment" | "Pod" | "Job" | "ConfigMap";
  spec: WorkloadSpec;
  /** Only for the ConfigMap (smart-contract) form. */
  signed?: SignedContract;
}

/** Accepted apiVersion per kind. The seed writes its Deployment as `apiVersion: v1`, so that is accepted too. */
export const SUPPORTED_KINDS: Record<ParsedWorkload["source"], string[]> = {
  Deployment: ["apps/v1", "v1"],
  Pod: ["v1"],
  Job: ["batch/v1"],
  ConfigMap: ["v1"],
};

/**
 * Parses and validates manifests; throws SpecError listing every problem (document, field path, reason).
 * @example
 * const [w] = parseManifests(fs.readFileSync("examples/deployment.yaml", "utf8"), { source: "examples/deployment.yaml" });
 * computeSpecHash(w.spec) // "0x…"
 */
export function parseManifests(text: string, opts: { source?: string } = {}): ParsedWorkload[] {
  if (typeof text !== "string") throw new SpecError([{ document: -1, path: "", message: "manifest must be text" }], opts);
  const size = new TextEncoder().encode(text).length; // not Buffer: the SDK parses manifests in a browser too
  if (size > LIMITS.maxManifestBytes) {
    throw new SpecError([{ document: -1, path: "", message: `manifest is ${size} bytes, over the ${LIMITS.maxManifestBytes}-byte (256 KiB) limit` }], opts);
  }
  const { documents, issues } = parseYamlDocuments(text);
  const workloads: ParsedWorkload[] = [];
  for (const doc of documents) {
    const result = normalizeDocument(doc.data, doc.index);
    issues.push(...result.issues);
    if (result.workload) workloads.push(result.workload);
  }
  if (issues.length === 0 && workloads.length === 0) issues.push({ document: -1, path: "", message: "no workload found (the file has no YAML documents)" });
  if (issues.length > 0)
    throw new SpecError(
      issues.sort((a, b) => a.document - b.document),
      opts,
    );
  return workloads;
}

function normalizeDocument(data: unknown, document: number): { workload?: ParsedWorkload; issues: SpecIssue[] } {
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    return { issues: [{ document, path: "", message: `must be a mapping with apiVersion and kind, got ${describeValue(data)}` }] };
  }
  const { apiVersion, kind } = data as Record<string, unknown>;
  const issues: SpecIssue[] = [];
  if (typeof kind !== "string") {
    issues.push({
      document,
      path: "kind",
      message: `${kind === undefined ? "is required" : `must be a string, got ${describeValue(kind)}`} (one of ${Object.keys(SUPPORTED_KINDS).join(", ")})`,
    });
  } else if (!(kind in SUPPORTED_KINDS)) {
    issues.push({ document, path: "kind", message: `unknown kind ${JSON.stringify(kind)} (supported: ${Object.keys(SUPPORTED_KINDS).join(", ")})` });
  }
  if (typeof apiVersion !== "string") {
    issues.push({ document, path: "apiVersion", message: apiVersion === undefined ? "is required" : `must be a string, got ${describeValue(apiVersion)}` });
  } else if (typeof kind === "string" && kind in SUPPORTED_KINDS) {
    const allowed = SUPPORTED_KINDS[kind as ParsedWorkload["source"]];
    if (!allowed.includes(apiVersion))
      issues.push({
        document,
        path: "apiVersion",
        message: `unsupported apiVersion ${JSON.stringify(apiVersion)} for ${kind} (supported: ${allowed.join(", ")})`,
      });
  }
  if (issues.length > 0) return { issues };
  const source = kind as ParsedWorkload["source"];
  if (source === "ConfigMap") {
    const r = normalizeContractConfigMap(data, document);
    return r.spec && r.signed ? { workload: { document, source, spec: r.spec, signed: r.signed }, issues: r.issues } : { issues: r.issues };
  }
  const r = normalizeKubernetes(source as KubernetesKind, data, document);
  return r.spec ? { workload: { document, source, spec: r.spec }, issues: r.issues } : { issues: r.issues };
}
