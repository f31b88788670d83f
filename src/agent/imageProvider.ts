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
  /** Resolves when the whole image is present and verified (at once unless materialized lazily). */
  complete: Promise<void>;
  /** The image's default process settings, if its manifest carries any. */
  defaults: ImageDefaults;
  /** Paths whose content, type or mode differ from the manifest now ([] = intact). */
  verify(): Promise<string[]>;
  /** Remove the materialized tree. */
  remove(): Promise<void>;
  /** Why the background fetch of a lazily materialized image failed, once `complete` has resolved (undefined: it did not). */
  fetchError?(): Error | undefined;
}

/**
 * How much of the image must be present before the workload starts. `lazy`: the listed paths
 * (the entrypoint; the image part adds an ELF entrypoint's interpreter and libraries) are fetched
 * and verified first and the rest follows in the background; `full`: everything first.
 */
export interface MaterializeOptions {
  priority?: string[];
  lazy?: boolean;
}

/** Materializes images. Errors: ImageError with code TAMPERED (mismatch) or NOT_FOUND/UNAVAILABLE (retry). */
export interface ImageProvider {
  materialize(imageRoot: Hex, targetDir: string, opts?: MaterializeOptions): Promise<MaterializedImage>;
  /** Remove every tree no run uses (under disk pressure). Returns how many. */
  evictIdle?(): Promise<number>;
}
