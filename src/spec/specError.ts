/**
 * SpecError: the one error the spec part throws for bad manifests or spec blobs. It carries every
 * problem found (not just the first) as { document, path, message } so a CLI can print them all.
 */
import { HyphaError } from "../errors";

/** One problem in a manifest. `document` is the 0-based YAML document index, -1 for the whole file. */
export interface SpecIssue {
  document: number;
  /** Field path like `spec.template.spec.containers[0].resources.limits.memory`, or "" for the document itself. */
  path: string;
  message: string;
}

/**
 * Thrown by parseManifests / specFromCanonicalJson / renderSignedConfigMap with ALL issues found.
 * @example
 * try { parseManifests(text) } catch (e) { if (e instanceof SpecError) for (const i of e.issues) console.log(formatSpecIssue(i)) }
 */
export class SpecError extends HyphaError {
  override name = "SpecError";
  readonly issues: SpecIssue[];

  constructor(issues: SpecIssue[], options: { source?: string; cause?: unknown } = {}) {
    const prefix = options.source ? `${options.source}: ` : "";
    const first = issues[0] ? formatSpecIssue(issues[0]) : "invalid workload spec";
    const short = issues.length <= 1 ? `${prefix}${first}` : `${prefix}${issues.length} problems in manifest; first: ${first}`;
    super(short, {
      details: issues.length > 1 ? issues.map((i) => `  - ${formatSpecIssue(i)}`).join("\n") : undefined,
      cause: options.cause,
    });
    this.issues = issues;
  }
}

/**
 * One line for one issue.
 * @example formatSpecIssue({ document: 0, path: "spec.replicas", message: "must be at most 255" })
 * // "document 0, spec.replicas: must be at most 255"
 */
export function formatSpecIssue(issue: SpecIssue): string {
  const where = issue.document < 0 ? "file" : `document ${issue.document}`;
  return issue.path ? `${where}, ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** Formats a path array (from zod or our own walkers) as `a.b[0].c`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** Joins a base path and a child path (either may be empty). */
export function joinPath(base: string, child: string): string {
  if (!base) return child;
  if (!child) return base;
  return child.startsWith("[") ? base + child : `${base}.${child}`;
}
