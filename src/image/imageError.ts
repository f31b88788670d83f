/**
 * ImageError: every failure of the zero-image part (bad input, bad manifest, tampered chunk, missing
 * content, unreachable mirror) as one typed error with a machine-readable `code` and, where one is
 * to blame, the offending `cid` or `path`.
 */
import { HyphaError, type HyphaErrorOptions } from "../errors";

/** What went wrong; the agent maps TAMPERED to a `Tampered` attestation. */
export type ImageErrorCode =
  | "TAMPERED" // bytes whose hash differs from their CID (chunk, manifest or blob)
  | "NOT_FOUND" // no mirror (or store) has the content / name
  | "UNAVAILABLE" // every mirror failed with a network or server error
  | "BAD_INPUT" // a caller-supplied argument is malformed (CID, name, path, option)
  | "BAD_PATH" // an archive or tree entry has an unsafe path (../, absolute, escaping link)
  | "BAD_ARCHIVE" // corrupt or unsupported tar / OCI / docker archive
  | "BAD_MANIFEST" // manifest fails validation (or is oversize)
  | "TOO_LARGE" // a size limit was exceeded
  | "CONFLICT" // target exists, etc.
  | "UNAUTHORIZED" // the store wants its token for this (changing a catalog name)
  | "STORE_FULL" // the store is at its size limit (or its disk at its free-space reserve)
  | "BUSY"; // the store has as many uploads in flight and waiting as it takes; try again

export interface ImageErrorOptions extends HyphaErrorOptions {
  code: ImageErrorCode;
  cid?: string;
  path?: string;
}

/**
 * @example
 * throw new ImageError(`chunk ${cid} is tampered: sha256 mismatch`, { code: "TAMPERED", cid });
 */
export class ImageError extends HyphaError {
  override name = "ImageError";
  readonly code: ImageErrorCode;
  readonly cid?: string;
  readonly path?: string;

  constructor(shortMessage: string, options: ImageErrorOptions) {
    super(shortMessage, options);
    this.code = options.code;
    this.cid = options.cid;
    this.path = options.path;
  }
}
