/**
 * StoreClient: fetch objects by CID from any number of store mirrors, verifying every object on
 * arrival. A mirror that serves wrong bytes or fails is skipped for that object and the next mirror
 * is asked; if no mirror has the right bytes the error is TAMPERED (some mirror lied) naming the
 * CID, NOT_FOUND (none has it) or UNAVAILABLE (none answered). The one verified fetch of a spec blob
 * by its on-chain specHash (agent, audit, API and CLI alike) is `getSpecBlob`.
 */
import { decodeChunkBatch, MAX_BATCH_CIDS } from "./chunkBatch";
import { CID, JSON_CODEC, RAW_CODEC, bytes32ToRoot, bytesMatchCid, cidForBytes, parseCid } from "./cid";
import { ImageError } from "./imageError";
import { normalizeImageName } from "./catalog";

export interface StoreClientOptions {
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  /** Sent as `Authorization: Bearer …` when changing a catalog name (stores that protect their catalog). */
  token?: string;
}

/** Per-mirror outcome of one object, for error messages. */
type Outcome = "tampered" | "missing" | "error";

/** The largest spec blob `getSpecBlob` accepts by default (a manifest is at most 256 KiB). */
export const MAX_SPEC_BLOB_BYTES = 1024 * 1024;

/**
 * @example
 * const client = new StoreClient(["http://127.0.0.1:7700"]);
 * const bytes = await client.get(cid); const root = await client.resolveName("ubuntu-latest")
 */
export class StoreClient {
  readonly mirrors: string[];
  private readonly timeoutMs: number;
  private readonly token?: string;
  /** Bytes received from mirrors (including refused ones). */
  bytesReceived = 0;

  constructor(mirrors: string[], opts: StoreClientOptions = {}) {
    if (!Array.isArray(mirrors) || mirrors.length === 0) throw new ImageError("mirrors: give at least one store URL", { code: "BAD_INPUT" });
    this.mirrors = mirrors.map((m, i) => {
      try {
        const u = new URL(m);
        if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not http(s)");
      } catch (cause) {
        throw new ImageError(`mirrors[${i}]: ${JSON.stringify(m)} is not an http(s) URL`, { code: "BAD_INPUT", cause });
      }
      return m.replace(/\/+$/, "");
    });
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.token = opts.token;
  }

  /** One object, verified. */
  async get(cid: CID | string): Promise<Uint8Array> {
    const got = await this.getMany([parseCid(cid).toString()]);
    return got.get(parseCid(cid).toString())!;
  }

