/**
 * The seed's "smart contract" ConfigMap form: a portable signed deployment. `data.contract` holds,
 * as a YAML string, `smart_contract: { signature, workload_spec: { image, replicas, verification_hash } }`.
 * Hypha adds optional fields so any WorkloadSpec and its signed intent fit (written by
 * renderSignedConfigMap): beside `signature` the intent fields (deployer, image_root, nonce, deadline,
 * budget, max_price_per_second, max_retries, chain_id, verifying_contract); inside `workload_spec`
 * name, kind, command, args, env, working_dir, resources, ports, labels, restart_policy and for jobs
 * quorum, outputs, backoff_limit. Omitted fields take the same defaults as the Kubernetes forms,
 * so the seed's example (image "ubuntu-latest", no command: the image's default command) is valid.
 *
 * `verification_hash` is the specHash and `signature` the deployer's EIP-712 intent signature. Values
 * not starting with 0x (like the seed's "sha256_hash_of_workload") are placeholders: parsed fine,
 * flagged `placeholder: true`, for the CLI to refuse and point to `hypha sign`.
 */
import { z } from "zod";
import {
  bytesField,
  cpuField,
  describeValue,
  dnsName,
  envNameProblem,
  imageRef,
  integer,
  labelMap,
  looseMapping,
  outputPath,
  portName,
  protocol,
  restartPolicy,
  str,
  stringList,
  strictMapping,
  zodToSpecIssues,
} from "./manifestFields";
import { sortedRecord } from "./kubernetesManifest";
import { parseYamlDocuments, NumericLiteral } from "./yamlDocuments";
import type { SpecIssue } from "./specError";
import { LIMITS } from "./limits";
import { DEFAULT_RESOURCES, SPEC_FORMAT, comparePorts, type EnvVar, type WorkloadSpec } from "./workloadSpec";

/** Intent fields carried beside the signature; all decimal strings / 0x hex strings. */
export interface SignedIntentFields {
  deployer: string;
  imageRoot: string;
  nonce: string;
  deadline: string;
  budget: string;
  maxPricePerSecond: string;
  maxRetries: string;
  /** Optional: the job default (3600 s) or 0 for services when absent. */
  maxRunSeconds?: string;
  chainId?: string;
  verifyingContract?: string;
}

export interface SignedContract {
  /** 0x + 64 hex (lowercase) when real; the raw text (or "") when a placeholder. */
  verificationHash: string;
  /** 0x hex when real; the raw text (or "") when a placeholder. */
  signature: string;
  intent?: SignedIntentFields;
  /** True when the hash or the signature is missing or a placeholder (not 0x...). */
  placeholder: boolean;
}

const HASH_RE = /^0x[0-9a-fA-F]{64}$/;
const SIG_RE = /^0x(?:[0-9a-fA-F]{2})+$/;
const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;

/** An unsigned integer given as a YAML number or a decimal string, kept as a decimal string. */
function uintString(bits: number) {
  const max = (1n << BigInt(bits)) - 1n;
  return z.unknown().transform((v, ctx) => {
    const text = v instanceof NumericLiteral ? v.source : typeof v === "string" ? v.trim() : undefined;
    if (text === undefined || !/^\d+$/.test(text)) {
      ctx.issues.push({ code: "custom", input: v, message: `must be a whole number (decimal), got ${describeValue(v)}` });
      return z.NEVER;
    }
    const n = BigInt(text);
    if (n > max) {
      ctx.issues.push({ code: "custom", input: v, message: `must fit uint${bits} (at most ${max}), got ${text}` });
      return z.NEVER;
    }
    return n.toString();
  });
}

const hex = (re: RegExp, what: string) =>
  str(what)
    .check(z.refine((s) => re.test(s), { message: `must be ${what}` }))
    .transform((s) => s.toLowerCase());

