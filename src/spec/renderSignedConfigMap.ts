/**
 * Writes a spec and its signed intent as the seed's smart-contract ConfigMap (for `hypha sign`),
 * keeping the seed's shape (smart_contract.signature, workload_spec.{image, replicas,
 * verification_hash}) and adding every other field beside them, so parseManifests reads back the
 * exact same spec and hash and anyone holding the file can relay the intent.
 */
import { stringify } from "yaml";
import { computeSpecHash } from "./canonicalSpec";
import type { SignedIntentFields } from "./contractConfigMap";
import { formatBytes, formatMillis } from "./quantity";
import { SpecError } from "./specError";
import { NAME_RE, type WorkloadSpec } from "./workloadSpec";

type Uint = string | number | bigint;

/** What `hypha sign` has: the hash it computed, the signature, and the intent's other fields. */
export interface SignedConfigMapInput {
  verificationHash: string;
  signature: string;
  intent?: {
    deployer: string;
    imageRoot: string;
    nonce: Uint;
    deadline: Uint;
    budget: Uint;
    maxPricePerSecond: Uint;
    maxRetries: Uint;
    maxRunSeconds: Uint;
    chainId?: Uint;
    verifyingContract?: string;
  };
}

/**
 * Renders the signed ConfigMap YAML. Throws SpecError if verificationHash is not this spec's hash.
 * @example
 * const yaml = renderSignedConfigMap(spec, { verificationHash: computeSpecHash(spec), signature, intent }, "deployment-contract");
 * parseManifests(yaml)[0].spec // deep-equals spec
 */
export function renderSignedConfigMap(spec: WorkloadSpec, signed: SignedConfigMapInput, originalName?: string): string {
  const expected = computeSpecHash(spec);
  if (signed.verificationHash.toLowerCase() !== expected) {
    throw new SpecError([
      { document: 0, path: "verificationHash", message: `does not match the spec: expected ${expected}, found ${signed.verificationHash}` },
    ]);
  }
  const name = originalName && NAME_RE.test(originalName) ? originalName : spec.name;
  const workloadSpec: Record<string, unknown> = {
    image: spec.image,
    replicas: spec.replicas,
    verification_hash: expected,
    name: spec.name,
    kind: spec.kind,
    ...(spec.command !== null ? { command: spec.command } : {}),
    ...(spec.args.length > 0 ? { args: spec.args } : {}),
    ...(spec.env.length > 0 ? { env: Object.fromEntries(spec.env.map((e) => [e.name, e.value])) } : {}),
    ...(spec.workingDir !== null ? { working_dir: spec.workingDir } : {}),
    resources: {
      cpu: formatMillis(spec.resources.cpuMillis),
      memory: formatBytes(spec.resources.memoryBytes),
      ephemeral_storage: formatBytes(spec.resources.diskBytes),
    },
    ...(spec.ports.length > 0
      ? { ports: spec.ports.map((p) => ({ container_port: p.containerPort, protocol: p.protocol, ...(p.name !== null ? { name: p.name } : {}) })) }
      : {}),
    ...(Object.keys(spec.labels).length > 0 ? { labels: spec.labels } : {}),
    restart_policy: spec.restartPolicy,
    ...(spec.job ? { quorum: spec.job.quorum, outputs: spec.job.outputs, backoff_limit: spec.job.backoffLimit } : {}),
  };
  const i = signed.intent;
  const smartContract: Record<string, unknown> = {
    signature: signed.signature,
    ...(i
      ? {
          deployer: i.deployer,
          image_root: i.imageRoot,
          nonce: String(i.nonce),
          deadline: String(i.deadline),
          budget: String(i.budget),
          max_price_per_second: String(i.maxPricePerSecond),
          max_retries: String(i.maxRetries),
          max_run_seconds: String(i.maxRunSeconds),
          ...(i.chainId !== undefined ? { chain_id: String(i.chainId) } : {}),
          ...(i.verifyingContract !== undefined ? { verifying_contract: i.verifyingContract } : {}),
        }
      : {}),
    workload_spec: workloadSpec,
  };
  const contract = stringify({ smart_contract: smartContract }, { lineWidth: 0 });
  const header = "# Signed Hypha deployment (written by `hypha sign`): anyone holding this file can relay it.\n";
  return header + stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { contract } }, { lineWidth: 0 });
}

export type { SignedIntentFields };
