/**
 * MX8: a bounded, fast, distributed data runtime for ML input pipelines.
 *
 * Turn a dataset link (a local folder, a `.tsv` manifest, or `s3://…`, with
 * `@refresh` / `@sha256:<hash>`) into a pinned snapshot, and read its
 * manifest.
 *
 * @example Resolve a dataset link to a pinned manifest hash
 * ```ts ignore
 * import { resolveDataset } from "@mx8/runtime";
 *
 * const snap = await resolveDataset("/data/train@refresh");
 * console.log(snap.manifestHash, snap.samples);
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
export type { CurrentSnapshot, ManifestStore } from "./lib/store/store.ts";
export { openManifestStore } from "./lib/store/open.ts";
export { VERSION } from "./lib/version.ts";
