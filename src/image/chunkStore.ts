/**
 * Content-addressed store on disk: chunks, manifests and blobs keyed by CID under
 * `<dir>/objects/<last 2 chars>/<cid>`. Writes go to a temp file and are renamed into place, so a
 * crash never leaves a half-written object; reads can be re-verified against the CID. A staging
 * area lets an import add many objects and make them visible only if the whole import succeeds.
 */
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as Digest from "multiformats/hashes/digest";
import { CID, RAW_CODEC, SHA2_256_CODE, bytesMatchCid, cidForBytes, parseCid } from "./cid";
import { ImageError } from "./imageError";

/** Anything that can take chunks: the store itself or a staging area of it. */
export interface ChunkSink {
  has(cid: CID | string): Promise<boolean>;
  put(bytes: Uint8Array, codec?: number): Promise<CID>;
}

/**
 * @example
 * const store = new ChunkStore(".hypha/store");
 * const cid = await store.put(bytes); (await store.get(cid))?.length
 */
export class ChunkStore implements ChunkSink {
  readonly dir: string;
  private readonly objectsDir: string;
  private readonly tmpDir: string;
  private ready: Promise<void> | undefined;
  private readonly shards = new Set<string>();

  constructor(dir: string) {
    if (typeof dir !== "string" || dir === "") throw new ImageError("store dir: expected a non-empty path", { code: "BAD_INPUT" });
    this.dir = path.resolve(dir);
    this.objectsDir = path.join(this.dir, "objects");
    this.tmpDir = path.join(this.dir, "tmp");
  }

  /** Where the object for `cid` lives (whether or not it exists). */
  pathFor(cid: CID | string): string {
    const s = parseCid(cid).toString();
    return path.join(this.objectsDir, s.slice(-2), s);
  }

