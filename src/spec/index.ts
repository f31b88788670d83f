/**
 * The spec part's public API: manifests -> WorkloadSpec -> canonical JSON -> specHash, plus the
 * agent-side blob check, the intent's spec-derived fields and the signed ConfigMap writer.
 */
export { parseManifests, SUPPORTED_KINDS, type ParsedWorkload } from "./parseManifests";
export { canonicalSpecJson, computeSpecHash, specFromCanonicalJson } from "./canonicalSpec";
export { intentResources, intentWorkloadFields, intentSpecMismatches, type IntentWorkloadFields } from "./intentResources";
export { SpecError, formatSpecIssue, type SpecIssue } from "./specError";
export type { SignedContract, SignedIntentFields } from "./contractConfigMap";
export {
  DEFAULT_RESOURCES,
  SPEC_FORMAT,
  type WorkloadSpec,
  type EnvVar,
  type PortSpec,
  type ResourceSpec,
  type JobSpec,
  type RestartPolicy,
  type WorkloadKind,
} from "./workloadSpec";
export { CONTRACT_LIMITS, LIMITS } from "./limits";
export { parseQuantity, formatBytes, formatMillis } from "./quantity";
export { renderSignedConfigMap, type SignedConfigMapInput } from "./renderSignedConfigMap";
export { checkSignedContract } from "./checkSignedContract";
