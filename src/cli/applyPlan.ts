/**
 * What `hypha apply` does with one workload, decided before any token moves, the way kubectl
 * apply does: nothing when the deployer's active deployment of that name already runs this spec
 * and image root;
 * a scale when only a service's replica count differs; else a new deployment that replaces the
 * old one (submitted first, the old one deleted after, its escrow refunded). Pure; `diff` and
 * `--dry-run` print the same plan.
 */
import type { Hex } from "viem";
import type { DeploymentResource } from "../api/deploymentResource";
import { HyphaError } from "../errors";
import type { WorkloadSpec } from "../spec";

export type ApplyAction =
  | { action: "create"; name: string }
  | { action: "unchanged"; name: string; existing: DeploymentResource }
  | { action: "scale"; name: string; existing: DeploymentResource; from: number; to: number }
  | { action: "replace"; name: string; existing: DeploymentResource; changes: FieldChange[] };

/** One changed field of the spec, by dotted path; undefined = absent. */
export interface FieldChange {
  path: string;
  from: unknown;
  to: unknown;
}

/** An active deployment of the same name, with its spec when the store has the blob. */
export interface ExistingDeployment {
  resource: DeploymentResource;
  spec?: WorkloadSpec;
}

/**
 * Decides the action for `spec` (hash `specHash`) given the deployer's active deployments that
 * carry the same name.
 * @example planApply(spec, hash, []) // { action: "create", name: spec.name }
 */
export function planApply(spec: WorkloadSpec, specHash: Hex, existing: ExistingDeployment[], imageRoot?: Hex): ApplyAction {
  const name = spec.name;
  if (existing.length === 0) return { action: "create", name };
  if (existing.length > 1) {
    throw new HyphaError(`${name}: ${existing.length} active deployments of yours carry this name; delete the extra ones first (hypha delete deployment ID):`, {
      details: existing.map((e) => `  ${e.resource.id}  ${e.resource.phase}  block ${e.resource.submitted.block}`).join("\n"),
    });
  }
  const [{ resource, spec: old }] = existing;
  // The image name may point at other content now (a moved tag): the on-chain root is what runs.
  const imageChange: FieldChange[] =
    imageRoot !== undefined && resource.intent.imageRoot.toLowerCase() !== imageRoot.toLowerCase()
      ? [{ path: "imageRoot", from: resource.intent.imageRoot, to: imageRoot }]
      : [];
  if (!old) {
    if (resource.intent.specHash.toLowerCase() === specHash.toLowerCase() && resource.replicas.desired === spec.replicas && imageChange.length === 0)
      return { action: "unchanged", name, existing: resource };
    return { action: "replace", name, existing: resource, changes: [{ path: "specHash", from: resource.intent.specHash, to: specHash }, ...imageChange] };
  }
  const changes = [...specChanges({ ...old, replicas: resource.replicas.desired }, spec), ...imageChange];
  if (changes.length === 0) return { action: "unchanged", name, existing: resource };
  if (changes.every((c) => c.path === "replicas") && spec.kind === "service" && resource.kind === "service") {
    return { action: "scale", name, existing: resource, from: resource.replicas.desired, to: spec.replicas };
  }
  return { action: "replace", name, existing: resource, changes };
}

/**
 * The fields that differ between two specs, as dotted paths (list items by index).
 * @example specChanges(a, { ...a, replicas: 3 }) // [{ path: "replicas", from: 1, to: 3 }]
 */
export function specChanges(from: WorkloadSpec, to: WorkloadSpec): FieldChange[] {
  const a = flatten(from);
  const b = flatten(to);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths.filter((p) => JSON.stringify(a.get(p)) !== JSON.stringify(b.get(p))).map((p) => ({ path: p, from: a.get(p), to: b.get(p) }));
}

function flatten(value: unknown, prefix = "", out = new Map<string, unknown>()): Map<string, unknown> {
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    if (entries.length === 0) out.set(prefix, value);
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, value);
  return out;
}

/**
 * The plan in one line for people (printed before anything is sent).
 * @example describeAction({ action: "create", name: "web" }) // "web: will create a new deployment"
 */
export function describeAction(a: ApplyAction): string {
  switch (a.action) {
    case "create":
      return `${a.name}: will create a new deployment`;
    case "unchanged":
      return `${a.name}: unchanged (deployment ${a.existing.id} is ${a.existing.phase}); nothing to send`;
    case "scale":
      return `${a.name}: will scale deployment ${a.existing.id} from ${a.from} to ${a.to} replicas (no new escrow)`;
    case "replace":
      return `${a.name}: changed (${a.changes.map((c) => c.path).join(", ")}): will submit a new deployment, then delete ${a.existing.id} (its escrow left is refunded)`;
  }
}

/**
 * The changes as diff lines: `-` the old value, `+` the new one.
 * @example diffLines([{ path: "replicas", from: 1, to: 3 }]) // ["-  replicas: 1", "+  replicas: 3"]
 */
export function diffLines(changes: FieldChange[]): string[] {
  const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  return changes.flatMap((c) => [
    ...(c.from === undefined ? [] : [`-  ${c.path}: ${show(c.from)}`]),
    ...(c.to === undefined ? [] : [`+  ${c.path}: ${show(c.to)}`]),
  ]);
}
