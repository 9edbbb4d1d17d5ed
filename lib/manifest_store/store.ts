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
  /** Atomically replaces `intent/<key>/current`. */
  setCurrent(key: string, hash: string): Promise<void>;
  /**
   * Tries to take `locks/<key>.lock` (create-exclusive; a lock older than
   * `staleMs` is taken over). Returns a release function, or `null` when
   * another live indexer holds it.
   */
  tryLock(key: string, staleMs: number): Promise<(() => Promise<void>) | null>;
}

/** Locks older than this are stale and may be taken over (spec: 60 s). */
export const LOCK_STALE_MS = 60_000;
