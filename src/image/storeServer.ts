/**
 * The blob/image store over HTTP: serves a ChunkStore directory and its Catalog. Any number of
 * these can run as mirrors; clients verify everything, so a mirror is trusted for availability only.
 *
 *   GET  /health
 *   GET  /metrics                    Prometheus metrics (storeMetrics.ts)
 *   GET|HEAD /chunks/:cid            one object (chunk or manifest)
 *   GET  /chunks?cid=a&cid=b         several objects in one response (see chunkBatch.ts)
 *   POST /chunks/missing {cids}      which of these the store lacks -> {missing}
 *   PUT  /chunks/:cid                push, verified against the CID
 *   POST /chunks                     push raw bytes -> {cid} (raw codec)
 *   GET|HEAD|PUT /blobs/:cid, POST /blobs   the same for blobs (e.g. spec JSON, whose CID digest is the specHash)
 *   GET  /catalog                    {name: root}
 *   GET|PUT|DELETE /catalog/:name    {name, root}; PUT body {root}; the root's manifest must be in the store
 */
import { timingSafeEqual } from "node:crypto";
import express, { type NextFunction, type Request, type Response } from "express";
import type { AddressInfo } from "node:net";
import { Catalog } from "./catalog";
import { CHUNK_BATCH_CONTENT_TYPE, MAX_BATCH_CIDS, encodeChunkBatch } from "./chunkBatch";
import { ChunkStore } from "./chunkStore";
import { type CID, JSON_CODEC, cidForBytes, parseCid } from "./cid";
import { ImageError } from "./imageError";
import { createStoreMetrics } from "./storeMetrics";

export interface StoreServerOptions {
  dir: string;
  /** 0 or absent: a free port. */
  port?: number;
  host?: string;
  /** Largest accepted upload (default 64 MiB). */
  maxUploadBytes?: number;
  /**
   * When set, changing the catalog (PUT/DELETE /catalog/NAME) needs `Authorization: Bearer TOKEN`:
   * a name decides which image `hypha apply` resolves, so on a shared store only its owner may move
   * it. Content-addressed writes stay open (every object is verified against its CID).
   */
  catalogToken?: string;
  /**
   * Uploads that would take the store past this many bytes of objects are refused (507). A soft
   * limit: uploads racing each other may pass it by one object each.
   */
  maxStoreBytes?: number;
}

export interface StoreServer {
  url: string;
  port: number;
  store: ChunkStore;
  catalog: Catalog;
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
  const raw = express.raw({ type: () => true, limit: opts.maxUploadBytes ?? 64 * 1024 * 1024 });
  const json = express.json({ limit: "4mb" });

  const metrics = createStoreMetrics(async () => Object.keys(await catalog.list()).length);
  app.use(metrics.middleware);

  app.get("/health", (_req, res) => {
    res.json({ ok: true });
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
    if (!ok) return next(new ImageError("catalog: changing a name on this store needs its token (Authorization: Bearer …; hypha reads HYPHA_STORE_TOKEN)", { code: "UNAUTHORIZED" }));
    next();
  };
  app.put("/catalog/*name", catalogWriter, json, async (req, res) => {
    const name = nameOf(req);
    const root = (req.body as { root?: unknown } | undefined)?.root;
    if (typeof root !== "string") throw new ImageError("body.root: expected a root CID string", { code: "BAD_INPUT" });
    const cid = parseCid(root, "body.root");
    if (cid.code !== JSON_CODEC) throw new ImageError(`body.root: ${cid} is not an image manifest CID`, { code: "BAD_INPUT" });
    if (!(await store.has(cid))) throw new ImageError(`body.root: manifest ${cid} is not in this store; push the image first`, { code: "NOT_FOUND", cid: root });
    await catalog.set(name, root);
    res.json({ name, root: cid.toString() });
  });
  app.delete("/catalog/*name", catalogWriter, async (req, res) => {
    await catalog.delete(nameOf(req));
    res.status(204).end();
  });

  // Bytes of objects in the store, counted once at start and kept up to date by uploads.
  let used = 0;
  if (opts.maxStoreBytes !== undefined) for (const c of await store.list()) used += (await store.size(c)) ?? 0;
  /** The bytes an upload adds (0 when the object is there already); refuses one past the limit. */
  const withinQuota = async (cid: CID, size: number): Promise<number> => {
    if (opts.maxStoreBytes === undefined || (await store.has(cid))) return 0;
    if (used + size > opts.maxStoreBytes) {
      throw new ImageError(`store full: ${used} of ${opts.maxStoreBytes} bytes used, ${cid} needs ${size} more`, { code: "STORE_FULL", cid: cid.toString() });
    }
    return size;
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
      for (const [i, c] of cids.entries()) if (!(await store.has(parseCid(String(c), `body.cids[${i}]`)))) missing.push(String(c));
      res.json({ missing });
    });
    app.head(`${base}/:cid`, async (req, res) => {
      const size = await store.size(parseCid(String(req.params.cid), "cid"));
      if (size === undefined) res.status(404).end();
      else res.set("content-length", String(size)).set("content-type", "application/octet-stream").status(200).end();
    });
    app.get(`${base}/:cid`, async (req, res) => {
      const cid = parseCid(String(req.params.cid), "cid");
      const bytes = await store.get(cid);
      if (!bytes) throw new ImageError(`${cid}: not in this store`, { code: "NOT_FOUND", cid: cid.toString() });
      res.type("application/octet-stream").set("cache-control", "public, max-age=31536000, immutable").send(bytes);
    });
    app.put(`${base}/:cid`, raw, async (req, res) => {
      const cid = parseCid(String(req.params.cid), "cid");
      const body = bodyBytes(req);
      const added = await withinQuota(cid, body.length);
      await store.putVerified(cid, body);
      used += added;
      res.status(201).json({ cid: cid.toString(), size: body.length });
    });
    app.post(base, raw, async (req, res) => {
      const body = bodyBytes(req);
      const cid = cidForBytes(body); // what store.put will name it (raw codec)
      const added = await withinQuota(cid, body.length);
      await store.put(body);
      used += added;
      res.status(201).json({ cid: cid.toString(), size: body.length });
    });
  }

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: { code: "NOT_FOUND", message: "no such route" } });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof ImageError) {
      const e = err;
      const status = { NOT_FOUND: 404, TAMPERED: 422, TOO_LARGE: 413, CONFLICT: 409, UNAUTHORIZED: 401, STORE_FULL: 507 }[e.code as string] ?? 400;
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

  const server = await new Promise<import("node:http").Server>((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", (err?: Error) => (err ? reject(err) : resolve(s)));
    s.on("error", reject);
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host && opts.host !== "0.0.0.0" && opts.host !== "::" ? opts.host : "127.0.0.1";
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    store,
    catalog,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections?.();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

function bodyBytes(req: Request): Uint8Array {
  if (!Buffer.isBuffer(req.body)) return new Uint8Array(0);
  return req.body;
}
