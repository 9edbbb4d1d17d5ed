/**
 * Where pack writes: a local directory or an S3 prefix. Shards first, then
 * `_mx8/labels.tsv` and `_mx8/manifest.tsv` last, so a manifest only ever
 * points at shards that are complete.
 *
 * @module
 */

/** Writes one shard, front to back. */
export interface ShardWriter {
  /** Appends bytes (copied or fully written before this resolves). */
  write(bytes: Uint8Array): Promise<void>;
  /** Finishes the shard; it is complete once this resolves. */
  close(): Promise<void>;
  /** Drops the shard after a failure (best effort, never throws). */
  abort(): Promise<void>;
}

/** The output side of a pack. */
export interface PackDestination {
  /** The root as shown in messages: an absolute path or `s3://bucket/prefix`. */
  readonly root: string;
  /** Where the manifest goes: `<root>/_mx8/manifest.tsv`. */
  readonly manifestPath: string;
  /**
   * Returns whether `_mx8/manifest.tsv` exists; fails early when the
   * destination cannot be reached (missing bucket, no access).
   */
  hasManifest(): Promise<boolean>;
  /** Deletes `_mx8/manifest.tsv` and `_mx8/labels.tsv` if present. */
  removeMetadata(): Promise<void>;
  /** Opens shard `k`, whose final size is `size` bytes. */
  openShard(k: number, size: number): Promise<ShardWriter>;
  /** Writes `_mx8/<name>` atomically (whole or not at all). */
  writeMetadata(name: string, bytes: Uint8Array): Promise<void>;
  /** Deletes `shards/shard-NNNNN.tar` files with index ≥ `k` (a previous, bigger pack's). */
  removeShardsFrom(k: number): Promise<void>;
}

/** `shards/shard-NNNNN.tar` file names, with the index captured. */
export const SHARD_FILE_RE = /^shard-(\d{5,})\.tar$/;
