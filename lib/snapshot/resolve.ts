/**
 * Resolving a dataset link to a pinned snapshot (spec §2.1): plain links use
 * the base's current snapshot (indexing once if there is none) while the
 * base still holds what it was indexed from, `@refresh` re-indexes under the
 * base's lock, `@sha256:` reads exactly that manifest. Labels are pinned
 * with their manifest.
 *
 * @module
 */
import { resolve as resolvePath } from "node:path";
import {
  Mx8Error,
  PathError,
  SnapshotNotFoundError,
  StoreError,
} from "../errors.ts";
import { type DatasetLink, normalizeBase, parseLink } from "../link.ts";
import { sha256HexAsync } from "../util/sha256.ts";
import { isS3Url } from "../s3/url.ts";
import { intentKey } from "../manifest_store/keys.ts";
import { openManifestStore } from "../manifest_store/open.ts";
import {
  type CurrentSnapshot,
  LOCK_STALE_MS,
  type ManifestStore,
} from "../manifest_store/store.ts";
import { indexContent } from "./index_base.ts";
import { type BaseContent, manifestIdentity, readBase } from "./read_base.ts";
import { canonicalManifest } from "../manifest/canonical.ts";

/** Options for {@linkcode resolveDataset}. */
export interface ResolveOptions {
  /** Manifest store (default: `MX8_MANIFEST_STORE` or `~/.mx8/manifests`). */
  store?: ManifestStore;
  /** Called once when another indexer holds the base's lock and we wait. */
  onWaitForLock?: (lockKey: string) => void;
  /** How often to retry a held lock, in ms (default 200). */
  lockPollMs?: number;
}

/** A link resolved to a pinned manifest. */
export interface ResolvedSnapshot {
  /** The parsed link. */
  link: DatasetLink;
  /** Canonical base: absolute local path or `s3://…`, no trailing `/`. */
  base: string;
  /** The pinned manifest hash. */
  manifestHash: string;
  /** Canonical manifest bytes (header included). */
  manifestBytes: Uint8Array;
  /** Number of samples. */
  samples: number;
  /** True when this call indexed the base (false: reused a snapshot). */
  indexed: boolean;
  /**
   * The labels file recorded with this manifest; `null` when the dataset
   * has none; `undefined` when none was recorded (a `@sha256:` snapshot
   * indexed by an mx8 that did not pin labels, or one without labels).
   */
  labels?: Uint8Array | null;
  /** Where the labels were read (for messages). */
  labelsFile: string;
  /**
   * Identity of the base's manifest file that was checked to hold this
   * snapshot (see `manifestIdentity` in `read_base.ts`); undefined when
   * none was (a listing, or a pinned manifest without byte ranges). While
   * the base's manifest file still has it, the dataset was not repacked.
   */
  manifestIdentity?: string;
}

/**
 * Returns the canonical form of a base: local paths made absolute, trailing
 * `/` removed.
 *
 * @param base Dataset base.
 * @returns The canonical base.
 */
export function canonicalBase(base: string): string {
  return normalizeBase(isS3Url(base) ? base : resolvePath(base));
}

function countSamples(bytes: Uint8Array): number {
  let lines = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10) lines++;
  return lines - 1;
}

