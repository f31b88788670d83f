/**
 * How the agent gets a verified image root filesystem for a replica, and re-verifies it later.
 * The default implementation (zeroImageProvider.ts) uses src/image: materialize by the on-chain
 * imageRoot from the store mirrors (every chunk verified) and verifyTree for drift.
 */
import type { Hex } from "viem";
import type { ImageDefaults } from "./launchPlan";

/** A materialized image for one replica run. */
export interface MaterializedImage {
  /** Host directory holding the image's root filesystem. */
  dir: string;
  bytesFetched: number;
  bytesTotal: number;
  /** The image's default process settings, if its manifest carries any. */
  defaults: ImageDefaults;
  /** Paths whose content, type or mode differ from the manifest now ([] = intact). */
  verify(): Promise<string[]>;
  /** Remove the materialized tree. */
  remove(): Promise<void>;
}

/** Materializes images. Errors: ImageError with code TAMPERED (mismatch) or NOT_FOUND/UNAVAILABLE (retry). */
export interface ImageProvider {
  materialize(imageRoot: Hex, targetDir: string): Promise<MaterializedImage>;
}
