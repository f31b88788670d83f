/**
 * The normalized WorkloadSpec: what every manifest form (Deployment, Pod, Job, signed ConfigMap)
 * turns into, with every default filled in, so that its canonical JSON - and so the specHash -
 * depends only on meaning. Also the defaults that apply to it, and a strict schema to re-validate a
 * spec fetched as a blob (the limits are in ./limits).
 *
 * Field meanings (see also docs in README "Workload specs"):
 * - `format`: version of this normalized shape ("hypha.spec/v1"); changing the shape changes every hash.
 * - `command`: the entrypoint argv; null = the image's own default command (Kubernetes: command omitted).
 * - `args`: arguments after the command ([] = none; with command null, [] means the image's default args).
 * - `env`: sorted by name, names unique, plain values only.
 * - `resources`: the one amount Hypha both reserves on the node and enforces as the limit
 *   (limits if given, else requests, else the defaults below; Hypha never over-commits).
 * - `job`: null for services; for jobs the result quorum, declared output files and retry limit.
 */
import { z } from "zod";
import { LIMITS } from "./limits";

export const SPEC_FORMAT = "hypha.spec/v1";

export type RestartPolicy = "Always" | "OnFailure" | "Never";
export type WorkloadKind = "service" | "job";
export type PortProtocol = "TCP" | "UDP" | "SCTP";

export interface EnvVar {
  name: string;
  value: string;
}

export interface PortSpec {
  containerPort: number;
  protocol: PortProtocol;
  name: string | null;
}

export interface ResourceSpec {
  /** CPU in millicores (1000 = one core). */
  cpuMillis: number;
  /** Memory in exact bytes. */
  memoryBytes: number;
  /** Ephemeral disk (Kubernetes `ephemeral-storage`) in exact bytes. */
  diskBytes: number;
}

export interface JobSpec {
  /** How many replicas must report the same output hash for the result to be final. */
  quorum: number;
  /** Absolute paths of files the job writes as its result, sorted; [] = the result is stdout alone. */
  outputs: string[];
  /** Kubernetes backoffLimit: retries before the job counts as failed (fits the intent's uint8 maxRetries). */
  backoffLimit: number;
}

/** Normalized, JSON-serializable (no undefined), hashed as RFC 8785 canonical JSON. */
export interface WorkloadSpec {
  format: typeof SPEC_FORMAT;
  name: string;
  kind: WorkloadKind;
  image: string;
  command: string[] | null;
  args: string[];
  env: EnvVar[];
  workingDir: string | null;
  resources: ResourceSpec;
  replicas: number;
  restartPolicy: RestartPolicy;
  ports: PortSpec[];
  labels: Record<string, string>;
  job: JobSpec | null;
}

/** Defaults filled in before hashing when a container declares no resources. */
export const DEFAULT_RESOURCES: ResourceSpec = {
  cpuMillis: 100, // 100m
  memoryBytes: 64 * 1024 * 1024, // 64Mi
  diskBytes: 256 * 1024 * 1024, // 256Mi
};

export const NAME_RE = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
export const ENV_NAME_RE = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
export const PORT_NAME_RE = /^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/;
const LABEL_NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_PREFIX_RE = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Why a label key is invalid, or undefined if it is valid (Kubernetes rules). */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && !LABEL_PREFIX_RE.test(prefix)) return `label key prefix "${prefix}" is not a DNS subdomain`;
  if (!LABEL_NAME_RE.test(name)) return `label key "${key}" must be 1-63 characters [A-Za-z0-9-_.], starting and ending alphanumeric`;
  return undefined;
}

/** Why a label value is invalid, or undefined if it is valid (Kubernetes rules). */
export function labelValueProblem(value: string): string | undefined {
  if (value === "" || LABEL_NAME_RE.test(value)) return undefined;
  return `label value "${value}" must be empty or 1-63 characters [A-Za-z0-9-_.], starting and ending alphanumeric`;
}

