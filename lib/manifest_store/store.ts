/**
 * The manifest store interface (spec §2.4): immutable manifests by hash,
 * the current snapshot per dataset base, and indexer locks.
 *
 * @module
 */

/** A base's current snapshot as recorded in the store. */
export interface CurrentSnapshot {
  /** The manifest hash. */
  hash: string;
  /** When it was recorded (ms since epoch, store clock). */
  updatedAtMs: number;
  /**
   * What the base held when it was indexed (`readBase`'s validator); absent
   * in records written before validators existed (a plain link re-indexes).
   */
  source?: string;
  /**
   * Identity of the base's manifest file when it was indexed (local
   * `dev:ino:size:mtime:ctime`, S3 `etag …`): while a stat or HEAD still
   * gives it, the file holds the same bytes, so a pinned link need not
   * read and hash it. Absent in older records.
   */
  identity?: string;
}

/**
 * The text of an `intent/<key>/current` record: the hash on the first line,
 * then `source=<validator>` and `identity=<manifest file identity>`.
 *
 * @param hash Manifest hash.
 * @param source Validator of the base's content, if known.
 * @param identity Identity of the base's manifest file, if any.
 * @returns The record text.
 */
export function formatCurrent(
  hash: string,
  source?: string,
  identity?: string,
): string {
  return `${hash}\n` + (source === undefined ? "" : `source=${source}\n`) +
    (identity === undefined ? "" : `identity=${identity}\n`);
}

/**
 * Parses an `intent/<key>/current` record (see {@linkcode formatCurrent}).
 *
 * @param text The record text.
 * @param updatedAtMs When it was written.
 * @returns The snapshot.
 */
export function parseCurrent(
  text: string,
  updatedAtMs: number,
): CurrentSnapshot {
  const [hash, ...rest] = text.split("\n");
  const source = rest.find((l) => l.startsWith("source="))?.slice(7);
  const identity = rest.find((l) => l.startsWith("identity="))?.slice(9);
  return { hash: hash.trim(), updatedAtMs, source, identity };
}

/** Storage of manifests and snapshot pointers; filesystem or S3. */
export interface ManifestStore {
  /** Where the store lives (a directory or `s3://bucket/prefix`). */
  readonly root: string;
  /** Reads `by-hash/<hash>`, or `null` when absent. */
  getManifest(hash: string): Promise<Uint8Array | null>;
  /**
   * Writes `by-hash/<hash>` create-exclusive. Writing the same bytes again is
   * fine; different bytes under an existing hash throw a StoreError.
   */
  putManifest(hash: string, bytes: Uint8Array): Promise<void>;
  /** Reads `intent/<key>/current`, or `null`. */
  getCurrent(key: string): Promise<CurrentSnapshot | null>;
  /**
   * Atomically replaces `intent/<key>/current` with `hash`, the validator
   * of the content it was indexed from and its manifest file's identity.
   */
  setCurrent(
    key: string,
    hash: string,
    source?: string,
    identity?: string,
  ): Promise<void>;
  /**
   * Reads `labels/<hash>`: the labels file recorded with manifest `hash`,
   * or `null` when none was.
   */
  getLabels(hash: string): Promise<Uint8Array | null>;
  /**
   * Records the labels file read together with manifest `hash`, once:
   * `labels/<hash>` is write-once (create-exclusive), so what a pinned
   * `@sha256:<hash>` means never changes. Returns `null` when recorded
   * (or already recorded with the same bytes), else the different bytes
   * already recorded (nothing is written).
   */
  putLabels(hash: string, bytes: Uint8Array): Promise<Uint8Array | null>;
  /**
   * Reads `video_index/<hash>`: the per-video index (duration, frame rate,
   * keyframes, …) recorded for manifest `hash` by a video loader, or `null`.
   */
  getVideoIndex(hash: string): Promise<Uint8Array | null>;
  /** Records the per-video index of manifest `hash` (atomic replace). */
  putVideoIndex(hash: string, bytes: Uint8Array): Promise<void>;
  /**
   * Tries to take `locks/<key>.lock` (create-exclusive; a lock older than
   * `staleMs` is taken over). Returns a release function, or `null` when
   * another live indexer holds it.
   */
  tryLock(key: string, staleMs: number): Promise<(() => Promise<void>) | null>;
}

/** Locks older than this are stale and may be taken over (spec: 60 s). */
export const LOCK_STALE_MS = 60_000;
