/**
 * Kubernetes workload manifests (Deployment apps/v1 or the seed's v1, Pod v1, Job batch/v1) ->
 * normalized WorkloadSpec. One container per workload: more containers are rejected with a clear
 * error rather than silently dropped. Fields that would change what runs but that Hypha does not
 * implement (volumes, valueFrom, probes, ...) are rejected as unsupported; a few that do not change
 * what runs (imagePullPolicy, rollout strategy, namespace and other metadata) are accepted and ignored.
 *
 * Job extras, as annotations on the Job's metadata:
 * - `hypha.dev/outputs`: comma-separated absolute paths of result files (default: the result is stdout).
 * - `hypha.dev/quorum`: how many replicas must agree on the output hash (default: a majority, floor(n/2)+1).
 * A Job's replicas = `spec.completions` (default 1); Hypha runs them all at once as independent,
 * redundant executions, so `parallelism` must be omitted or equal completions.
 */
import { z } from "zod";
import {
  bytesField,
  cpuField,
  describeValue,
  dnsName,
  envName,
  imageRef,
  integer,
  labelMap,
  looseMapping,
  stringMap,
  portName,
  protocol,
  restartPolicy,
  str,
  stringList,
  strictMapping,
  zodToSpecIssues,
} from "./manifestFields";
import { LIMITS } from "./limits";
import type { SpecIssue } from "./specError";
import {
  DEFAULT_RESOURCES,
  SPEC_FORMAT,
  comparePorts,
  outputPathProblem,
  type JobSpec,
  type PortSpec,
  type RestartPolicy,
  type WorkloadKind,
  type WorkloadSpec,
} from "./workloadSpec";

const ignored = z.unknown().optional();

const resourceAmounts = strictMapping({
  cpu: cpuField.optional(),
  memory: bytesField.optional(),
  "ephemeral-storage": bytesField.optional(),
});

const containerSchema = strictMapping({
  name: ignored,
  image: imageRef,
  command: stringList.nullable().optional(),
  args: stringList.nullable().optional(),
  env: z.array(strictMapping({ name: envName, value: str().optional() }), { error: (i) => `must be a list, got ${describeValue(i.input)}` }).optional(),
  workingDir: str("an absolute path")
    .check(z.refine((s) => s.startsWith("/"), { message: "must be an absolute path" }))
    .optional(),
  ports: z
    .array(strictMapping({ containerPort: integer(1, 65535), protocol: protocol.optional(), name: portName.optional() }), {
      error: (i) => `must be a list, got ${describeValue(i.input)}`,
    })
    .optional(),
  resources: strictMapping({ requests: resourceAmounts.optional(), limits: resourceAmounts.optional() }).optional(),
  imagePullPolicy: ignored,
  terminationMessagePath: ignored,
  terminationMessagePolicy: ignored,
});
type Container = z.infer<typeof containerSchema>;

const podSpecSchema = strictMapping({
  containers: z.array(containerSchema, { error: (i) => `is required (a list with one container), got ${describeValue(i.input)}` }),
  restartPolicy: restartPolicy.optional(),
  terminationGracePeriodSeconds: ignored,
  dnsPolicy: ignored,
});
type PodSpec = z.infer<typeof podSpecSchema>;

const metadataSchema = looseMapping({
  name: dnsName,
  labels: labelMap.optional(),
  annotations: stringMap(() => undefined).optional(),
});

const templateSchema = looseMapping({
  metadata: looseMapping({ labels: labelMap.optional() }).optional(),
  spec: podSpecSchema,
});

const deploymentSchema = looseMapping({
  metadata: metadataSchema,
  spec: strictMapping({
    replicas: integer(1, LIMITS.maxReplicas, "the contract's MAX_REPLICAS").optional(),
    selector: strictMapping({ matchLabels: labelMap.optional() }).optional(),
    template: templateSchema,
    strategy: ignored,
    minReadySeconds: ignored,
    revisionHistoryLimit: ignored,
    progressDeadlineSeconds: ignored,
  }),
});

const podSchema = looseMapping({ metadata: metadataSchema, spec: podSpecSchema });

const jobSchema = looseMapping({
  metadata: metadataSchema,
  spec: strictMapping({
    completions: integer(1, LIMITS.maxReplicas, "the contract's MAX_REPLICAS").optional(),
    parallelism: integer(1, LIMITS.maxReplicas).optional(),
    backoffLimit: integer(0, LIMITS.maxBackoffLimit, "the intent's maxRetries is a uint8").optional(),
    template: templateSchema,
    ttlSecondsAfterFinished: ignored,
  }),
});

