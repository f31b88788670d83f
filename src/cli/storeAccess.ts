/**
 * What the CLI needs from the blob/image store over HTTP: resolve an image name to its on-chain
 * root, and publish a spec's canonical JSON as a raw blob (CID digest = specHash). The verified
 * fetch of that blob is StoreClient.getSpecBlob.
 */
import type { Hex } from "viem";
import { HyphaError } from "../errors";
import { cidForBytes, ImageError, RAW_CODEC, rootToBytes32, StoreClient } from "../image";

/** The store could not be reached or answered wrongly (the CLI exits 2). */
export class StoreAccessError extends HyphaError {
  override name = "StoreAccessError";
}

async function request(url: string, init: RequestInit = {}, what: string): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    throw new StoreAccessError(
      `${what}: cannot reach the store at ${new URL(url).origin} (${(err as Error).cause ? String(((err as Error).cause as Error).message ?? (err as Error).cause) : (err as Error).message})`,
      {
        cause: err,
        details: "start it with `hypha up` or pass --store URL",
      },
    );
  }
}

/**
 * The on-chain imageRoot for an image reference: a 0x digest or image CID is used as is, a name
 * (or zero-image://name) is looked up in the store's catalog through the image part's StoreClient.
 * @example await resolveImageRoot("http://127.0.0.1:7700", "ubuntu:latest") // "0x9f86…"
 */
export async function resolveImageRoot(storeUrl: string, image: string): Promise<Hex> {
  if (/^0x[0-9a-fA-F]{64}$/.test(image)) return image.toLowerCase() as Hex;
  if (/^baga[a-z2-7]{40,}$/.test(image)) return rootToBytes32(image);
  try {
    return rootToBytes32(await new StoreClient([storeUrl]).resolveName(image));
  } catch (err) {
    if (err instanceof ImageError && err.code === "NOT_FOUND") {
      throw new HyphaError(`image ${image}: not in the store's catalog at ${storeUrl}`, {
        details: "import it with `hypha image import PATH --name NAME`, or pass --image-root 0x…",
        cause: err,
      });
    }
    if (err instanceof ImageError && err.code === "UNAVAILABLE") {
      throw new StoreAccessError(`image ${image}: cannot reach the store at ${storeUrl}`, {
        cause: err,
        details: "start it with `hypha up`, pass --store URL, or give --image-root 0x…",
      });
    }
    throw err;
  }
}

/**
 * Publishes a spec's canonical JSON as a raw blob; returns its CID.
 * @example await publishSpecBlob(store, canonicalSpecJson(spec)) // "bafkrei…"
 */
export async function publishSpecBlob(storeUrl: string, canonicalJson: string): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalJson);
  const cid = cidForBytes(bytes, RAW_CODEC).toString();
  const res = await request(
    `${storeUrl}/blobs/${cid}`,
    { method: "PUT", body: bytes, headers: { "content-type": "application/octet-stream" } },
    "publishing the spec",
  );
  if (!res.ok) throw new StoreAccessError(`publishing the spec: the store answered ${res.status} ${await res.text().catch(() => "")}`.trim());
  return cid;
}
