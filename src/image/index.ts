/**
 * Zero-image: content-addressed, metadata-only images. Import a tree into a chunk store, serve it
 * over HTTP, resolve names through a catalog, materialize it on a node with every chunk verified,
 * and re-verify the tree while it runs. Imports nothing of ours except src/errors.ts and src/http/.
 */
export { ImageError, type ImageErrorCode } from "./imageError";
export { CID, cidForBytes, parseCid, rootToBytes32, bytes32ToRoot, sha256, RAW_CODEC, JSON_CODEC } from "./cid";
export { chunkFile, chunkStream, MIN_CHUNK, AVG_CHUNK, MAX_CHUNK } from "./chunker";
export {
  type Entry,
  type EntryType,
  type ImageManifest,
  encodeManifest,
  decodeManifest,
  manifestRoot,
  manifestSize,
  validateManifest,
  DEFAULT_MAX_MANIFEST_BYTES,
} from "./manifest";
export { ChunkStore, type StagedChunks } from "./chunkStore";
export { Catalog, normalizeImageName, ZERO_IMAGE_SCHEME } from "./catalog";
export { startStoreServer, type StoreServer, type StoreServerOptions } from "./storeServer";
export { StoreClient } from "./storeClient";
export { collectGarbage, planGc, reachableObjects, type GcPlan, type GcReport, type StoredObject } from "./storeGc";
export { importImage, type ImportOptions, type ImportResult, type ImportStats } from "./importImage";
export { materializeImage, type MaterializeOptions, type MaterializeResult, type MaterializeProgress, type MaterializeSummary } from "./materialize";
export { prefetchOrder } from "./prefetchOrder";
export { verifyTree, compareEntry, type Drift, type DriftKind } from "./verifyTree";
export { imageImport, imageList, imageInspect, imagePush, resolveImageRef, type ImageSummary, type ImageInspection } from "./commands";
export { parseElfDeps, libraryPaths, type ElfDeps } from "./elfDeps";
