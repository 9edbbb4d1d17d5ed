/**
 * MX8: a bounded, fast, distributed data runtime for ML input pipelines.
 *
 * Turn a dataset link (a local folder, a `.tsv` manifest, or `s3://…`, with
 * `@refresh` / `@sha256:<hash>`) into batches under a hard memory cap.
 *
 * @example Decoded image batches under a memory cap
 * ```ts ignore
 * import { ImageFolderLoader } from "@mx8/runtime";
 *
 * await using loader = new ImageFolderLoader("/data/train@refresh", {
 *   batchSizeSamples: 64,
 *   resizeHw: [224, 224],
 *   maxInflightBytes: 256 * 2 ** 20,
 * });
 * for await (const { images, labels, sampleIds } of loader) {
 *   console.log(images.shape, labels[0], sampleIds[0]);
 * }
 * console.log(loader.stats().ramHighWaterBytes);
 * ```
 *
 * @module
 */
import "./lib/distributed/mod.ts";
export {
  LinkError,
  ManifestError,
  Mx8Error,
  PathError,
  S3Error,
  SnapshotNotFoundError,
  StoreError,
} from "./lib/errors.ts";
export { type DatasetLink, type LinkMode, parseLink } from "./lib/link.ts";
export {
  MANIFEST_SCHEMA_VERSION,
  type ManifestRow,
} from "./lib/manifest/row.ts";
export {
  manifestHash,
  parseManifest,
  serializeManifest,
} from "./lib/manifest/tsv.ts";
export { streamManifestRows } from "./lib/manifest/stream.ts";
export {
  assignLabelIds,
  parseLabels,
  serializeLabels,
} from "./lib/manifest/labels.ts";
export {
  resolveDataset,
  type ResolvedSnapshot,
  type ResolveOptions,
} from "./lib/snapshot/resolve.ts";
export {
  type LabelMode,
  pack,
  type PackOptions,
  type PackProgress,
  type PackResult,
} from "./lib/pack/pack.ts";
export type {
  CurrentSnapshot,
  ManifestStore,
} from "./lib/manifest_store/store.ts";
export { openManifestStore } from "./lib/manifest_store/open.ts";
export { VERSION } from "./lib/version.ts";
export { DataLoader, type RawBatch } from "./lib/loader/data_loader.ts";
export {
  DecodeError,
  type ImageBatch,
  ImageFolderLoader,
  type ImageFolderLoaderOptions,
  type ImageTensor,
} from "./lib/loader/image_folder.ts";
export type { LoaderOptions } from "./lib/loader/options.ts";
export type { LoaderStats } from "./lib/loader/stats.ts";
export { BatchTooLargeError } from "./lib/loader/byte_budget.ts";
export { RssLimitError } from "./lib/loader/rss_guard.ts";
export { CheckpointError } from "./lib/loader/checkpoint.ts";
export {
  BarrierTimeoutError,
  CoordinatorRefusedError,
  CoordinatorUnreachableError,
} from "./lib/distributed/errors.ts";
