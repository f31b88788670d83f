/**
 * Content addresses used by zero-image: CIDv1 with sha256, `raw` codec for chunks and blobs,
 * `json` codec (0x0200) for image manifests, which are RFC 8785 canonical JSON (the image root). Also the bridge to the on-chain
 * `bytes32 imageRoot` (the bare sha256 digest).
 */
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import { createHash } from "node:crypto";
import { ImageError } from "./imageError";

export { CID };

/** Multicodec codes used here. */
export const RAW_CODEC = 0x55;
/** multicodec `json`: the image manifest is RFC 8785 (JCS) JSON. dag-cbor was the other option, but
 * @ipld/dag-cbor's cborg dependency is import-only and cannot be required from this CommonJS package. */
export const JSON_CODEC = 0x0200;
export const SHA2_256_CODE = 0x12;

/** sha256 of bytes (node:crypto, synchronous). */
export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

/**
 * CIDv1(codec, sha256(bytes)).
 * @example cidForBytes(new TextEncoder().encode("hi")).toString() // "bafkrei..."
 */
export function cidForBytes(bytes: Uint8Array, codec: number = RAW_CODEC): CID {
  return CID.createV1(codec, Digest.create(SHA2_256_CODE, sha256(bytes)));
}

/** Does `bytes` hash to `cid` (same digest; codec taken from the CID)? */
export function bytesMatchCid(cid: CID, bytes: Uint8Array): boolean {
  const want = cid.multihash.digest;
  const got = sha256(bytes);
  if (want.length !== got.length) return false;
  for (let i = 0; i < got.length; i++) if (want[i] !== got[i]) return false;
  return true;
}

/**
 * Parse and check a CID string (or CID): must be CIDv1, sha256, raw or json.
 * @example parseCid("bafkrei...", "chunks[3]")
 */
export function parseCid(value: string | CID, field = "cid"): CID {
  let cid: CID | null;
  if (typeof value === "string") {
    try {
      cid = CID.parse(value);
    } catch (cause) {
      throw new ImageError(`${field}: not a valid CID: ${JSON.stringify(value.slice(0, 80))}`, { code: "BAD_INPUT", cause });
    }
  } else {
    cid = CID.asCID(value);
    if (!cid) throw new ImageError(`${field}: not a CID`, { code: "BAD_INPUT" });
  }
  if (cid.version !== 1) throw new ImageError(`${field}: only CIDv1 is accepted (got v${cid.version})`, { code: "BAD_INPUT", cid: cid.toString() });
  if (cid.multihash.code !== SHA2_256_CODE || cid.multihash.digest.length !== 32)
    throw new ImageError(`${field}: only sha2-256 CIDs are accepted`, { code: "BAD_INPUT", cid: cid.toString() });
  if (cid.code !== RAW_CODEC && cid.code !== JSON_CODEC)
    throw new ImageError(`${field}: codec 0x${cid.code.toString(16)} is not raw or json`, { code: "BAD_INPUT", cid: cid.toString() });
  return cid;
}

/**
 * The on-chain form of an image root: its sha256 digest as 0x-prefixed 32-byte hex.
 * @example rootToBytes32(root) // "0x9f86d0..."
 */
export function rootToBytes32(cid: CID | string): `0x${string}` {
  const c = parseCid(cid, "root");
  return `0x${Buffer.from(c.multihash.digest).toString("hex")}`;
}

/**
 * Inverse of rootToBytes32: the image root CID (json, sha256) for an on-chain digest.
 * Pass `codec: RAW_CODEC` to get the blob CID for e.g. a specHash.
 * @example bytes32ToRoot("0x9f86d0...").toString() // "bagaaiera..."
 */
export function bytes32ToRoot(hex: string, codec: number = JSON_CODEC): CID {
  if (typeof hex !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(hex))
    throw new ImageError(`imageRoot: expected 0x followed by 64 hex digits, got ${JSON.stringify(String(hex).slice(0, 80))}`, { code: "BAD_INPUT" });
  return CID.createV1(codec, Digest.create(SHA2_256_CODE, new Uint8Array(Buffer.from(hex.slice(2), "hex"))));
}