  /**
   * Several objects, each verified, batched up to 100 per request; `onObject` is called as each
   * verified object arrives. Throws TAMPERED / NOT_FOUND / UNAVAILABLE for the first object no mirror
   * could supply correctly.
   */
  async getMany(cids: string[], onObject?: (cid: string, bytes: Uint8Array) => void | Promise<void>): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    const unique = [...new Set(cids.map((c) => parseCid(c).toString()))];
    for (let i = 0; i < unique.length; i += MAX_BATCH_CIDS) {
      const batch = unique.slice(i, i + MAX_BATCH_CIDS);
      const outcomes = new Map<string, Outcome[]>();
      let pending = batch;
      for (const mirror of this.mirrors) {
        if (pending.length === 0) break;
        let body: Map<string, Uint8Array | undefined> | undefined;
        try {
          const res = await this.request(`${mirror}/chunks?${pending.map((c) => `cid=${c}`).join("&")}`);
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          const buf = new Uint8Array(await res.arrayBuffer());
          this.bytesReceived += buf.length;
          body = decodeChunkBatch(buf);
        } catch {
          for (const c of pending) push(outcomes, c, "error");
          continue;
        }
        const still: string[] = [];
        for (const c of pending) {
          const bytes = body.get(c);
          if (bytes === undefined) {
            push(outcomes, c, "missing");
            still.push(c);
          } else if (!bytesMatchCid(CID.parse(c), bytes)) {
            push(outcomes, c, "tampered");
            still.push(c);
          } else {
            const copy = new Uint8Array(bytes);
            out.set(c, copy);
            await onObject?.(c, copy);
          }
        }
        pending = still;
      }
      if (pending.length > 0) throw failure(pending[0], outcomes.get(pending[0]) ?? [], this.mirrors);
    }
    return out;
  }

  /**
   * A spec blob by its on-chain specHash, which is the sha256 of its bytes (its CID is CIDv1 raw with
   * that digest): from the first mirror whose bytes hash to it. Throws ImageError TOO_LARGE when the
   * right bytes are over `maxBytes` (the deployer published it: no mirror can do better), TAMPERED when
   * some mirror served other bytes and none the right ones, NOT_FOUND when no mirror has it, and
   * UNAVAILABLE when none answered. A mirror's body is read to at most 16 x `maxBytes`.
   * @example const json = new TextDecoder().decode(await new StoreClient([storeUrl]).getSpecBlob(intent.specHash));
   */
  async getSpecBlob(specHash: `0x${string}`, opts: { maxBytes?: number } = {}): Promise<Uint8Array> {
    const maxBytes = opts.maxBytes ?? MAX_SPEC_BLOB_BYTES;
    const cid = bytes32ToRoot(specHash, RAW_CODEC);
    const outcomes: Outcome[] = [];
    for (const mirror of this.mirrors) {
      let bytes: Uint8Array | null;
      try {
        const res = await this.request(`${mirror}/blobs/${cid}`);
        if (res.status === 404) {
          await res.body?.cancel();
          outcomes.push("missing");
          continue;
        }
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        bytes = await readCapped(res, maxBytes * 16);
      } catch {
        outcomes.push("error");
        continue;
      }
      if (bytes) this.bytesReceived += bytes.length;
      if (bytes === null || !bytesMatchCid(cid, bytes)) {
        outcomes.push("tampered");
        continue;
      }
      if (bytes.length > maxBytes)
        throw new ImageError(`spec blob ${cid}: ${bytes.length} bytes, more than a spec may be (${maxBytes})`, { code: "TOO_LARGE", cid: cid.toString() });
      return bytes;
    }
    throw failure(cid.toString(), outcomes, this.mirrors, "spec blob");
  }

  /**
   * The spec blob as text, or undefined when no mirror has it; other failures throw as `getSpecBlob`.
   * @example const json = await new StoreClient([storeUrl]).findSpecJson(intent.specHash); if (json) specFromCanonicalJson(json)
   */
  async findSpecJson(specHash: `0x${string}`): Promise<string | undefined> {
    try {
      return new TextDecoder().decode(await this.getSpecBlob(specHash));
    } catch (err) {
      if (err instanceof ImageError && err.code === "NOT_FOUND") return undefined;
      throw err;
    }
  }

  /** Root CID for an image name (or `zero-image://name`), from the first mirror that knows it. */
  async resolveName(name: string): Promise<CID> {
    const n = normalizeImageName(name);
    let notFound = 0;
    for (const mirror of this.mirrors) {
      try {
        const res = await this.request(`${mirror}/catalog/${n.split("/").map(encodeURIComponent).join("/")}`);
        if (res.status === 404) {
          notFound++;
          continue;
        }
        if (!res.ok) continue;
        const body = (await res.json()) as { root?: string };
        const cid = parseCid(String(body.root), "catalog root");
        if (cid.code === JSON_CODEC) return cid;
      } catch {
        // next mirror
      }
    }
    if (notFound > 0) throw new ImageError(`image name "${n}": not in the catalog of any mirror`, { code: "NOT_FOUND" });
    throw new ImageError(`image name "${n}": no mirror answered (${this.mirrors.join(", ")})`, { code: "UNAVAILABLE" });
  }

  /** The whole catalog of the first mirror that answers. */
  async catalog(): Promise<Record<string, string>> {
    for (const mirror of this.mirrors) {
      try {
        const res = await this.request(`${mirror}/catalog`);
        if (res.ok) return (await res.json()) as Record<string, string>;
      } catch {
        // next
      }
    }
    throw new ImageError(`catalog: no mirror answered (${this.mirrors.join(", ")})`, { code: "UNAVAILABLE" });
  }

  /** Which of `cids` the first mirror lacks. */
  async missing(cids: string[], mirror = this.mirrors[0]): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < cids.length; i += 10_000) {
      const res = await this.request(`${mirror}/chunks/missing`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ cids: cids.slice(i, i + 10_000) }),
      });
      await ok(res, "chunks/missing");
      out.push(...((await res.json()) as { missing: string[] }).missing);
    }
    return out;
  }

  /** Push one object to a mirror (verified by the server). */
  async put(cid: CID | string, bytes: Uint8Array, mirror = this.mirrors[0]): Promise<void> {
    const c = parseCid(cid).toString();
    const res = await this.request(`${mirror}/chunks/${c}`, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: new Uint8Array(bytes),
    });
    await ok(res, `push ${c}`);
  }

  /** Store a raw blob (e.g. canonical spec JSON) on a mirror; returns its CID (digest = sha256). */
  async putBlob(bytes: Uint8Array, mirror = this.mirrors[0]): Promise<CID> {
    const cid = cidForBytes(bytes);
    const res = await this.request(`${mirror}/blobs/${cid}`, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: new Uint8Array(bytes),
    });
    await ok(res, `put blob ${cid}`);
    return cid;
  }

  /** Point a catalog name at a root on a mirror (the manifest must already be there). */
  async setName(name: string, root: CID | string, mirror = this.mirrors[0]): Promise<void> {
    const n = normalizeImageName(name);
    const res = await this.request(`${mirror}/catalog/${n.split("/").map(encodeURIComponent).join("/")}`, {
      method: "PUT",
      headers: { "content-type": "application/json", ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: JSON.stringify({ root: parseCid(root, "root").toString() }),
    });
    await ok(res, `catalog ${n}`);
  }

  private request(url: string, init: RequestInit = {}): Promise<Response> {
    return fetch(url, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
  }
}

function push(m: Map<string, Outcome[]>, k: string, v: Outcome): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

function failure(cid: string, outcomes: Outcome[], mirrors: string[], what = "chunk"): ImageError {
  const summary = outcomes.map((o, i) => `${mirrors[i]}: ${o}`).join("; ");
  if (outcomes.includes("tampered"))
    return new ImageError(`${what} ${cid} is tampered: no mirror served bytes matching its hash`, { code: "TAMPERED", cid, details: summary });
  if (outcomes.includes("missing")) return new ImageError(`${what} ${cid}: not found on any mirror`, { code: "NOT_FOUND", cid, details: summary });
  return new ImageError(`${what} ${cid}: no mirror answered`, { code: "UNAVAILABLE", cid, details: summary });
}

/** The response body, or null once it passes `cap` bytes (a hostile mirror cannot fill memory). */
async function readCapped(res: Response, cap: number): Promise<Uint8Array | null> {
  if (!res.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += chunk.length;
    if (total > cap) return null; // leaving the loop cancels the body
    parts.push(chunk);
  }
  return new Uint8Array(Buffer.concat(parts));
}

async function ok(res: Response, what: string): Promise<void> {
  if (res.ok) return;
  let msg = `HTTP ${res.status}`;
  try {
    const b = (await res.json()) as { error?: { code?: string; message?: string; cid?: string } };
    if (b.error?.message) msg = b.error.message;
    if (b.error?.code && b.error.code !== "INTERNAL") throw new ImageError(`${what}: ${msg}`, { code: b.error.code as ImageError["code"], cid: b.error.cid });
  } catch (err) {
    if (err instanceof ImageError) throw err;
  }
  throw new ImageError(`${what}: ${msg}`, { code: "UNAVAILABLE" });
}
