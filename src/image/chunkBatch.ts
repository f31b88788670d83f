/**
 * Wire format for several objects in one HTTP response (GET /chunks?cid=a&cid=b): a sequence of
 * records `[u16 BE cid length][cid ASCII][u32 BE byte length][bytes]`; an object the server does
 * not have is sent with length 0xFFFFFFFF and no bytes. The client still verifies every object.
 */
import { ImageError } from "./imageError";

export const CHUNK_BATCH_CONTENT_TYPE = "application/x-hypha-chunks";
/** Most CIDs one batch request may name (keeps the URL well under Node's 16 KiB header limit). */
export const MAX_BATCH_CIDS = 100;
const ABSENT = 0xffffffff;

/** @example encodeChunkBatch([{ cid: "bafk...", bytes }, { cid: "bafk...", bytes: undefined }]) */
export function encodeChunkBatch(items: { cid: string; bytes: Uint8Array | undefined }[]): Buffer {
  const parts: Buffer[] = [];
  for (const { cid, bytes } of items) {
    const c = Buffer.from(cid, "ascii");
    const head = Buffer.alloc(6 + c.length);
    head.writeUInt16BE(c.length, 0);
    c.copy(head, 2);
    head.writeUInt32BE(bytes ? bytes.length : ABSENT, 2 + c.length);
    parts.push(head);
    if (bytes) parts.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  }
  return Buffer.concat(parts);
}

/** Inverse of encodeChunkBatch; throws BAD_INPUT on a truncated or malformed body. */
export function decodeChunkBatch(body: Uint8Array): Map<string, Uint8Array | undefined> {
  const b = Buffer.from(body.buffer, body.byteOffset, body.length);
  const out = new Map<string, Uint8Array | undefined>();
  let pos = 0;
  const fail = (): never => {
    throw new ImageError("chunk batch response: truncated or malformed", { code: "UNAVAILABLE" });
  };
  while (pos < b.length) {
    if (pos + 2 > b.length) fail();
    const cl = b.readUInt16BE(pos);
    pos += 2;
    if (pos + cl + 4 > b.length) fail();
    const cid = b.subarray(pos, pos + cl).toString("ascii");
    pos += cl;
    const len = b.readUInt32BE(pos);
    pos += 4;
    if (len === ABSENT) {
      out.set(cid, undefined);
      continue;
    }
    if (pos + len > b.length) fail();
    out.set(cid, b.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}
