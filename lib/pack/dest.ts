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
  /**
   * Appends a whole tar entry at once: the 512-byte `header`, the local
   * file `rel` (`/`-separated) under directory `dir`, which must be `size`
   * bytes, then `pad` zero bytes. Present when the destination's
   * `appendsFiles` is true.
   */
  appendEntrySync?(
    header: Uint8Array,
    dir: string,
    rel: string,
    size: number,
    pad: number,
  ): void;
}

import type { PackLock } from "./lock.ts";

/** The output side of a pack. */
export interface PackDestination {
  /** The root as shown in messages: an absolute path or `s3://bucket/prefix`. */
  readonly root: string;
  /** Where the manifest goes: `<root>/_mx8/manifest.tsv`. */
  readonly manifestPath: string;
  /**
   * True when its shard writers can append local files themselves
   * (`ShardWriter.appendEntrySync`: the kernel copies, nothing is read into
   * JavaScript).
   */
  readonly appendsFiles: boolean;
  /**
   * Takes the destination lock `_mx8/.pack.lock` (see `lock.ts`); throws
   * naming the holder when another pack has it.
   */
  lock(): Promise<PackLock>;
  /**
   * Returns whether `_mx8/manifest.tsv` exists; fails early when the
   * destination cannot be reached (missing bucket, no access).
   */
  hasManifest(): Promise<boolean>;
  /**
   * True when shards are written under staging names private to this pack
   * (`shards/shard-NNNNN.tar.<token>.partial`) and only renamed into place
   * by {@linkcode commitShards}: until then the committed dataset is
   * untouched. False (S3): shards are written under their final names, so
   * the old manifest must be removed before the first one.
   */
  readonly stagesShards: boolean;
  /** Deletes `_mx8/manifest.tsv` and `_mx8/labels.tsv` if present. */
  removeMetadata(): Promise<void>;
  /** Opens shard `k`, whose final size is `size` bytes. */
  openShard(k: number, size: number): Promise<ShardWriter>;
  /**
   * Moves this pack's staged shards `0..count-1` to their final names,
   * calling `guard` (the lock check) before each move, and deletes staging
   * files other packs left behind (no-op unless `stagesShards`).
   */
  commitShards(count: number, guard: () => Promise<void>): Promise<void>;
  /** Deletes this pack's staged shards after a failure (best effort, never throws). */
  discardStaged(): Promise<void>;
  /** Writes `_mx8/<name>` atomically (whole or not at all). */
  writeMetadata(
    name: string,
    bytes: Uint8Array | Iterable<Uint8Array>,
  ): Promise<void>;
  // (An iterable's chunks may be views of one reused buffer: each is
  // consumed before the next is asked for.)
  /** Deletes `shards/shard-NNNNN.tar` files with index ≥ `k` (a previous, bigger pack's). */
  removeShardsFrom(k: number): Promise<void>;
}

/** `shards/shard-NNNNN.tar` file names, with the index captured. */
export const SHARD_FILE_RE = /^shard-(\d{5,})\.tar$/;
/** Staging names of shards being written: `shard-NNNNN.tar.<token>.partial`. */
export const STAGED_SHARD_RE = /^shard-(\d{5,})\.tar\.([0-9a-f-]+)\.partial$/;