async function loadVerified(
  store: ManifestStore,
  hash: string,
): Promise<Uint8Array | null> {
  const bytes = await store.getManifest(hash);
  if (bytes !== null && (await sha256HexAsync(bytes)) !== hash) {
    throw new StoreError(
      `Manifest store ${store.root} is corrupt: by-hash/${hash} does not hash to its name ` +
        `(delete it and resolve the dataset with @refresh)`,
    );
  }
  return bytes;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves a dataset link to a pinned snapshot, indexing when needed.
 *
 * @example Pin a folder, then read the pinned snapshot back by hash
 * ```ts
 * import { openManifestStore, resolveDataset } from "jsr:@mx8/runtime";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/data`);
 * await Deno.writeTextFile(`${dir}/data/x.txt`, "x");
 * const store = openManifestStore(`${dir}/store`);
 * const snap = await resolveDataset(`${dir}/data@refresh`, { store });
 * assert.equal(snap.samples, 1);
 * const again = await resolveDataset(`${dir}/data@sha256:${snap.manifestHash}`, { store });
 * assert.equal(again.manifestHash, snap.manifestHash);
 * ```
 *
 * @param link Dataset link text.
 * @param options Store and lock-wait options.
 * @returns The resolved snapshot.
 * @throws {SnapshotNotFoundError} When a pinned hash is not in the store.
 */
export async function resolveDataset(
  link: string,
  options: ResolveOptions = {},
): Promise<ResolvedSnapshot> {
  const parsed = parseLink(link);
  const store = options.store ?? openManifestStore();
  const base = canonicalBase(parsed.base);
  const done = (
    hash: string,
    bytes: Uint8Array,
    indexed: boolean,
    labels: Uint8Array | null | undefined,
    labelsFile: string,
    manifestIdentity?: string,
  ): ResolvedSnapshot => ({
    link: parsed,
    base,
    manifestHash: hash,
    manifestBytes: bytes,
    samples: countSamples(bytes),
    indexed,
    labels,
    labelsFile,
    manifestIdentity: manifestIdentity || undefined,
  });
  /** The current snapshot, when `content` is what it was indexed from. */
  const reuse = async (
    current: CurrentSnapshot | null,
    content: BaseContent,
  ): Promise<ResolvedSnapshot | null> => {
    if (current === null || current.source !== content.validator) return null;
    const bytes = content.manifestSha === current.hash
      ? content.manifest // canonical as written: no store read needed
      : await loadVerified(store, current.hash);
    if (bytes === null) return null;
    return done(
      current.hash,
      bytes,
      false,
      content.labels,
      content.labelsFile,
      content.packed ? content.identity : undefined,
    );
  };

  if (parsed.mode === "pinned") {
    const hash = parsed.manifestHash!;
    const bytes = await loadVerified(store, hash);
    if (bytes === null) throw new SnapshotNotFoundError(hash, store.root);
    const identity = await checkPinnedBase(base, hash, bytes, store);
    return done(
      hash,
      bytes,
      false,
      (await store.getLabels(hash)) ?? undefined,
      `labels of manifest sha256:${hash} in ${store.root}`,
      identity,
    );
  }

  const key = intentKey(base);
  if (parsed.mode === "plain") {
    // Reused only while the base holds what it was indexed from: a repacked
    // or half-rewritten dataset is re-indexed, never read through an old
    // manifest (records without a validator are re-indexed once).
    const current = await store.getCurrent(key);
    if (current?.source !== undefined) {
      const reused = await reuse(current, await readBase(base));
      if (reused) return reused;
    }
  }

  // Index under the base's lock; one indexer at a time, others wait.
  const requestedAt = Date.now();
  let waited = false;
  let release: (() => Promise<void>) | null;
  while ((release = await store.tryLock(key, LOCK_STALE_MS)) === null) {
    if (!waited) options.onWaitForLock?.(key);
    waited = true;
    await sleep(options.lockPollMs ?? 200);
  }
  try {
    const current = await store.getCurrent(key);
    const content = await readBase(base);
    // Someone indexed this very content while we waited (or, for a plain
    // link, at any time): reuse it. S3 timestamps have 1 s resolution,
    // hence the rounding.
    const fresh = current !== null &&
      (parsed.mode === "plain" ||
        (waited &&
          current.updatedAtMs >= Math.floor(requestedAt / 1000) * 1000));
    if (fresh) {
      const reused = await reuse(current, content);
      if (reused) return reused;
    }
    const bytes = await indexContent(base, content);
    // Fault injection for tests and runbooks: hold the lock a while.
    const hold = Number(Deno.env.get("MX8_INDEX_HOLD_MS") ?? 0);
    if (hold > 0) await sleep(hold);
    const hash = await sha256HexAsync(bytes); // = manifestHash(bytes), faster
    await store.putManifest(hash, bytes);
    if (content.labels !== null) {
      const recorded = await store.putLabels(hash, content.labels);
      if (recorded !== null) {
        throw labelsChangedError(content.labelsFile, hash, store.root, base);
      }
    }
    await store.setCurrent(key, hash, content.validator, content.identity);
    return done(
      hash,
      bytes,
      true,
      content.labels,
      content.labelsFile,
      content.packed ? content.identity : undefined,
    );
  } finally {
    await release();
  }
}

/**
 * The error of a base whose labels name other classes than the labels
 * recorded with the same manifest: a run pinned to `@sha256:H` must keep
 * its class names, so H cannot take the new ones.
 */
function labelsChangedError(
  labelsFile: string,
  hash: string,
  storeRoot: string,
  base: string,
): Mx8Error {
  return new Mx8Error(
    `${labelsFile} names other classes than the labels recorded with manifest ` +
      `sha256:${hash} in ${storeRoot} (class folders were renamed but the rows are the same, ` +
      `so the manifest hash is too): runs pinned to ${base}@sha256:${hash} keep the old names. ` +
      `Pack to a new --out to use the new names (or delete labels/${hash} in the manifest ` +
      `store to give every run pinned to that hash the new names)`,
  );
}

/**
 * Whether any row of a canonical manifest has a byte range (a packed
 * dataset's rows; a mixed manifest counts too).
 */
function hasByteRanges(canonical: Uint8Array): boolean {
  const TAB = 9, NL = 10;
  // Rows: sample_id, location, byte_offset, byte_length, label_id; a range
  // has a non-empty third column.
  let at = canonical.indexOf(NL) + 1; // after the header
  while (at > 0 && at < canonical.length) {
    const tab1 = canonical.indexOf(TAB, at);
    const end = canonical.indexOf(NL, at);
    const rowEnd = end < 0 ? canonical.length : end;
    if (tab1 >= 0 && tab1 < rowEnd) {
      const tab2 = canonical.indexOf(TAB, tab1 + 1);
      if (tab2 >= 0 && tab2 + 1 < rowEnd && canonical[tab2 + 1] !== TAB) {
        return true;
      }
    }
    at = end + 1;
  }
  return false;
}

/**
 * A pinned snapshot whose rows are byte ranges (shards of a packed
 * dataset) is only read from a base that still holds that manifest: after
 * `mx8 pack --overwrite` the same shard names hold other bytes.
 */
async function checkPinnedBase(
  base: string,
  hash: string,
  bytes: Uint8Array,
  store: ManifestStore,
): Promise<string | undefined> {
  if (!hasByteRanges(bytes)) return undefined;
  // Fast path: the base's manifest file is the very one indexed as `hash`
  // (one stat or HEAD, no read and no hash of the whole manifest).
  const current = await store.getCurrent(intentKey(base));
  if (current?.hash === hash && current.identity) {
    const now = await manifestIdentity(base).catch((err) => {
      if (err instanceof PathError) return null;
      throw err;
    });
    if (now === current.identity) return now;
  }
  let content: BaseContent;
  try {
    content = await readBase(base);
  } catch (err) {
    // A base that is not there at all fails when its samples are read.
    if (err instanceof PathError) return undefined;
    throw err;
  }
  if (content.kind === "manifest" && !content.packed) return undefined;
  if (content.kind === "manifest") {
    if (content.manifestSha === hash) return content.identity;
    const canonical = await canonicalManifest(
      content.manifest,
      content.manifestFile,
    ).catch(() => null);
    if (canonical && (await sha256HexAsync(canonical)) === hash) {
      return content.identity;
    }
  }
  const now = content.kind === "manifest"
    ? `holds manifest sha256:${await sha256HexAsync(
      await canonicalManifest(content.manifest, content.manifestFile)
        .catch(() => content.manifest),
    )} (it was repacked)`
    : "has no manifest (a pack is rewriting it, was interrupted, or it was removed)";
  throw new Mx8Error(
    `${base} ${now}, so its shards no longer hold the samples of the pinned manifest ` +
      `sha256:${hash}: use ${base} or ${base}@refresh for what it holds now`,
  );
}
