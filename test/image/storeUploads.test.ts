/**
 * The store's uploads over real HTTP: streamed to disk (several large ones at once, nothing lost,
 * no duplicate, no temp file left), a bounded number in flight (the rest wait, then get 503), the
 * default upload size cap and the free-space reserve (refused, nothing stored).
 */
import * as http from "node:http";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cidForBytes } from "../../src/image/cid";
import { startStoreServer } from "../../src/image/storeServer";
import { cleanupTempDirs, listFiles, seededBytes, tempDir } from "./helpers";

afterAll(cleanupTempDirs);

/** A raw HTTP request whose body the test writes piece by piece (no content-length: chunked). */
function openUpload(
  url: string,
  method = "POST",
): { req: http.ClientRequest; response: Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> } {
  const req = http.request(url, { method, headers: { "content-type": "application/octet-stream" } });
  const response = new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on("error", reject);
  });
  return { req, response };
}

describe("store uploads", () => {
  it("streams four parallel 8 MiB uploads to disk: each stored once, byte for byte, no temp file left", async () => {
    const dir = path.join(tempDir(), "store");
    const srv = await startStoreServer({ dir });
    try {
      const bodies = [0, 1, 2, 3].map((i) => seededBytes(8 * 2 ** 20, `big-${i}`));
      const answers = await Promise.all(
        bodies.map((b, i) =>
          i % 2 === 0
            ? fetch(`${srv.url}/blobs/${cidForBytes(b)}`, { method: "PUT", body: new Uint8Array(b) })
            : fetch(`${srv.url}/blobs`, { method: "POST", body: new Uint8Array(b) }),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201]);
      const cids = bodies.map((b) => cidForBytes(b).toString());
      expect(await Promise.all(answers.map(async (a) => ((await a.json()) as { cid: string }).cid))).toEqual(cids);
      expect(await srv.store.list()).toEqual([...cids].sort());
      for (const [i, c] of cids.entries()) expect((await srv.store.get(c))!.equals(bodies[i])).toBe(true);
      const got = Buffer.from(await (await fetch(`${srv.url}/blobs/${cids[2]}`)).arrayBuffer());
      expect(got.equals(bodies[2])).toBe(true);
      expect(srv.gate.usedBytes).toBe(4 * 8 * 2 ** 20);
      expect(await fsp.readdir(path.join(dir, "tmp"))).toEqual([]);
      expect(await (await fetch(`${srv.url}/healthz`)).json()).toEqual({ ok: true });
      // the same object again: 201, stored once, counted once
      expect((await fetch(`${srv.url}/blobs`, { method: "POST", body: new Uint8Array(bodies[1]) })).status).toBe(201);
      expect((await srv.store.list()).length).toBe(4);
      expect(srv.gate.usedBytes).toBe(4 * 8 * 2 ** 20);
    } finally {
      await srv.close();
    }
  });

  it("keeps at most maxInFlight uploads streaming; past the waiting room it answers 503 with Retry-After", async () => {
    const dir = path.join(tempDir(), "store");
    const srv = await startStoreServer({ dir, maxInFlight: 1, maxWaitingUploads: 1 });
    try {
      const first = openUpload(`${srv.url}/chunks`);
      first.req.write(Buffer.from("first part "));
      await expect.poll(() => srv.gate.load.inFlight).toBe(1);
      const second = openUpload(`${srv.url}/chunks`);
      second.req.end(Buffer.from("second"));
      await expect.poll(() => srv.gate.load.waiting).toBe(1);
      const third = await fetch(`${srv.url}/chunks`, { method: "POST", body: Buffer.from("third") });
      expect(third.status).toBe(503);
      expect(third.headers.get("retry-after")).toBe("1");
      expect(((await third.json()) as { error: { code: string; message: string } }).error).toMatchObject({
        code: "BUSY",
        message: expect.stringMatching(/1 uploads in flight and 1 waiting/),
      });
      first.req.end(Buffer.from("and the rest"));
      expect((await first.response).status).toBe(201);
      expect((await second.response).status).toBe(201);
      expect(srv.gate.load).toEqual({ inFlight: 0, waiting: 0 });
      expect(await srv.store.list()).toEqual([cidForBytes(Buffer.from("first part and the rest")), cidForBytes(Buffer.from("second"))].map(String).sort());
    } finally {
      await srv.close();
    }
  });

  it("refuses an upload over the size cap, announced or not, and stores nothing", async () => {
    const root = tempDir();
    const dir = path.join(root, "store");
    const srv = await startStoreServer({ dir, maxUploadBytes: 2 ** 20 });
    try {
      const before = await listFiles(root);
      const big = seededBytes(2 ** 20 + 1, "too-big");
      const announced = await fetch(`${srv.url}/blobs/${cidForBytes(big)}`, { method: "PUT", body: new Uint8Array(big) });
      expect(announced.status).toBe(413);
      expect(((await announced.json()) as { error: { message: string } }).error.message).toMatch(
        /1048577 bytes is over the store's upload limit of 1048576 bytes/,
      );
      const streamed = openUpload(`${srv.url}/blobs`);
      streamed.req.write(big.subarray(0, 2 ** 19));
      streamed.req.end(big.subarray(2 ** 19));
      const r = await streamed.response;
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body).error.message).toMatch(/more than 1048576 bytes/);
      expect(await listFiles(root)).toEqual(before);
      expect(srv.gate.usedBytes).toBe(0);
      expect(srv.gate.load).toEqual({ inFlight: 0, waiting: 0 });
    } finally {
      await srv.close();
    }
  });

  it("keeps its disk's free-space reserve: 507, nothing stored", async () => {
    const root = tempDir();
    const srv = await startStoreServer({ dir: path.join(root, "store"), minFreeBytes: Number.MAX_SAFE_INTEGER });
    try {
      const before = await listFiles(root);
      const res = await fetch(`${srv.url}/chunks`, { method: "POST", body: Buffer.from("anything") });
      expect(res.status).toBe(507);
      expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({
        code: "STORE_FULL",
        message: expect.stringMatching(/under the reserve of/),
      });
      expect(await listFiles(root)).toEqual(before);
      const health = await fetch(`${srv.url}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({
        ok: false,
        reason: expect.stringMatching(/bytes free, under the reserve of \d+ bytes: uploads are refused \(reads still served\)/),
      });
    } finally {
      await srv.close();
    }
  });

  it("names a bad option instead of starting", async () => {
    await expect(startStoreServer({ dir: path.join(tempDir(), "store"), maxInFlight: 0 })).rejects.toThrow(
      /maxInFlight: expected a whole number of at least 1, got 0/,
    );
  });
});
