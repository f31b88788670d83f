/**
 * The blob/image store over HTTP: serves a ChunkStore directory and its Catalog. Any number of
 * these can run as mirrors; clients verify everything, so a mirror is trusted for availability only.
 *
 *   GET  /metrics                    Prometheus metrics (storeMetrics.ts)
 *   GET  /health, /healthz           200 {ok: true}; 503 {ok: false, reason} when its disk is at the free-space reserve
 *   GET|HEAD /chunks/:cid            one object (chunk or manifest)
 *   GET  /chunks?cid=a&cid=b         several objects in one response (see chunkBatch.ts)
 *   POST /chunks/missing {cids}      which of these the store lacks -> {missing}
 *   PUT  /chunks/:cid                push, verified against the CID
 *   POST /chunks                     push raw bytes -> {cid} (raw codec)
 * Uploads stream to a temp file as they arrive (never held in memory), at most `maxInFlight` at a
 * time, and are renamed into place only once complete and verified.
 *   GET|HEAD|PUT /blobs/:cid, POST /blobs   the same for blobs (e.g. spec JSON, whose CID digest is the specHash)
 *   GET  /catalog                    {name: root}
 *   GET|PUT|DELETE /catalog/:name    {name, root}; PUT body {root}; the root's manifest must be in the store
 */
import { timingSafeEqual } from "node:crypto";
import { createReadStream, promises as fsp } from "node:fs";
import { pipeline } from "node:stream/promises";
import express, { type NextFunction, type Request, type Response } from "express";
import { Catalog } from "./catalog";
import { CHUNK_BATCH_CONTENT_TYPE, MAX_BATCH_CIDS, encodeChunkBatch } from "./chunkBatch";
import { ChunkStore } from "./chunkStore";
import { type CID, JSON_CODEC, parseCid } from "./cid";
import { ImageError } from "./imageError";
import { createStoreMetrics } from "./storeMetrics";
import { UploadGate } from "./uploadGate";
import { listenHttp } from "../http/listenHttp";

export interface StoreServerOptions {
  dir: string;
  /** 0 or absent: a free port. */
  port?: number;
  host?: string;
  /** Largest accepted upload (default 64 MiB). */
  maxUploadBytes?: number;
  /** Uploads streamed to disk at the same time (default 4); more wait, up to `maxWaitingUploads` (default 64), then get 503. */
  maxInFlight?: number;
  maxWaitingUploads?: number;
  /** Free bytes the store's disk always keeps: uploads past it get 507 (default 5% of the disk, at most 1 GiB). */
  minFreeBytes?: number;
  /**
   * When set, changing the catalog (PUT/DELETE /catalog/NAME) needs `Authorization: Bearer TOKEN`:
   * a name decides which image `hypha apply` resolves, so on a shared store only its owner may move
   * it. Content-addressed writes stay open (every object is verified against its CID).
   */
  catalogToken?: string;
  /**
   * Uploads that would take the store past this many bytes of objects are refused (507). Bytes are
   * reserved as they arrive, so racing uploads cannot pass it together.
   */
  maxStoreBytes?: number;
}

export interface StoreServer {
  url: string;
  port: number;
  store: ChunkStore;
  catalog: Catalog;
  gate: UploadGate;
  close(): Promise<void>;
}

/**
 * @example const srv = await startStoreServer({ dir: ".hypha/store", port: 7700 }); ...; await srv.close()
 */
