/**
 * Manifest text -> everything a wallet needs to sign a deployment (pure): the workload's canonical
 * spec and specHash, the intent's resources, the DeploymentIntent, its EIP-712 typed data and the
 * deployment id. The spec part and src/chain/eip712.ts do the work; this file only chains them.
 */
import type { Address, Hex } from "viem";
import type { DeploymentIntent } from "../chain/eip712";
import { intentTypedData, hyphaDomain } from "../chain/eip712";
import { buildIntent, IntentError, randomNonce } from "../chain/intentBuilder";
import { computeDeploymentId } from "../chain/signing";
import { canonicalSpecJson, computeSpecHash, intentWorkloadFields, parseManifests, type WorkloadSpec } from "../spec";

export interface PrepareDeploymentInput {
  /** Manifest text: a Deployment, Pod, Job or smart-contract ConfigMap (YAML or JSON). */
  manifest: string;
  /** Which workload of a multi-document manifest (0-based position among its workloads; default 0). */
  workload?: number;
  deployer: Address;
  /** The image's on-chain root (bytes32 digest of its root CID; see src/image/README.md). */
  imageRoot: Hex;
  chainId: number;
  deploymentRegistry: Address;
  /** Tokens escrowed, in wei. */
  budget: bigint;
  /** Highest price per replica-second accepted, in wei. */
  maxPricePerSecond: bigint;
  /** Unix seconds after which the intent can no longer be submitted. */
  deadline: bigint;
  /** Default: a random 64-bit nonce. */
  nonce?: bigint;
  /** Default: a job's backoffLimit (at most 255), else 3. */
  maxRetries?: number;
  /** Most seconds one replica placement is paid for (jobs: default 3600; services: default 0, no cap). */
  maxRunSeconds?: number;
}

export interface PreparedDeployment {
  name: string;
  kind: "service" | "job";
  spec: WorkloadSpec;
  /** The exact bytes published as the spec blob (RFC 8785 JSON). */
  canonicalSpec: string;
  specHash: Hex;
  resources: { cpuMillis: number; memoryMiB: number; diskMiB: number };
  intent: DeploymentIntent;
  /** Arguments for viem's signTypedData (domain, types, primaryType, message). */
  typedData: ReturnType<typeof intentTypedData>;
  /** The EIP-712 digest of the intent: the deployment's id on-chain. */
  deploymentId: Hex;
  /** Most the deployment can cost per hour at its price limit (wei): maxPricePerSecond x replicas x 3600. */
  maxCostPerHour: bigint;
}

export const DEFAULT_SERVICE_RETRIES = 3;

/**
 * Prepares a deployment for signing; throws SpecError (manifest) or IntentError (intent fields).
 * @example
 * const p = prepareDeployment({ manifest, deployer, imageRoot, chainId: 31337, deploymentRegistry, budget: 10n ** 19n, maxPricePerSecond: 10n ** 15n, deadline: 1900000000n });
 * const signature = await walletClient.signTypedData({ account, ...p.typedData });
 */
export function prepareDeployment(input: PrepareDeploymentInput): PreparedDeployment {
  const workloads = parseManifests(input.manifest, { source: "manifest" });
  const index = input.workload ?? 0;
  if (!Number.isInteger(index) || index < 0 || index >= workloads.length) {
    throw new IntentError("workload", `the manifest holds ${workloads.length} workload(s); ${index} is not one of 0..${workloads.length - 1}`);
  }
  const spec = workloads[index].spec;
  const fields = intentWorkloadFields(spec);
  const intent = buildIntent({
    deployer: input.deployer,
    specHash: computeSpecHash(spec),
    imageRoot: input.imageRoot,
    replicas: fields.replicas,
    resources: { cpuMillis: fields.cpuMillis, memoryMiB: fields.memoryMiB, diskMiB: fields.diskMiB },
    kind: spec.kind,
    quorum: fields.quorum,
    maxPricePerSecond: input.maxPricePerSecond,
    budget: input.budget,
    nonce: input.nonce ?? randomNonce(),
    deadline: input.deadline,
    maxRetries: input.maxRetries ?? (spec.job ? Math.min(255, spec.job.backoffLimit) : DEFAULT_SERVICE_RETRIES),
    maxRunSeconds: input.maxRunSeconds,
  });
  const domain = hyphaDomain(input.chainId, input.deploymentRegistry);
  return {
    name: spec.name,
    kind: spec.kind,
    spec,
    canonicalSpec: canonicalSpecJson(spec),
    specHash: intent.specHash,
    resources: { cpuMillis: intent.cpuMillis, memoryMiB: intent.memoryMiB, diskMiB: intent.diskMiB },
    intent,
    typedData: intentTypedData(domain, intent),
    deploymentId: computeDeploymentId(domain, intent),
    maxCostPerHour: intent.maxPricePerSecond * BigInt(intent.replicas) * 3600n,
  };
}
