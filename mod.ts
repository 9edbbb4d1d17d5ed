/**
 * MX8: a bounded, fast, distributed data runtime for ML input pipelines.
 *
 * Turn a dataset link (a local folder, a `.tsv` manifest, or `s3://…`, with
 * `@refresh` / `@sha256:<hash>`) into batches under a hard memory cap.
 *
 * @example The front door: a folder of images as decoded batches under a memory cap
 * ```ts
 * import { loader, openManifestStore } from "jsr:@mx8/runtime";
 * import sharp from "sharp";
 * import assert from "node:assert/strict";
 *
 * // A tiny ImageFolder dataset: <class>/<file>.jpg
 * const dir = await Deno.makeTempDir();
 * for (const [cls, color] of [["cat", "#c84"], ["dog", "#48c"]]) {
 *   await Deno.mkdir(`${dir}/train/${cls}`, { recursive: true });
 *   for (let i = 0; i < 3; i++) {
 *     const jpeg = await sharp({
 *       create: { width: 64, height: 48, channels: 3, background: color },
 *     }).jpeg().toBuffer();
 *     await Deno.writeFile(`${dir}/train/${cls}/${i}.jpg`, jpeg);
 *   }
 * }
 *
 * await using images = loader(`${dir}/train@refresh`, {
 *   batchSizeSamples: 4,
 *   resizeHw: [32, 32],
 *   maxInflightBytes: 16 * 2 ** 20,
 *   manifestStore: openManifestStore(`${dir}/store`),
 *   log: () => {},
 * });
 * const labels: bigint[] = [];
 * for await (const batch of images) {
 *   assert.deepEqual(batch.images.shape.slice(1), [3, 32, 32]);
 *   labels.push(...batch.labels);
 * }
 * assert.deepEqual(labels, [0n, 0n, 0n, 1n, 1n, 1n]);
 * assert.deepEqual(images.classes, ["cat", "dog"]);
 * assert.ok(images.stats().ramHighWaterBytes > 0);
 * ```
 *
 * @module
 */
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
  type AnyLoaderOptions,
  type ImageLoaderOptions,
  loader,
  type RawLoaderOptions,
  type VideoLoaderOptions,
} from "./lib/loader/loader.ts";
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
  type BatchOf,
  mix,
  type MixedBatch,
  MixLoader,
  type MixSource,
  type MixSources,
} from "./lib/mix/mix.ts";
export type {
  MixOptions,
  MixSchedulePoint,
  MixWeights,
} from "./lib/mix/options.ts";
export type { MixSourceStats, MixStats } from "./lib/mix/stats.ts";
export {
  MixCapTooSmallError,
  MixChangedError,
  MixSourceExhaustedError,
} from "./lib/mix/errors.ts";
export {
  BarrierTimeoutError,
  CoordinatorRefusedError,
  CoordinatorUnreachableError,
} from "./lib/distributed/errors.ts";
export {
  type ClipBatch,
  ClipPlan,
  type ClipPlanOptions,
  decodeClip,
  type PlannedClip,
  probeVideo,
  video,
  videoAvailable,
  VideoDecodeError,
  type VideoIndex,
  VideoLoader,
  type VideoLoaderStats,
  type VideoOptions,
  VideoUnavailableError,
} from "./lib/video/mod.ts";