export async function startStoreServer(opts: StoreServerOptions): Promise<StoreServer> {
  const store = new ChunkStore(opts.dir);
  const catalog = new Catalog(opts.dir);
  const app = express();
  app.disable("x-powered-by");
  const maxUploadBytes = opts.maxUploadBytes ?? 64 * 1024 * 1024;
  const json = express.json({ limit: "4mb" });

  const metrics = createStoreMetrics(async () => Object.keys(await catalog.list()).length);
  app.use(metrics.middleware);

  app.get(["/health", "/healthz"], async (_req, res) => {
    const why = await gate.unhealthy();
    if (why) res.status(503).json({ ok: false, reason: why });
    else res.json({ ok: true });
  });

  app.get("/metrics", async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get("/catalog", async (_req, res) => {
    res.json(await catalog.list());
  });
  const nameOf = (req: Request) => {
    const p = (req.params as Record<string, string | string[]>).name;
    return Array.isArray(p) ? p.join("/") : p;
  };
  app.get("/catalog/*name", async (req, res) => {
    const name = nameOf(req);
    res.json({ name, root: await catalog.resolve(name) });
  });
  const catalogWriter = (req: Request, _res: Response, next: NextFunction) => {
    if (opts.catalogToken === undefined) return next();
    const given = /^Bearer (.+)$/.exec(req.get("authorization") ?? "")?.[1];
    const ok = given !== undefined && given.length === opts.catalogToken.length && timingSafeEqual(Buffer.from(given), Buffer.from(opts.catalogToken));
    if (!ok)
      return next(
        new ImageError("catalog: changing a name on this store needs its token (Authorization: Bearer …; hypha reads HYPHA_STORE_TOKEN)", {
          code: "UNAUTHORIZED",
        }),
      );
    next();
  };
  app.put("/catalog/*name", catalogWriter, json, async (req, res) => {
    const name = nameOf(req);
    const root = (req.body as { root?: unknown } | undefined)?.root;
    if (typeof root !== "string") throw new ImageError("body.root: expected a root CID string", { code: "BAD_INPUT" });
    const cid = parseCid(root, "body.root");
    if (cid.code !== JSON_CODEC) throw new ImageError(`body.root: ${cid} is not an image manifest CID`, { code: "BAD_INPUT" });
    if (!(await store.has(cid)))
      throw new ImageError(`body.root: manifest ${cid} is not in this store; push the image first`, { code: "NOT_FOUND", cid: root });
    await catalog.set(name, root);
    res.json({ name, root: cid.toString() });
  });
  app.delete("/catalog/*name", catalogWriter, async (req, res) => {
    await catalog.delete(nameOf(req));
    res.status(204).end();
  });

  // Bytes of objects in the store, counted once at start and kept up to date by uploads.
  await store.removeLeftovers();
  let used = 0;
  for (const c of await store.list()) used += (await store.size(c)) ?? 0;
  await fsp.mkdir(store.dir, { recursive: true });
  const gate = await UploadGate.open({
    dir: store.dir,
    usedBytes: used,
    maxStoreBytes: opts.maxStoreBytes,
    minFreeBytes: opts.minFreeBytes,
    maxInFlight: opts.maxInFlight,
    maxWaiting: opts.maxWaitingUploads,
  });

  /** Streams one upload's body into the store under the gate: bounded in flight, size and space checked. */
  const upload = async (req: Request, cid: CID | undefined): Promise<{ cid: CID; size: number }> => {
    const header = req.get("content-length");
    const length = header === undefined ? undefined : Number(header);
    if (length !== undefined && Number.isFinite(length) && length > maxUploadBytes)
      throw new ImageError(`upload: ${length} bytes is over the store's upload limit of ${maxUploadBytes} bytes`, { code: "TOO_LARGE", cid: cid?.toString() });
    const have = cid && (await store.size(cid));
    if (cid && have !== undefined) {
      await store.freshen(cid);
      // Already here: nothing to write or count; the body is read and dropped.
      req.resume();
      await new Promise((resolve) => (req.complete ? resolve(undefined) : req.once("end", resolve).once("close", resolve)));
      return { cid, size: have };
    }
    const ticket = await gate.admit(length !== undefined && Number.isFinite(length) ? length : undefined);
    try {
      const got = await store.putStream(req, { cid, maxBytes: maxUploadBytes, onBytes: (n) => ticket.take(n) });
      ticket.settle(got.added ? got.size : 0);
      return got;
    } finally {
      ticket.release();
    }
  };

  for (const base of ["/chunks", "/blobs"]) {
    app.get(base, async (req, res) => {
      const q = req.query.cid;
      const cids = (Array.isArray(q) ? q : q === undefined ? [] : [q]).map(String);
      if (cids.length === 0) throw new ImageError("query cid: give one or more ?cid=", { code: "BAD_INPUT" });
      if (cids.length > MAX_BATCH_CIDS) throw new ImageError(`query cid: at most ${MAX_BATCH_CIDS} per request, got ${cids.length}`, { code: "BAD_INPUT" });
      const items = [];
      for (const c of cids) items.push({ cid: parseCid(c, "query cid").toString(), bytes: await store.get(c) });
      res.type(CHUNK_BATCH_CONTENT_TYPE).send(encodeChunkBatch(items));
    });
    app.post(`${base}/missing`, json, async (req, res) => {
      const cids = (req.body as { cids?: unknown } | undefined)?.cids;
      if (!Array.isArray(cids) || cids.length > 100_000) throw new ImageError("body.cids: expected an array of at most 100000 CIDs", { code: "BAD_INPUT" });
      const missing: string[] = [];
      for (const [i, c] of cids.entries()) if (!(await store.freshen(parseCid(String(c), `body.cids[${i}]`)))) missing.push(String(c)); // a push skips what is here: keep it from GC
      res.json({ missing });
    });
    app.head(`${base}/:cid`, async (req, res) => {
      const size = await store.size(parseCid(String(req.params.cid), "cid"));
      if (size === undefined) res.status(404).end();
      else res.set("content-length", String(size)).set("content-type", "application/octet-stream").status(200).end();
    });
    app.get(`${base}/:cid`, async (req, res) => {
      const cid = parseCid(String(req.params.cid), "cid");
      const size = await store.size(cid);
      if (size === undefined) throw new ImageError(`${cid}: not in this store`, { code: "NOT_FOUND", cid: cid.toString() });
      res.type("application/octet-stream").set("cache-control", "public, max-age=31536000, immutable").set("content-length", String(size));
      await pipeline(createReadStream(store.pathFor(cid)), res); // streamed: a 60 MB blob is not read into memory
    });
    app.put(`${base}/:cid`, async (req, res) => {
      const { cid, size } = await upload(req, parseCid(String(req.params.cid), "cid"));
      res.status(201).json({ cid: cid.toString(), size });
    });
    app.post(base, async (req, res) => {
      const { cid, size } = await upload(req, undefined); // named by its hash, raw codec
      res.status(201).json({ cid: cid.toString(), size });
    });
  }

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: { code: "NOT_FOUND", message: "no such route" } });
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // An upload refused before its body was read: close the connection rather than read the rest.
    if (!req.complete) res.set("connection", "close");
    if (err instanceof ImageError) {
      const e = err;
      const status = { NOT_FOUND: 404, TAMPERED: 422, TOO_LARGE: 413, CONFLICT: 409, UNAUTHORIZED: 401, STORE_FULL: 507, BUSY: 503 }[e.code as string] ?? 400;
      if (e.code === "BUSY") res.set("retry-after", "1");
      res.status(status).json({ error: { code: e.code, message: e.shortMessage, cid: e.cid } });
      return;
    }
    const e = err as { status?: number; message?: string };
    if (typeof e?.status === "number" && e.status < 500) {
      res.status(e.status).json({ error: { code: e.status === 413 ? "TOO_LARGE" : "BAD_INPUT", message: e.message } });
    } else {
      res.status(500).json({ error: { code: "INTERNAL", message: String((err as Error)?.message ?? err) } });
    }
  });

  const { url, port, close } = await listenHttp(app, opts.host ?? "127.0.0.1", opts.port ?? 0);
  return { url, port, store, catalog, gate, close };
}
