/**
 * Hypha's SDK (`import … from "hypha/sdk"`), for dapps, scripts and the web console: manifest ->
 * canonical spec and specHash, the DeploymentIntent and its EIP-712 typed data, ERC-2612 permits,
 * signing through an EIP-1193 wallet or a local key, human units, and a client of the REST API.
 * Everything here runs in a browser; nothing is implemented twice (the spec part and
 * src/chain/eip712.ts are the one definition).
 */
export {
  parseManifests,
  canonicalSpecJson,
  computeSpecHash,
  intentResources,
  intentWorkloadFields,
  SpecError,
  SPEC_FORMAT,
  type WorkloadSpec,
  type ParsedWorkload,
} from "../spec";
export {
  hyphaTypes,
  hyphaDomain,
  intentTypedData,
  EIP712_NAME,
  EIP712_VERSION,
  Kind,
  DeploymentStatus,
  ReplicaStatus,
  type DeploymentIntent,
} from "../chain/eip712";
export { buildIntent, randomNonce, IntentError, type IntentInput } from "../chain/intentBuilder";
export { computeDeploymentId, signIntent, recoverIntentSigner, compactSignature, expandSignature } from "../chain/signing";
export { HyphaError } from "../errors";
export { prepareDeployment, DEFAULT_SERVICE_RETRIES, type PrepareDeploymentInput, type PreparedDeployment } from "./prepareDeployment";
export { permitTypes, permitTypedData, readEip712Domain, readPermitNonce, recoverPermitSigner, type PermitMessage } from "./permit";
export { toWire, intentToWire, intentFromWire, typedDataForWallet, type WireIntent, type WalletTypedData } from "./wire";
export { connectWallet, walletChainId, switchChain, signTypedDataWithWallet, WalletError, type Eip1193Provider } from "./wallet";
export { parseHypha, formatHypha, formatCpu, formatMiB, HYPHA_DECIMALS } from "./units";
export {
  createApiClient,
  parseSseMessage,
  HyphaApiError,
  type HyphaApiClient,
  type PrepareRequest,
  type PrepareResponse,
  type SubmitIntentRequest,
  type PermitSubmission,
  type StreamMessage,
} from "./apiClient";
