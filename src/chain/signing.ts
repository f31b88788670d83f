/**
 * Signs and verifies Hypha's EIP-712 messages: deployment intents (deployers) and attestations
 * (node agents). The typed-data definitions live in eip712.ts; this file only applies them.
 */
import {
  compactSignatureToSignature,
  hashTypedData,
  parseCompactSignature,
  parseSignature,
  recoverTypedDataAddress,
  serializeCompactSignature,
  serializeSignature,
  signatureToCompactSignature,
  size,
  type Address,
  type Hex,
  type LocalAccount,
  type TypedDataDomain,
} from "viem";
import type { HyphaAddresses } from "./addresses";
import { attestationTypedData, hyphaDomain, intentTypedData, type Attestation, type DeploymentIntent } from "./eip712";

/**
 * The EIP-712 domain of a deployment: the DeploymentRegistry on its chain.
 * @example const domain = domainFor(await loadContracts(pc));
 */
export function domainFor(addresses: Pick<HyphaAddresses, "chainId" | "deploymentRegistry">): TypedDataDomain {
  return hyphaDomain(addresses.chainId, addresses.deploymentRegistry);
}

/**
 * The deployment id: the EIP-712 digest of the intent (what the contract's deploymentId returns).
 * @example const id = computeDeploymentId(domain, intent);
 */
export function computeDeploymentId(domain: TypedDataDomain, intent: DeploymentIntent): Hex {
  return hashTypedData(intentTypedData(domain, intent));
}

/**
 * The digest an agent signs for an attestation.
 * @example const digest = computeAttestationDigest(domain, attestation);
 */
export function computeAttestationDigest(domain: TypedDataDomain, attestation: Attestation): Hex {
  return hashTypedData(attestationTypedData(domain, attestation));
}

/**
 * Signs an intent with a local account (65-byte signature).
 * @example const signature = await signIntent(devAccount(11), domain, intent);
 */
export async function signIntent(account: LocalAccount, domain: TypedDataDomain, intent: DeploymentIntent): Promise<Hex> {
  if (!account.signTypedData) throw new TypeError("account cannot sign typed data");
  return account.signTypedData(intentTypedData(domain, intent));
}

/**
 * Signs an attestation with a node agent's local account.
 * @example const sig = await signAttestation(devAccount(8), domain, attestation);
 */
export async function signAttestation(account: LocalAccount, domain: TypedDataDomain, attestation: Attestation): Promise<Hex> {
  if (!account.signTypedData) throw new TypeError("account cannot sign typed data");
  return account.signTypedData(attestationTypedData(domain, attestation));
}

/**
 * The 64-byte EIP-2098 form of a 65-byte ECDSA signature (the contract accepts both; the short
 * form saves about 400 gas of calldata). Other lengths (e.g. a smart wallet's) are returned as is.
 * @example compactSignature(await signIntent(account, domain, intent)).length // 130 (0x + 128 hex)
 */
export function compactSignature(signature: Hex): Hex {
  return size(signature) === 65 ? serializeCompactSignature(signatureToCompactSignature(parseSignature(signature))) : signature;
}

/**
 * The 65-byte form of a 64-byte EIP-2098 signature, for ECDSA recovery (viem recovers 65-byte
 * signatures only). Other lengths are returned as is.
 * @example expandSignature(compactSignature(sig)) === sig
 */
export function expandSignature(signature: Hex): Hex {
  return size(signature) === 64 ? serializeSignature(compactSignatureToSignature(parseCompactSignature(signature))) : signature;
}

/**
 * The address that signed an attestation by ECDSA (65-byte or 64-byte EIP-2098 form). An agent
 * that is a contract wallet signs through ERC-1271 instead, which the audit checks on-chain.
 * @example (await recoverAttestationSigner(domain, att, sig)) === agentAddress
 */
export async function recoverAttestationSigner(domain: TypedDataDomain, attestation: Attestation, signature: Hex): Promise<Address> {
  return recoverTypedDataAddress({ ...attestationTypedData(domain, attestation), signature: expandSignature(signature) });
}

/**
 * The address that signed an intent with ECDSA (ERC-1271 wallets are checked on-chain, see audit/collect.ts).
 * @example (await recoverIntentSigner(domain, intent, sig)) === intent.deployer
 */
export async function recoverIntentSigner(domain: TypedDataDomain, intent: DeploymentIntent, signature: Hex): Promise<Address> {
  return recoverTypedDataAddress({ ...intentTypedData(domain, intent), signature: expandSignature(signature) });
}