export const HYPHA_ANNOTATIONS = { outputs: "hypha.dev/outputs", quorum: "hypha.dev/quorum" } as const;

export type KubernetesKind = "Deployment" | "Pod" | "Job";

/**
 * Validates and normalizes one Kubernetes workload document. Returns the spec or every issue.
 * @example normalizeKubernetes("Pod", yamlData, 0) // { spec: {...}, issues: [] }
 */
export function normalizeKubernetes(kind: KubernetesKind, data: unknown, document: number): { spec?: WorkloadSpec; issues: SpecIssue[] } {
  const schema = kind === "Deployment" ? deploymentSchema : kind === "Pod" ? podSchema : jobSchema;
  const parsed = schema.safeParse(data);
  const podPath = kind === "Pod" ? "spec" : "spec.template.spec";
  const issues: SpecIssue[] = parsed.success ? [] : zodToSpecIssues(parsed.error, document);
  // the one-container rule is reported even when other fields are also wrong
  issues.push(...containerCountIssues(data, podPath, document));
  if (!parsed.success || issues.length > 0) return { issues };

  const doc = parsed.data;
  const add = (path: string, message: string) => issues.push({ document, path, message });
  const podSpec: PodSpec = "template" in doc.spec ? doc.spec.template.spec : (doc.spec as PodSpec);
  const container = podSpec.containers[0];
  const podLabels = "template" in doc.spec ? (doc.spec.template.metadata?.labels ?? {}) : (doc.metadata.labels ?? {});
  const annotations = doc.metadata.annotations ?? {};

  const workloadKind: WorkloadKind = kind === "Job" ? "job" : "service";
  const restart = restartPolicyFor(kind, podSpec.restartPolicy, `${podPath}.restartPolicy`, add);
  let replicas = 1;
  if (kind === "Deployment") {
    const spec = (doc as z.infer<typeof deploymentSchema>).spec;
    replicas = spec.replicas ?? 1;
    for (const [k, v] of Object.entries(spec.selector?.matchLabels ?? {})) {
      if (podLabels[k] !== v) add(`spec.selector.matchLabels.${k}`, `selector ${k}=${v} does not match the template's labels`);
    }
  }
  let job: JobSpec | null = null;
  if (kind === "Job") {
    const spec = (doc as z.infer<typeof jobSchema>).spec;
    replicas = spec.completions ?? 1;
    if (spec.parallelism !== undefined && spec.parallelism !== replicas) {
      add(
        "spec.parallelism",
        `must equal completions (${replicas}) or be omitted: Hypha runs every completion at once as an independent replica for the result quorum`,
      );
    }
    job = jobFields(annotations, replicas, spec.backoffLimit ?? 6, add);
  }
  checkAnnotations(annotations, kind, add);

  const containerPath = `${podPath}.containers[0]`;
  const spec: WorkloadSpec = {
    format: SPEC_FORMAT,
    name: doc.metadata.name,
    kind: workloadKind,
    image: container.image,
    command: container.command && container.command.length > 0 ? container.command : null,
    args: container.args ?? [],
    env: normalizeEnv(container, `${containerPath}.env`, add),
    workingDir: container.workingDir ?? null,
    resources: normalizeResources(container, `${containerPath}.resources`, add),
    replicas,
    restartPolicy: restart,
    ports: normalizePorts(container, `${containerPath}.ports`, add),
    labels: sortedRecord(podLabels),
    job,
  };
  return issues.length > 0 ? { issues } : { spec, issues };
}

function containerCountIssues(data: unknown, podPath: string, document: number): SpecIssue[] {
  let node: unknown = data;
  for (const key of podPath.split(".")) node = node && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
  const containers = node && typeof node === "object" ? (node as Record<string, unknown>).containers : undefined;
  if (!Array.isArray(containers)) return [];
  if (containers.length === 0) return [{ document, path: `${podPath}.containers`, message: "must list exactly one container, got none" }];
  return containers.slice(1).map((_, i) => ({
    document,
    path: `${podPath}.containers[${i + 1}]`,
    message: "Hypha runs exactly one container per workload; put each container in its own document",
  }));
}