  async has(cid: CID | string): Promise<boolean> {
    try {
      await fsp.access(this.pathFor(cid));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Whether the object is here; if so, marks it as just used (its mtime), so a garbage collection
   * that spares young objects does not remove it while an upload that relies on it is in progress.
   */
  async freshen(cid: CID | string): Promise<boolean> {
    const now = new Date();
    try {
      await fsp.utimes(this.pathFor(cid), now, now);
      return true;
    } catch {
      return false;
    }
  }

  /** Size in bytes of a stored object, or undefined. */
  async size(cid: CID | string): Promise<number | undefined> {
    try {
      return (await fsp.stat(this.pathFor(cid))).size;
    } catch {
      return undefined;
    }
  }

  /** The stored bytes, or undefined if absent. Does not re-hash: use getVerified for untrusted disks. */
  async get(cid: CID | string): Promise<Buffer | undefined> {
    try {
      return await fsp.readFile(this.pathFor(cid));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  /**
   * The stored bytes if present and still matching their CID; a corrupted object is deleted and
   * reported as absent (so it gets fetched again).
   */
  async getVerified(cid: CID | string): Promise<Buffer | undefined> {
    const c = parseCid(cid);
    const bytes = await this.get(c);
    if (bytes === undefined) return undefined;
    if (bytesMatchCid(c, bytes)) return bytes;
    await fsp.rm(this.pathFor(c), { force: true });
    return undefined;
  }

  /** Store bytes under CIDv1(codec, sha256(bytes)); idempotent. */
  async put(bytes: Uint8Array, codec: number = RAW_CODEC): Promise<CID> {
    const cid = cidForBytes(bytes, codec);
    await this.writeObject(cid, bytes);
    return cid;
  }

  /** Store bytes claimed to be `cid`; throws ImageError TAMPERED (nothing stored) if they are not. */
  async putVerified(cid: CID | string, bytes: Uint8Array): Promise<CID> {
    const c = parseCid(cid);
    if (!bytesMatchCid(c, bytes)) throw new ImageError(`content for ${c} is tampered: sha256 does not match`, { code: "TAMPERED", cid: c.toString() });
    await this.writeObject(c, bytes);
    return c;
  }

  /** Store bytes the caller has just verified against `cid` (skips re-hashing). */
  async putKnown(cid: CID, bytes: Uint8Array): Promise<void> {
    await this.writeObject(cid, bytes);
  }

  /**
   * Store an object from a stream without holding it in memory: the bytes go to a temp file as they
   * arrive, hashed on the way, and the file is renamed into place only when the whole object is
   * there and matches `opts.cid` (TAMPERED otherwise), or is named by its hash (raw codec) when no
   * CID is given. More than `maxBytes` aborts with TOO_LARGE; `onBytes` sees each piece's length
   * before it is written (a quota may throw from it). Whatever fails, no temp file is left.
   * @example const { cid, size } = await store.putStream(req, { maxBytes: 64 * 2 ** 20 })
   */
  async putStream(
    source: NodeJS.ReadableStream | AsyncIterable<Uint8Array>,
    opts: { cid?: CID; codec?: number; maxBytes: number; onBytes?: (n: number) => void },
  ): Promise<{ cid: CID; size: number; added: boolean }> {
    await this.ensureDirs();
    const tmp = path.join(this.tmpDir, `${randomBytes(8).toString("hex")}.part`);
    const hash = createHash("sha256");
    let size = 0;
    const count = new Transform({
      transform(piece: Buffer, _enc, done) {
        size += piece.length;
        if (size > opts.maxBytes)
          return done(new ImageError(`upload: more than ${opts.maxBytes} bytes (the store's upload limit)`, { code: "TOO_LARGE", cid: opts.cid?.toString() }));
        try {
          opts.onBytes?.(piece.length);
        } catch (err) {
          return done(err as Error);
        }
        hash.update(piece);
        done(null, piece);
      },
    });
    try {
      await pipeline(source as NodeJS.ReadableStream, count, createWriteStream(tmp, { flags: "wx" }));
      const digest = new Uint8Array(hash.digest());
      const got = CID.createV1(opts.cid?.code ?? opts.codec ?? RAW_CODEC, Digest.create(SHA2_256_CODE, digest));
      if (opts.cid && !got.equals(opts.cid))
        throw new ImageError(`content for ${opts.cid} is tampered: sha256 does not match`, { code: "TAMPERED", cid: opts.cid.toString() });
      if (await this.has(got)) {
        await fsp.rm(tmp, { force: true });
        return { cid: got, size, added: false };
      }
      await this.adopt(got, tmp);
      return { cid: got, size, added: true };
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  /**
   * Removes temp files a crash left in the middle of a write (never objects). Only those older than
   * `olderThanMs`: another process (an import) may be writing into the same directory right now.
   */
  async removeLeftovers(olderThanMs = 3_600_000): Promise<number> {
    let names: string[];
    try {
      names = await fsp.readdir(this.tmpDir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const n of names.filter((x) => x.endsWith(".part"))) {
      const file = path.join(this.tmpDir, n);
      const st = await fsp.stat(file).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > olderThanMs) {
        await fsp.rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }

  async delete(cid: CID | string): Promise<void> {
    await fsp.rm(this.pathFor(cid), { force: true });
  }

  /** Every CID in the store. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    let shards: string[] = [];
    try {
      shards = await fsp.readdir(this.objectsDir);
    } catch {
      return out;
    }
    for (const s of shards) for (const f of await fsp.readdir(path.join(this.objectsDir, s))) out.push(f);
    return out.sort();
  }

  /**
   * A staging area: objects put there are invisible until commit() moves them in (abort() drops
   * them). Used by imports, so a rejected input leaves the store unchanged.
   */
  async stage(): Promise<StagedChunks> {
    await this.ensureDirs();
    const dir = path.join(this.tmpDir, `stage-${process.pid}-${randomBytes(6).toString("hex")}`);
    await fsp.mkdir(dir);
    return new StagedChunks(this, dir);
  }

  /** @internal rename a finished file into place (or drop it if the object already exists). */
  async adopt(cid: CID, file: string): Promise<void> {
    const dest = this.pathFor(cid);
    const shard = path.dirname(dest);
    if (!this.shards.has(shard)) {
      await fsp.mkdir(shard, { recursive: true });
      this.shards.add(shard);
    }
    await fsp.rename(file, dest);
  }

  /** @internal */
  async writeTemp(bytes: Uint8Array, dir: string = this.tmpDir): Promise<string> {
    await this.ensureDirs();
    const tmp = path.join(dir, `${randomBytes(8).toString("hex")}.part`);
    await fsp.writeFile(tmp, bytes, { flag: "wx" });
    return tmp;
  }

  private async writeObject(cid: CID, bytes: Uint8Array): Promise<void> {
    if (await this.has(cid)) return;
    const tmp = await this.writeTemp(bytes);
    try {
      await this.adopt(cid, tmp);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  private ensureDirs(): Promise<void> {
    this.ready ??= (async () => {
      await fsp.mkdir(this.objectsDir, { recursive: true });
      await fsp.mkdir(this.tmpDir, { recursive: true });
    })();
    return this.ready;
  }
}

/** Objects written for an import that are not yet visible in the store. */
export class StagedChunks implements ChunkSink {
  private readonly pending = new Map<string, Promise<string>>(); // cid -> temp file being written
  /** Bytes and count of objects new to the store. */
  newBytes = 0;
  newChunks = 0;

  constructor(
    readonly store: ChunkStore,
    private readonly dir: string,
  ) {}

  async has(cid: CID | string): Promise<boolean> {
    const s = parseCid(cid).toString();
    return this.pending.has(s) || (await this.store.has(s));
  }

  async put(bytes: Uint8Array, codec: number = RAW_CODEC): Promise<CID> {
    const cid = cidForBytes(bytes, codec);
    const s = cid.toString();
    if (this.pending.has(s) || (await this.store.has(cid)) || this.pending.has(s)) return cid; // re-check: a concurrent put may have won
    const write = this.store.writeTemp(bytes, this.dir);
    this.pending.set(s, write);
    await write;
    this.newBytes += bytes.length;
    this.newChunks++;
    return cid;
  }

  /** Move every staged object into the store. */
  async commit(): Promise<void> {
    const items = [...this.pending];
    for (let i = 0; i < items.length; i += 64)
      await Promise.all(items.slice(i, i + 64).map(async ([cid, file]) => this.store.adopt(CID.parse(cid), await file)));
    this.pending.clear();
    await fsp.rm(this.dir, { recursive: true, force: true });
  }

  /** Drop every staged object. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.pending.values());
    this.pending.clear();
    await fsp.rm(this.dir, { recursive: true, force: true });
  }
}
