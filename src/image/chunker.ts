/**
 * Content-defined chunking (FastCDC, Xia et al. 2016, with normalized chunking) so that a small edit
 * to a large file moves only the chunks around the edit. Written here: no maintained, CommonJS-
 * loadable FastCDC exists on npm.
 *
 * Sizes: min 16 KiB, average 64 KiB, max 256 KiB. 64 KiB (casync's default) keeps a 200 MB tree at
 * ~3,200 chunks, so the manifest stays ~300 KB, while an edit or a lazy fetch touches only a few
 * 64 KiB pieces (restic/borg's 1-2 MiB would make lazy start fetch far more than it needs).
 * Files no larger than the minimum are one chunk. These constants and the gear table are part of
 * the image format: changing them changes every root.
 */
import { createHash } from "node:crypto";

export const MIN_CHUNK = 16 * 1024;
export const AVG_CHUNK = 64 * 1024;
export const MAX_CHUNK = 256 * 1024;

// Normalized chunking: a harder mask (18 bits) before the average size, an easier one (14 bits)
// after it. The 32-bit rolling gear hash shifts left each byte, so its top bits depend on the most
// bytes (a 32-byte window): the masks take the top bits.
const MASK_S = 0xffffc000 | 0; // top 18 bits
const MASK_L = 0xfffc0000 | 0; // top 14 bits

/** Gear table: 256 pseudo-random 32-bit words, word i = first 4 bytes (BE) of sha256("hypha-fastcdc-gear-" + i). */
export const GEAR: Int32Array = (() => {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) t[i] = createHash("sha256").update(`hypha-fastcdc-gear-${i}`).digest().readInt32BE(0);
  return t;
})();

/**
 * Length of the next chunk of `buf[start, end)`. `end - start` should be at least MAX_CHUNK unless it is
 * the end of the input.
 * @example cutPoint(bytes, 0, bytes.length) // e.g. 70213
 */
export function cutPoint(buf: Uint8Array, start: number, end: number): number {
  let n = end - start;
  if (n <= MIN_CHUNK) return n;
  if (n > MAX_CHUNK) n = MAX_CHUNK;
  const normal = n < AVG_CHUNK ? n : AVG_CHUNK;
  let h = 0;
  let i = start + MIN_CHUNK;
  const normalEnd = start + normal;
  const hardEnd = start + n;
  for (; i < normalEnd; i++) {
    h = ((h << 1) + GEAR[buf[i]]) | 0;
    if ((h & MASK_S) === 0) return i + 1 - start;
  }
  for (; i < hardEnd; i++) {
    h = ((h << 1) + GEAR[buf[i]]) | 0;
    if ((h & MASK_L) === 0) return i + 1 - start;
  }
  return n;
}

/**
 * Split a whole buffer into content-defined chunks (views into `bytes`, no copy).
 * An empty input gives no chunks.
 * @example chunkFile(fs.readFileSync("/bin/busybox")).map((c) => c.length)
 */
export function chunkFile(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const len = cutPoint(bytes, pos, bytes.length);
    out.push(bytes.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}

/**
 * Streaming chunker: the same boundaries as chunkFile over the concatenated input, with memory
 * bounded by MAX_CHUNK plus one input block.
 * @example for await (const chunk of chunkStream(fs.createReadStream(p))) store.put(chunk)
 */
export async function* chunkStream(source: AsyncIterable<Uint8Array | string>): AsyncGenerator<Uint8Array> {
  let buf: Buffer = Buffer.alloc(0);
  for await (const piece of source) {
    const block = typeof piece === "string" ? Buffer.from(piece) : piece;
    buf = buf.length === 0 ? Buffer.from(block) : Buffer.concat([buf, block]);
    let pos = 0;
    while (buf.length - pos >= MAX_CHUNK) {
      const len = cutPoint(buf, pos, buf.length);
      yield Buffer.from(buf.subarray(pos, pos + len));
      pos += len;
    }
    buf = buf.subarray(pos);
  }
  let pos = 0;
  while (pos < buf.length) {
    const len = cutPoint(buf, pos, buf.length);
    yield Buffer.from(buf.subarray(pos, pos + len));
    pos += len;
  }
}
