/**
 * StoreClient.getSpecBlob, the one verified fetch of a spec blob by its on-chain specHash, against
 * real store servers over HTTP and a real HTTP server that lies (serves other bytes under any CID):
 * the first mirror with the right bytes wins, and each failure is an ImageError with its own code.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { sha256, stringToBytes, type Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageError } from "../../src/image/imageError";
import { StoreClient } from "../../src/image/storeClient";
import { startStoreServer, type StoreServer } from "../../src/image/storeServer";
import { freePort } from "../helpers/chain";
import { cleanupTempDirs, tempDir } from "./helpers";

const spec = '{"format":"hypha.spec/v1","name":"demo"}';
const specHash = sha256(stringToBytes(spec));

let full: StoreServer;
let empty: StoreServer;
let liar: Server;
let liarUrl: string;
let deadUrl: string;

beforeAll(async () => {
  full = await startStoreServer({ dir: path.join(tempDir(), "store"), port: 0 });
  empty = await startStoreServer({ dir: path.join(tempDir(), "store"), port: 0 });
  await new StoreClient([full.url]).putBlob(stringToBytes(spec));
  // A mirror that answers every request with the same wrong bytes.
  liar = createServer((_req, res) => res.end(Buffer.alloc(64, "x")));
  await new Promise<void>((resolve) => liar.listen(0, "127.0.0.1", resolve));
  liarUrl = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
  deadUrl = `http://127.0.0.1:${await freePort()}`; // nothing listens there
});

afterAll(async () => {
  await full.close();
  await empty.close();
  await new Promise((resolve) => liar.close(resolve));
  cleanupTempDirs();
});

async function failureOf(p: Promise<unknown>): Promise<ImageError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageError);
  return err as ImageError;
}

describe("StoreClient.getSpecBlob", () => {
  it("returns the bytes of the first mirror whose sha256 is the specHash, past a lying and a dead one", async () => {
    const client = new StoreClient([liarUrl, deadUrl, empty.url, full.url]);
    expect(new TextDecoder().decode(await client.getSpecBlob(specHash))).toBe(spec);
    expect(await client.findSpecJson(specHash)).toBe(spec);
  });

  it("TAMPERED when a mirror served other bytes and none the right ones, naming the CID and each mirror", async () => {
    const err = await failureOf(new StoreClient([empty.url, liarUrl]).getSpecBlob(specHash));
    expect(err.code).toBe("TAMPERED");
    expect(err.shortMessage).toMatch(/^spec blob bafkrei[a-z2-7]+ is tampered: no mirror served bytes matching its hash$/);
    expect(err.details).toBe(`${empty.url}: missing; ${liarUrl}: tampered`);
  });

  it("NOT_FOUND when no mirror has it (findSpecJson: undefined)", async () => {
    const client = new StoreClient([empty.url]);
    expect((await failureOf(client.getSpecBlob(specHash))).code).toBe("NOT_FOUND");
    expect(await client.findSpecJson(specHash)).toBeUndefined();
  });

  it("UNAVAILABLE when no mirror answers (findSpecJson throws it)", async () => {
    const client = new StoreClient([deadUrl]);
    expect((await failureOf(client.getSpecBlob(specHash))).code).toBe("UNAVAILABLE");
    expect((await failureOf(client.findSpecJson(specHash))).code).toBe("UNAVAILABLE");
  });

  it("TOO_LARGE when the right bytes are over maxBytes", async () => {
    const err = await failureOf(new StoreClient([full.url]).getSpecBlob(specHash, { maxBytes: 10 }));
    expect(err.code).toBe("TOO_LARGE");
    expect(err.shortMessage).toMatch(new RegExp(`: ${spec.length} bytes, more than a spec may be \\(10\\)$`));
  });

  it("stops reading a mirror's body past 16 x maxBytes, and refuses it", async () => {
    const big = createServer((_req, res) => res.end(Buffer.alloc(1_000_000, "y")));
    await new Promise<void>((resolve) => big.listen(0, "127.0.0.1", resolve));
    try {
      const bigClient = new StoreClient([`http://127.0.0.1:${(big.address() as AddressInfo).port}`]);
      const err = await failureOf(bigClient.getSpecBlob(specHash, { maxBytes: 100 }));
      expect(err.code).toBe("TAMPERED");
      expect(bigClient.bytesReceived).toBe(0);
    } finally {
      await new Promise((resolve) => big.close(resolve));
    }
  });

  it("refuses a malformed specHash before any request, naming it", async () => {
    const err = await failureOf(new StoreClient([full.url]).getSpecBlob("0x1234" as Hex));
    expect(err.code).toBe("BAD_INPUT");
  });
});
