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
  | { ok: false; reason: "invalid"; message: string }
  | { ok: false; reason: "mismatch"; message: string }
  | { ok: false; reason: "unavailable"; message: string };

/** The store URL of a spec blob. @example specBlobUrl("http://127.0.0.1:7700", specHash) // ".../blobs/bafkrei..." */
export function specBlobUrl(mirror: string, specHash: Hex): string {
  return `${mirror.replace(/\/+$/, "")}/blobs/${bytes32ToRoot(specHash, RAW_CODEC).toString()}`;
}

/**
 * Try each mirror in order; the first blob whose sha256 equals `specHash` wins. If none matches
 * and at least one served different bytes, the result is "mismatch" (the store's fault: the agent
 * keeps trying); if the bytes match but are larger than a spec may be, "invalid" (the deployer signed
 * it: attested Failed); if none answered, "unavailable".
 * @example const r = await fetchSpecBlob(["http://127.0.0.1:7700"], intent.specHash);
 */
export async function fetchSpecBlob(mirrors: string[], specHash: Hex, timeoutMs = 10_000, maxBytes = 1024 * 1024): Promise<SpecFetchResult> {
  const problems: string[] = [];
  let mismatch: string | undefined;
  for (const mirror of mirrors) {
    const url = specBlobUrl(mirror, specHash);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) {
        problems.push(`${url}: HTTP ${res.status}`);
        continue;
      }
      const bytes = await readCapped(res, maxBytes * 16);
      if (!bytes) {
        mismatch = `${url}: more than ${maxBytes * 16} bytes, cannot be the spec`;
        continue;
      }
      const got = `0x${createHash("sha256").update(bytes).digest("hex")}`;
      if (got !== specHash.toLowerCase()) {
        mismatch = `${url}: sha256 ${got} differs from the on-chain specHash ${specHash}`;
        continue;
      }
      if (bytes.length > maxBytes) return { ok: false, reason: "invalid", message: `the spec blob is ${bytes.length} bytes, more than a spec may be (${maxBytes})` };
      return { ok: true, bytes, mirror };
    } catch (err) {
      problems.push(`${url}: ${(err as Error).message}`);
    }
  }
  if (mismatch) return { ok: false, reason: "mismatch", message: mismatch };
  return { ok: false, reason: "unavailable", message: problems.join("; ") || "no store mirrors" };
}

/** The response body, or null once it passes `cap` bytes (a hostile store cannot fill memory). */
async function readCapped(res: Response, cap: number): Promise<Buffer | null> {
  if (!res.body) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > cap) return null;
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts);
}