function restartPolicyFor(kind: KubernetesKind, given: RestartPolicy | undefined, path: string, add: (p: string, m: string) => void): RestartPolicy {
  if (kind === "Deployment") {
    if (given !== undefined && given !== "Always") add(path, `a Deployment's restartPolicy must be Always (Kubernetes rule), got ${given}`);
    return "Always";
  }
  if (kind === "Job") {
    if (given === "Always") add(path, "a Job's restartPolicy must be Never or OnFailure (Kubernetes rule), got Always");
    return given ?? "Never";
  }
  return given ?? "Always";
}

/** Job fields from annotations: quorum (default majority) and outputs. */
function jobFields(annotations: Record<string, string>, replicas: number, backoffLimit: number, add: (p: string, m: string) => void): JobSpec {
  const quorumPath = `metadata.annotations.${HYPHA_ANNOTATIONS.quorum}`;
  const outputsPath = `metadata.annotations.${HYPHA_ANNOTATIONS.outputs}`;
  let quorum = Math.floor(replicas / 2) + 1;
  const q = annotations[HYPHA_ANNOTATIONS.quorum];
  if (q !== undefined) {
    if (!/^\d+$/.test(q.trim())) add(quorumPath, `must be a whole number, got ${JSON.stringify(q)}`);
    else if (Number(q) < 1 || Number(q) > replicas) add(quorumPath, `must be between 1 and the number of replicas (${replicas}), got ${q}`);
    else quorum = Number(q);
  }
  const raw = annotations[HYPHA_ANNOTATIONS.outputs];
  const list =
    raw === undefined
      ? []
      : raw
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s.length > 0);
  const outputs = [...new Set(list)].sort();
  if (outputs.length > LIMITS.maxOutputs) add(outputsPath, `declares ${outputs.length} outputs, at most ${LIMITS.maxOutputs}`);
  for (const o of outputs) {
    const problem = outputPathProblem(o);
    if (problem) add(outputsPath, problem);
  }
  return { quorum, outputs, backoffLimit };
}

function checkAnnotations(annotations: Record<string, string>, kind: KubernetesKind, add: (p: string, m: string) => void): void {
  const known = Object.values(HYPHA_ANNOTATIONS) as string[];
  for (const key of Object.keys(annotations)) {
    if (!key.startsWith("hypha.dev/")) continue;
    if (!known.includes(key)) add(`metadata.annotations.${key}`, `unknown Hypha annotation (known: ${known.join(", ")})`);
    else if (kind !== "Job") add(`metadata.annotations.${key}`, "only applies to a Job");
  }
}

function normalizeEnv(container: Container, path: string, add: (p: string, m: string) => void) {
  const seen = new Map<string, number>();
  (container.env ?? []).forEach((e, i) => {
    if (seen.has(e.name)) add(`${path}[${i}].name`, `duplicate environment variable ${e.name} (also at [${seen.get(e.name)}])`);
    else seen.set(e.name, i);
  });
  return (container.env ?? []).map((e) => ({ name: e.name, value: e.value ?? "" })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function normalizePorts(container: Container, path: string, add: (p: string, m: string) => void): PortSpec[] {
  const ports: PortSpec[] = (container.ports ?? []).map((p) => ({ containerPort: p.containerPort, protocol: p.protocol ?? "TCP", name: p.name ?? null }));
  const sorted = [...ports].sort(comparePorts);
  for (let i = 1; i < sorted.length; i++) {
    if (comparePorts(sorted[i - 1], sorted[i]) === 0) add(path, `port ${sorted[i].containerPort}/${sorted[i].protocol} is declared twice`);
  }
  const names = ports.map((p) => p.name).filter((n) => n !== null);
  if (new Set(names).size !== names.length) add(path, "port names must be unique");
  return sorted;
}

function normalizeResources(container: Container, path: string, add: (p: string, m: string) => void) {
  const requests = container.resources?.requests ?? {};
  const limits = container.resources?.limits ?? {};
  const pick = (key: "cpu" | "memory" | "ephemeral-storage", fallback: number): number => {
    const req = requests[key];
    const lim = limits[key];
    if (req !== undefined && lim !== undefined && lim < req) add(`${path}.limits.${key}`, `limit is below the request (Kubernetes rule)`);
    return lim ?? req ?? fallback;
  };
  return {
    cpuMillis: pick("cpu", DEFAULT_RESOURCES.cpuMillis),
    memoryBytes: pick("memory", DEFAULT_RESOURCES.memoryBytes),
    diskBytes: pick("ephemeral-storage", DEFAULT_RESOURCES.diskBytes),
  };
}

/** A record with keys in sorted order (canonical JSON sorts anyway; this keeps printed specs stable). */
export function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