/** Why an output path is invalid, or undefined. */
export function outputPathProblem(path: string): string | undefined {
  if (!path.startsWith("/")) return `output "${path}" must be an absolute path`;
  if (path.endsWith("/")) return `output "${path}" must name a file, not a directory`;
  if (path.split("/").some((p) => p === ".." || p === ".")) return `output "${path}" must not contain . or ..`;
  if (/[\0\n]/.test(path)) return `output "${path}" contains a NUL or newline`;
  if (path.length > 4096) return "output path is longer than 4096 characters";
  return undefined;
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const nonEmpty = z.string().min(1);

/** Strict schema of a normalized spec (used to re-validate spec blobs). */
export const workloadSpecSchema = z
  .strictObject({
    format: z.literal(SPEC_FORMAT),
    name: z.string().regex(NAME_RE, "must be a DNS-1123 name"),
    kind: z.enum(["service", "job"]),
    image: nonEmpty.regex(/^\S+$/, "must not contain whitespace"),
    command: z.array(z.string()).min(1).nullable(),
    args: z.array(z.string()),
    env: z.array(
      z.strictObject({
        name: z
          .string()
          .regex(ENV_NAME_RE)
          .refine((n) => n !== "__proto__", "is a reserved name"),
        value: z.string(),
      }),
    ),
    workingDir: z.string().startsWith("/").nullable(),
    resources: z.strictObject({
      cpuMillis: int(1, LIMITS.maxCpuMillis),
      memoryBytes: int(1, LIMITS.maxBytes),
      diskBytes: int(1, LIMITS.maxBytes),
    }),
    replicas: int(1, LIMITS.maxReplicas),
    restartPolicy: z.enum(["Always", "OnFailure", "Never"]),
    ports: z.array(
      z.strictObject({
        containerPort: int(1, 65535),
        protocol: z.enum(["TCP", "UDP", "SCTP"]),
        name: z.string().regex(PORT_NAME_RE).nullable(),
      }),
    ),
    labels: z.record(z.string(), z.string()),
    job: z
      .strictObject({
        quorum: int(1, LIMITS.maxReplicas),
        outputs: z.array(z.string()).max(LIMITS.maxOutputs),
        backoffLimit: int(0, LIMITS.maxBackoffLimit),
      })
      .nullable(),
  })
  .superRefine((spec, ctx) => {
    for (const problem of specInvariantProblems(spec as WorkloadSpec)) {
      ctx.addIssue({ code: "custom", path: problem.path, message: problem.message });
    }
  });

/**
 * Cross-field rules every normalized spec obeys (sorted/unique lists, kind vs job, quorum <= replicas...).
 * The normalizers build specs that satisfy them; specFromCanonicalJson checks them on fetched blobs.
 */
export function specInvariantProblems(spec: WorkloadSpec): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  for (let i = 1; i < spec.env.length; i++) {
    if (!(spec.env[i - 1].name < spec.env[i].name)) out.push({ path: ["env", i], message: "env must be sorted by name with unique names" });
  }
  for (let i = 1; i < spec.ports.length; i++) {
    if (comparePorts(spec.ports[i - 1], spec.ports[i]) >= 0) {
      out.push({ path: ["ports", i], message: "ports must be sorted by containerPort, protocol and unique" });
    }
  }
  for (const [k, v] of Object.entries(spec.labels)) {
    const problem = labelKeyProblem(k) ?? labelValueProblem(v);
    if (problem) out.push({ path: ["labels", k], message: problem });
  }
  if (spec.kind === "job") {
    if (!spec.job) out.push({ path: ["job"], message: "a job needs its job fields" });
    else {
      if (spec.job.quorum > spec.replicas) out.push({ path: ["job", "quorum"], message: "quorum exceeds replicas" });
      else if (spec.job.quorum * 2 <= spec.replicas) {
        out.push({
          path: ["job", "quorum"],
          message: `must be a strict majority of the ${spec.replicas} replicas (at least ${Math.floor(spec.replicas / 2) + 1}): a result stands only when most replicas agree`,
        });
      }
      spec.job.outputs.forEach((o, i) => {
        const problem = outputPathProblem(o);
        if (problem) out.push({ path: ["job", "outputs", i], message: problem });
        if (i > 0 && !(spec.job!.outputs[i - 1] < o)) out.push({ path: ["job", "outputs", i], message: "outputs must be sorted and unique" });
      });
    }
    if (spec.restartPolicy === "Always") out.push({ path: ["restartPolicy"], message: "a job cannot have restartPolicy Always" });
  } else if (spec.job !== null) {
    out.push({ path: ["job"], message: "a service has no job fields (must be null)" });
  }
  return out;
}

/** Orders ports by containerPort, then protocol. */
export function comparePorts(a: PortSpec, b: PortSpec): number {
  if (a.containerPort !== b.containerPort) return a.containerPort - b.containerPort;
  return a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0;
}
