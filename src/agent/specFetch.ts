/**
 * Fetches a deployment's spec blob from the store mirrors by its on-chain specHash and checks
 * it: the blob's CID is CIDv1(raw, sha256) whose digest IS the specHash, and sha256(bytes) must
 * equal it before anything parses the bytes.
 */
import { createHash } from "node:crypto";
import type { Hex } from "viem";
import { bytes32ToRoot, RAW_CODEC } from "../image/cid";

/** Why a spec could not be fetched: nobody had it, or what came back did not match. */
export type SpecFetchResult =
  | { ok: true; bytes: Buffer; mirror: string }
  | { ok: false; reason: "tampered"; message: string }
  | { ok: false; reason: "unavailable"; message: string };

/** The store URL of a spec blob. @example specBlobUrl("http://127.0.0.1:7700", specHash) // ".../blobs/bafkrei..." */
export function specBlobUrl(mirror: string, specHash: Hex): string {
  return `${mirror.replace(/\/+$/, "")}/blobs/${bytes32ToRoot(specHash, RAW_CODEC).toString()}`;
}

/**
 * Try each mirror in order; the first blob whose sha256 equals `specHash` wins. If none matches
 * and at least one served different bytes, the result is "tampered"; if none answered, "unavailable".
 * @example const r = await fetchSpecBlob(["http://127.0.0.1:7700"], intent.specHash);
 */
export async function fetchSpecBlob(mirrors: string[], specHash: Hex, timeoutMs = 10_000, maxBytes = 1024 * 1024): Promise<SpecFetchResult> {
  const problems: string[] = [];
  let tampered: string | undefined;
  for (const mirror of mirrors) {
    const url = specBlobUrl(mirror, specHash);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) {
        problems.push(`${url}: HTTP ${res.status}`);
        continue;
      }
      const bytes = Buffer.from(await res.arrayBuffer());
      if (bytes.length > maxBytes) {
        tampered = `${url}: ${bytes.length} bytes, more than a spec can be (${maxBytes})`;
        continue;
      }
      const got = `0x${createHash("sha256").update(bytes).digest("hex")}`;
      if (got !== specHash.toLowerCase()) {
        tampered = `${url}: sha256 ${got} differs from the on-chain specHash ${specHash}`;
        continue;
      }
      return { ok: true, bytes, mirror };
    } catch (err) {
      problems.push(`${url}: ${(err as Error).message}`);
    }
  }
  if (tampered) return { ok: false, reason: "tampered", message: tampered };
  return { ok: false, reason: "unavailable", message: problems.join("; ") || "no store mirrors" };
}
