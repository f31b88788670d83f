/**
 * Signs the agent's attestations with the EIP-712 digest built by hand over precomputed parts
 * (the domain separator and the Attestation type hash, once per agent): the same digest and the
 * same signature as viem's signTypedData (eip712.ts stays the one definition; the test checks
 * both agree), without re-validating and re-encoding the typed data for every attestation
 * (~0.15 ms of the ~0.7 ms each signature cost).
 */
import { concat, hashDomain, keccak256, toHex, type Hex, type LocalAccount, type TypedDataDomain } from "viem";
import { hyphaTypes, type Attestation } from "../chain/eip712";

/** `Attestation(bytes32 deploymentId,uint16 replicaIndex,…)`, from eip712.ts. */
const ATTESTATION_TYPE = `Attestation(${hyphaTypes.Attestation.map((f) => `${f.type} ${f.name}`).join(",")})`;
const TYPE_HASH = keccak256(toHex(ATTESTATION_TYPE));

/** A 32-byte ABI word, without 0x: a bytes32 as it is, an unsigned integer left-padded. */
function word(value: Hex | number | bigint): string {
  if (typeof value === "string") {
    if (!/^0x[0-9a-fA-F]{64}$/.test(value)) throw new TypeError(`attestation field: expected bytes32, got ${value}`);
    return value.slice(2).toLowerCase();
  }
  const n = BigInt(value);
  if (n < 0n) throw new RangeError(`attestation field: negative ${n}`);
  return n.toString(16).padStart(64, "0");
}

/**
 * The attestation signer of one agent account and domain.
 * @example const signer = createAttestationSigner(account, domain); const sig = await signer.sign(att);
 */
export function createAttestationSigner(account: LocalAccount, domain: TypedDataDomain) {
  if (!account.sign) throw new TypeError("account cannot sign a digest (a local private-key account is needed)");
  const sign = account.sign;
  const prefix = concat(["0x1901", hashDomain({ domain, types: { EIP712Domain: domainFields(domain) } } as unknown as Parameters<typeof hashDomain>[0])]);
  const digest = (a: Attestation): Hex => {
    const fields = hyphaTypes.Attestation.map((f) => word(a[f.name] as Hex | number | bigint));
    const structHash = keccak256(`0x${TYPE_HASH.slice(2)}${fields.join("")}`);
    return keccak256(concat([prefix, structHash]));
  };
  return {
    /** The EIP-712 digest of `a` (what computeAttestationDigest returns). */
    digest,
    /** The 65-byte signature of `a` (what signAttestation returns). */
    sign: (a: Attestation): Promise<Hex> => sign({ hash: digest(a) }),
  };
}

/** The EIP712Domain fields the domain has, in the standard order (viem's getTypesForEIP712Domain). */
function domainFields(domain: TypedDataDomain) {
  return [
    typeof domain.name === "string" && { name: "name", type: "string" },
    domain.version && { name: "version", type: "string" },
    (typeof domain.chainId === "number" || typeof domain.chainId === "bigint") && { name: "chainId", type: "uint256" },
    domain.verifyingContract && { name: "verifyingContract", type: "address" },
    domain.salt && { name: "salt", type: "bytes32" },
  ].filter(Boolean) as { name: string; type: string }[];
}
