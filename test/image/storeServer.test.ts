import { createHash } from "node:crypto";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeChunkBatch } from "../../src/image/chunkBatch";
import { cidForBytes } from "../../src/image/cid";
import { importImage } from "../../src/image/importImage";
import { type StoreServer, startStoreServer } from "../../src/image/storeServer";
import { StoreClient } from "../../src/image/storeClient";
import { listFiles, tempDir, writeTree, cleanupTempDirs } from "./helpers";

afterAll(cleanupTempDirs);

describe("store server over real HTTP", () => {
  let srv: StoreServer;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    srv = await startStoreServer({ dir: path.join(dir, "store"), port: 0 });
  });
  afterAll(() => srv.close());

  it("push (verified), GET, HEAD and batch GET of chunks", async () => {
    const a = Buffer.from("chunk a");
    const b = Buffer.from("chunk b");
    const ca = cidForBytes(a).toString();
    const cb = cidForBytes(b).toString();
    const post = await fetch(`${srv.url}/chunks`, { method: "POST", body: a });
    expect(post.status).toBe(201);
    expect(await post.json()).toEqual({ cid: ca, size: a.length });
    expect((await fetch(`${srv.url}/chunks/${cb}`, { method: "PUT", body: b })).status).toBe(201);
    expect(Buffer.from(await (await fetch(`${srv.url}/chunks/${ca}`)).arrayBuffer())).toEqual(a);
    const head = await fetch(`${srv.url}/chunks/${cb}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(b.length));
    const missing = cidForBytes(Buffer.from("nope")).toString();
    expect((await fetch(`${srv.url}/chunks/${missing}`, { method: "HEAD" })).status).toBe(404);
    const batch = decodeChunkBatch(new Uint8Array(await (await fetch(`${srv.url}/chunks?cid=${ca}&cid=${cb}&cid=${missing}`)).arrayBuffer()));
    expect(Buffer.from(batch.get(ca)!)).toEqual(a);
    expect(Buffer.from(batch.get(cb)!)).toEqual(b);
    expect(batch.has(missing) && batch.get(missing) === undefined).toBe(true);
    const m = await fetch(`${srv.url}/chunks/missing`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ cids: [ca, missing] }),
    });
    expect(await m.json()).toEqual({ missing: [missing] });
  });

  it("refuses a push whose bytes do not match the CID, storing nothing", async () => {
    const before = await listFiles(dir);
    const claimed = cidForBytes(Buffer.from("the real bytes")).toString();
    const res = await fetch(`${srv.url}/chunks/${claimed}`, { method: "PUT", body: Buffer.from("other bytes") });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: "TAMPERED",
      message: expect.stringContaining(claimed),
    });
    expect(await listFiles(dir)).toEqual(before);
    const bad = await fetch(`${srv.url}/chunks/not-a-cid`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/cid: not a valid CID/);
  });

  it("blobs: a spec JSON stored under CIDv1(raw) whose digest is sha256(bytes)", async () => {
    const spec = Buffer.from('{"kind":"Pod","name":"demo"}');
    const client = new StoreClient([srv.url]);
    const cid = await client.putBlob(spec);
    expect(Buffer.from(cid.multihash.digest).toString("hex")).toBe(createHash("sha256").update(spec).digest("hex"));
    const got = await fetch(`${srv.url}/blobs/${cid}`);
    expect(Buffer.from(await got.arrayBuffer())).toEqual(spec);
  });

  it("catalog: names map to roots whose manifest is in the store; bad names and unknown roots are refused", async () => {
    await writeTree(path.join(dir, "tree"), { "hello.txt": "hi\n" });
    const { root } = await importImage(path.join(dir, "tree"), srv.store);
    const client = new StoreClient([srv.url]);
    await client.setName("ubuntu:latest", root);
    await client.setName("zero-image://ubuntu-latest", root);
    expect((await client.resolveName("zero-image://ubuntu-latest")).toString()).toBe(root.toString());
    expect((await client.resolveName("ubuntu:latest")).toString()).toBe(root.toString());
    expect(await client.catalog()).toEqual({ "ubuntu-latest": root.toString(), "ubuntu:latest": root.toString() });
    await expect(client.resolveName("nothing-here")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await client.setName("library/ubuntu:22.04", root); // names with a slash travel as path segments
    expect((await client.resolveName("zero-image://library/ubuntu:22.04")).toString()).toBe(root.toString());
    await fetch(`${srv.url}/catalog/library/ubuntu:22.04`, { method: "DELETE" });
    const unknownRoot = cidForBytes(Buffer.from("{}"), 0x0200).toString();
    const r1 = await fetch(`${srv.url}/catalog/x`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ root: unknownRoot }),
    });
    expect(r1.status).toBe(404);
    expect(((await r1.json()) as { error: { message: string } }).error.message).toMatch(/is not in this store; push the image first/);
    const r2 = await fetch(`${srv.url}/catalog/BAD..NAME`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ root: root.toString() }),
    });
    expect(r2.status).toBe(400);
    expect(Object.keys(await client.catalog())).toEqual(["ubuntu-latest", "ubuntu:latest"]);
  });
});

describe("a store that protects its catalog with a token", () => {
  it("changes a name only with the token; reads and content-addressed uploads stay open", async () => {
    const dir = tempDir();
    const token = "s3cret-token-0123456789";
    const srv = await startStoreServer({ dir: path.join(dir, "store"), port: 0, catalogToken: token });
    try {
      await writeTree(path.join(dir, "tree"), { "hello.txt": "hi\n" });
      const { root } = await importImage(path.join(dir, "tree"), null);
      const open = new StoreClient([srv.url]);
      // uploads are open: every object is verified against its CID
      const local = await importImage(path.join(dir, "tree"), srv.store);
      expect(local.root.toString()).toBe(root.toString());
      const cid = await open.putBlob(Buffer.from("{}"));
      expect((await fetch(`${srv.url}/blobs/${cid}`)).status).toBe(200);

      await expect(open.setName("app:1", root)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
      await expect(new StoreClient([srv.url], { token: "s3cret-token-0123456780" }).setName("app:1", root)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
      expect(await open.catalog()).toEqual({});
      const owner = new StoreClient([srv.url], { token });
      await owner.setName("app:1", root);
      expect((await open.resolveName("app:1")).toString()).toBe(root.toString());
      const del = await fetch(`${srv.url}/catalog/app:1`, { method: "DELETE" });
      expect(del.status).toBe(401);
      expect(((await del.json()) as { error: { message: string } }).error.message).toMatch(/needs its token/);
      expect(Object.keys(await open.catalog())).toEqual(["app:1"]);
      expect((await fetch(`${srv.url}/catalog/app:1`, { method: "DELETE", headers: { authorization: `Bearer ${token}` } })).status).toBe(204);
      expect(await open.catalog()).toEqual({});
    } finally {
      await srv.close();
    }
  });
});

describe("a store with a size limit", () => {
  it("refuses uploads past the limit (507, nothing stored) and still takes objects it has", async () => {
    const dir = tempDir();
    const srv = await startStoreServer({ dir: path.join(dir, "store"), port: 0, maxStoreBytes: 1000 });
    try {
      const client = new StoreClient([srv.url]);
      const first = Buffer.alloc(600, 1);
      const cid = await client.putBlob(first);
      await expect(client.putBlob(Buffer.alloc(600, 2))).rejects.toMatchObject({ code: "STORE_FULL" });
      const posted = await fetch(`${srv.url}/chunks`, { method: "POST", body: Buffer.alloc(600, 3) });
      expect(posted.status).toBe(507);
      expect(((await posted.json()) as { error: { message: string } }).error.message).toMatch(/store full: 600 of 1000 bytes used/);
      expect(await srv.store.list()).toEqual([cid.toString()]);
      expect((await client.putBlob(first)).toString()).toBe(cid.toString()); // already there: no growth
      await client.putBlob(Buffer.alloc(400, 4)); // exactly at the limit
      await expect(client.putBlob(Buffer.alloc(1, 5))).rejects.toMatchObject({ code: "STORE_FULL" });
    } finally {
      await srv.close();
    }
    // the limit counts what is on disk when the store starts again
    const again = await startStoreServer({ dir: path.join(dir, "store"), port: 0, maxStoreBytes: 1000 });
    try {
      await expect(new StoreClient([again.url]).putBlob(Buffer.alloc(1, 6))).rejects.toMatchObject({ code: "STORE_FULL" });
    } finally {
      await again.close();
    }
  });
});