/** env as a mapping NAME: value (read from own keys, so no name is lost to prototype tricks). */
const envMap = z.unknown().transform((v, ctx): EnvVar[] => {
  if (v === undefined || v === null) return [];
  if (typeof v !== "object" || Array.isArray(v) || v instanceof NumericLiteral) {
    ctx.issues.push({ code: "custom", input: v, message: `must be a mapping NAME: value, got ${describeValue(v)}` });
    return z.NEVER;
  }
  const out: EnvVar[] = [];
  for (const [name, value] of Object.entries(v as Record<string, unknown>)) {
    const problem = envNameProblem(name);
    if (problem) ctx.issues.push({ code: "custom", input: name, path: [name], message: problem });
    if (typeof value !== "string")
      ctx.issues.push({ code: "custom", input: value, path: [name], message: `must be a string (quote numbers), got ${describeValue(value)}` });
    else out.push({ name, value });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
});

const workloadSpecSchema = strictMapping({
  image: imageRef,
  replicas: integer(1, LIMITS.maxReplicas, "the contract's MAX_REPLICAS").optional(),
  verification_hash: str().optional(),
  name: dnsName.optional(),
  kind: z.enum(["service", "job"], { error: (i) => `must be service or job, got ${describeValue(i.input)}` }).optional(),
  command: stringList.nullable().optional(),
  args: stringList.optional(),
  env: envMap.optional(),
  working_dir: str("an absolute path")
    .check(z.refine((s) => s.startsWith("/"), { message: "must be an absolute path" }))
    .optional(),
  resources: strictMapping({ cpu: cpuField.optional(), memory: bytesField.optional(), ephemeral_storage: bytesField.optional() }).optional(),
  ports: z.array(strictMapping({ container_port: integer(1, 65535), protocol: protocol.optional(), name: portName.optional() })).optional(),
  labels: labelMap.optional(),
  restart_policy: restartPolicy.optional(),
  quorum: integer(1, LIMITS.maxReplicas).optional(),
  outputs: z.array(outputPath).max(LIMITS.maxOutputs).optional(),
  backoff_limit: integer(0, LIMITS.maxBackoffLimit, "the intent's maxRetries is a uint8").optional(),
});

const contractSchema = strictMapping({
  smart_contract: strictMapping({
    signature: str().optional(),
    deployer: hex(ADDRESS_RE, "an address (0x + 40 hex digits)").optional(),
    image_root: hex(HASH_RE, "0x + 64 hex digits").optional(),
    nonce: uintString(64).optional(),
    deadline: uintString(64).optional(),
    budget: uintString(96).optional(),
    max_price_per_second: uintString(96).optional(),
    max_retries: uintString(8).optional(),
    max_run_seconds: uintString(32).optional(),
    chain_id: uintString(64).optional(),
    verifying_contract: hex(ADDRESS_RE, "an address (0x + 40 hex digits)").optional(),
    workload_spec: workloadSpecSchema,
  }),
});

const configMapSchema = looseMapping({
  metadata: looseMapping({ name: dnsName }),
  data: looseMapping({ contract: str("a YAML string (use `contract: |`)") }),
});

const REQUIRED_INTENT = ["deployer", "image_root", "nonce", "deadline", "budget", "max_price_per_second", "max_retries"] as const;

/**
 * Validates and normalizes one contract ConfigMap document.
 * @example normalizeContractConfigMap(yamlData, 0) // { spec, signed: { placeholder: true, ... }, issues: [] }
 */
export function normalizeContractConfigMap(data: unknown, document: number): { spec?: WorkloadSpec; signed?: SignedContract; issues: SpecIssue[] } {
  const outer = configMapSchema.safeParse(data);
  if (!outer.success) return { issues: zodToSpecIssues(outer.error, document) };
  const { documents, issues: yamlIssues } = parseYamlDocuments(outer.data.data.contract, document);
  const issues: SpecIssue[] = yamlIssues.map((i) => ({ ...i, document, path: "data.contract" }));
  if (issues.length > 0) return { issues };
  if (documents.length !== 1) return { issues: [{ document, path: "data.contract", message: `must hold exactly one YAML document, got ${documents.length}` }] };
  const parsed = contractSchema.safeParse(documents[0].data);
  if (!parsed.success) return { issues: zodToSpecIssues(parsed.error, document, "data.contract") };

  const add = (path: string, message: string) => issues.push({ document, path: `data.contract.smart_contract.${path}`, message });
  const sc = parsed.data.smart_contract;
  const ws = sc.workload_spec;
  const kind = ws.kind ?? "service";
  const replicas = ws.replicas ?? 1;
  const restart = ws.restart_policy ?? (kind === "job" ? "Never" : "Always");
  if (kind === "job") {
    if (restart === "Always") add("workload_spec.restart_policy", "a job's restart_policy must be Never or OnFailure");
    if (ws.quorum !== undefined && ws.quorum > replicas) add("workload_spec.quorum", `must be at most replicas (${replicas}), got ${ws.quorum}`);
  } else {
    for (const key of ["quorum", "outputs", "backoff_limit"] as const) {
      if (ws[key] !== undefined) add(`workload_spec.${key}`, "only applies to kind: job");
    }
  }
  const ports = (ws.ports ?? []).map((p) => ({ containerPort: p.container_port, protocol: p.protocol ?? "TCP", name: p.name ?? null })).sort(comparePorts);
  for (let i = 1; i < ports.length; i++) {
    if (comparePorts(ports[i - 1], ports[i]) === 0) add("workload_spec.ports", `port ${ports[i].containerPort}/${ports[i].protocol} is declared twice`);
  }
  const spec: WorkloadSpec = {
    format: SPEC_FORMAT,
    name: ws.name ?? outer.data.metadata.name,
    kind,
    image: ws.image,
    command: ws.command && ws.command.length > 0 ? ws.command : null,
    args: ws.args ?? [],
    env: ws.env ?? [],
    workingDir: ws.working_dir ?? null,
    resources: {
      cpuMillis: ws.resources?.cpu ?? DEFAULT_RESOURCES.cpuMillis,
      memoryBytes: ws.resources?.memory ?? DEFAULT_RESOURCES.memoryBytes,
      diskBytes: ws.resources?.ephemeral_storage ?? DEFAULT_RESOURCES.diskBytes,
    },
    replicas,
    restartPolicy: restart,
    ports,
    labels: sortedRecord(ws.labels ?? {}),
    job:
      kind === "job"
        ? { quorum: ws.quorum ?? Math.floor(replicas / 2) + 1, outputs: [...new Set(ws.outputs ?? [])].sort(), backoffLimit: ws.backoff_limit ?? 6 }
        : null,
  };

  const hashRaw = ws.verification_hash ?? "";
  const sigRaw = sc.signature ?? "";
  if (hashRaw.startsWith("0x") && !HASH_RE.test(hashRaw))
    add("workload_spec.verification_hash", `must be 0x + 64 hex digits (a specHash), got ${JSON.stringify(hashRaw)}`);
  if (sigRaw.startsWith("0x") && !SIG_RE.test(sigRaw)) add("signature", `must be 0x + hex bytes (an EIP-712 signature), got ${JSON.stringify(sigRaw)}`);
  const present = REQUIRED_INTENT.filter((k) => sc[k] !== undefined);
  let intent: SignedIntentFields | undefined;
  if (present.length > 0) {
    for (const k of REQUIRED_INTENT) if (sc[k] === undefined) add(k, "is required when any intent field is given (the intent must be complete to be relayed)");
    if (present.length === REQUIRED_INTENT.length) {
      intent = {
        deployer: sc.deployer!,
        imageRoot: sc.image_root!,
        nonce: sc.nonce!,
        deadline: sc.deadline!,
        budget: sc.budget!,
        maxPricePerSecond: sc.max_price_per_second!,
        maxRetries: sc.max_retries!,
        ...(sc.max_run_seconds !== undefined ? { maxRunSeconds: sc.max_run_seconds } : {}),
        ...(sc.chain_id !== undefined ? { chainId: sc.chain_id } : {}),
        ...(sc.verifying_contract !== undefined ? { verifyingContract: sc.verifying_contract } : {}),
      };
    }
  }
  if (issues.length > 0) return { issues };
  const placeholder = !(HASH_RE.test(hashRaw) && SIG_RE.test(sigRaw));
  const signed: SignedContract = {
    verificationHash: HASH_RE.test(hashRaw) ? hashRaw.toLowerCase() : hashRaw,
    signature: SIG_RE.test(sigRaw) ? sigRaw.toLowerCase() : sigRaw,
    ...(intent ? { intent } : {}),
    placeholder,
  };
  return { spec, signed, issues };
}
