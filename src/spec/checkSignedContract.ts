/**
 * The pure check `hypha apply` runs on a signed ConfigMap before submitting it: placeholders give
 * an error showing the computed hash and pointing to `hypha sign`; a verification_hash that is not
 * the spec's hash gives an error showing expected and found. (The signature itself is checked
 * against the intent by src/chain, which knows the EIP-712 domain.)
 */
import { computeSpecHash } from "./canonicalSpec";
import type { ParsedWorkload } from "./parseManifests";
import { SpecError } from "./specError";

/**
 * Throws SpecError unless the workload's verification_hash equals its computed specHash and the
 * signature is present. Returns the specHash. Non-ConfigMap workloads just return their hash.
 * @example const specHash = checkSignedContract(parseManifests(text)[0], "app.yaml")
 */
export function checkSignedContract(workload: ParsedWorkload, file = "FILE"): `0x${string}` {
  const computed = computeSpecHash(workload.spec);
  const signed = workload.signed;
  if (!signed) return computed;
  const base = "data.contract.smart_contract";
  if (signed.placeholder) {
    throw new SpecError([
      {
        document: workload.document,
        path: `${base}.workload_spec.verification_hash`,
        message: `the contract is not signed yet (placeholder hash ${JSON.stringify(signed.verificationHash)} / signature ${JSON.stringify(signed.signature)}); its specHash is ${computed}: run \`hypha sign -f ${file}\` to fill in the hash and signature`,
      },
    ]);
  }
  if (signed.verificationHash !== computed) {
    throw new SpecError([
      {
        document: workload.document,
        path: `${base}.workload_spec.verification_hash`,
        message: `does not match the workload: expected ${computed} (computed from workload_spec), found ${signed.verificationHash}`,
      },
    ]);
  }
  return computed;
}
