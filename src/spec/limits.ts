/**
 * Every limit a workload and its intent must respect, in one place: the contract's own constants
 * (mirrored here so a manifest is refused before it is hashed and signed, not when its intent
 * reverts; test/spec/limits.test.ts reads them back from the compiled contract) and the widths of
 * the intent's fields, then the spec's own caps.
 */

/** The contract's limits, as DeploymentRegistry declares them. */
export const CONTRACT_LIMITS = {
  /** DeploymentRegistry.MAX_REPLICAS (IntentRules): replicas per deployment, services and jobs alike. */
  maxReplicas: 255,
  /** DeploymentRegistry.MIN_RUN_SECONDS: a budget must pay every replica this long at its price limit. */
  minRunSeconds: 60,
} as const;

/** The intent's unsigned integer fields' widths (see DeploymentIntent in src/chain/eip712.ts). */
const UINT8_MAX = 2 ** 8 - 1;
const UINT32_MAX = 2 ** 32 - 1;

/**
 * Limits a WorkloadSpec is validated against. Replicas: the contract's MAX_REPLICAS (a job's quorum,
 * a uint8, fits below it). CPU and memory/disk must fit the intent's uint32 fields (millicores, MiB);
 * a job's backoffLimit is the intent's uint8 maxRetries.
 */
export const LIMITS = {
  maxReplicas: CONTRACT_LIMITS.maxReplicas,
  maxCpuMillis: UINT32_MAX,
  maxBytes: UINT32_MAX * 1024 * 1024,
  maxBackoffLimit: UINT8_MAX,
  maxOutputs: 16,
  maxManifestBytes: 256 * 1024,
} as const;
