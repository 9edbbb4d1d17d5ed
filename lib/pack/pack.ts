/**
 * `pack`: many small files (a local directory or an S3 prefix) into tar
 * shards plus a byte-range manifest (spec §3).
 *
 * @module
 */
import { resolve } from "node:path";
import { Mx8Error } from "../errors.ts";
import { serializeLabels } from "../manifest/labels.ts";
import { Sha256 } from "../util/sha256.ts";
import { isS3Url } from "../s3/url.ts";
import type { PackDestination } from "./dest.ts";
import type { PackLock } from "./lock.ts";
import { localDestination } from "./dest_local.ts";
import { LABEL_MODES, type LabelMode, planLabels } from "./label_mode.ts";
import { canonicalRoot, checkOverlap } from "./overlap.ts";
import { manifestChunks } from "./manifest_bytes.ts";
import { indexPackedVideos } from "./video_index.ts";
import { planShards } from "./plan.ts";
import type { PackSource } from "./source.ts";
import { LOCAL_READ_CONCURRENCY, localSource } from "./source_local.ts";
import { writeShards } from "./write_shards.ts";
import { openNativeLibrary } from "../native/library.ts";
import { lazyUrl } from "../util/lazy.ts";

export type { LabelMode };

/** 1 MiB. */
const MIB = 1024 * 1024;
/** File bytes read but not yet written, at most. */
export const PACK_INFLIGHT_BYTES = 64 * MIB;
/**
 * The same for blocking local reads, which never read ahead of the writer:
 * two pieces are enough.
 */
export const PACK_INFLIGHT_BYTES_BLOCKING = 16 * MIB;
/** Files bigger than this are read in pieces of this size. */
export const PACK_PIECE_BYTES = 8 * MIB;

/** Smallest shard limit: one tar entry (header + a data block) and the end blocks, 2 KiB. */
export const SHARD_MB_MIN = 2048 / MIB;
/** Largest shard limit: 5 TiB (S3's largest object). */
export const SHARD_MB_MAX = 5 * MIB;

/**
 * Checks a shard size limit and returns it in bytes.
 *
 * @param shardMb The limit in MiB (fractions allowed).
 * @param name How to name it in the error (`shardMb`, `--shard-mb`).
 * @returns The limit in bytes.
 * @throws {RangeError} Unless it is a number in 2 KiB..5 TiB; the message
 *   names the value and the range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shardBytesOf } from "./pack.ts";
 *
 * assert.equal(shardBytesOf(512), 512 * 2 ** 20);
 * assert.throws(() => shardBytesOf(1e-9), /shardMb must be a number of MiB in 0.001953125/);
 * ```
 */
export function shardBytesOf(shardMb: number, name = "shardMb"): number {
  if (
    typeof shardMb !== "number" || !(shardMb >= SHARD_MB_MIN) ||
    !(shardMb <= SHARD_MB_MAX)
  ) {
    throw new RangeError(
      `${name} must be a number of MiB in ${SHARD_MB_MIN}..${SHARD_MB_MAX} (2 KiB..5 TiB), got ${shardMb}`,
    );
  }
  return Math.floor(shardMb * MIB);
}

/** Options for {@linkcode pack}. */
export interface PackOptions {
  /** Destination: a local directory or `s3://bucket/prefix`. */
  out: string;
  /** Shard size limit in MiB (fractions allowed; default 512). */
  shardMb?: number;
  /** How samples are labelled (default `auto`). */
  labelMode?: LabelMode;
  /**
   * Reads in flight (default 8 for an S3 source, 1 for a local one). At 1,
   * local files go to a local destination by kernel copy (see `native`)
   * or are read with blocking calls, the least overhead on a page cache or
   * local SSD; above 1 they are read in parallel on Deno's I/O threads
   * (network file systems).
   */
  concurrency?: number;
  /**
   * Use the native library (`libmx8_ffi`, needs `--allow-ffi`) when it
   * loads: a local source's tree is listed in one call, and local
   * to local at concurrency 1 each file is appended to its shard by the
   * kernel (`copy_file_range`), so file bytes never pass through
   * JavaScript. Without it: Deno's stat calls and blocking reads. Same
   * output either way. Default true.
   */
  native?: boolean;
  /** Replace an existing packed dataset at `out` (default false). */
  overwrite?: boolean;
  /** Multipart part size in MiB for an S3 destination (default 16; S3 needs ≥ 5). */
  partMb?: number;
  /** Called after every packed file (and once before the first). */
  onProgress?: (progress: PackProgress) => void;
  /** Stops the pack; no manifest is written. */
  signal?: AbortSignal;
}

/** Progress of a running pack. */
export interface PackProgress {
  /** Files written so far. */
  filesDone: number;
  /** Files to pack. */
  filesTotal: number;
  /** File bytes written so far. */
  bytesDone: number;
  /** File bytes to pack. */
  bytesTotal: number;
  /** Shards completed so far. */
  shardsDone: number;
  /** Milliseconds since the pack started. */
  elapsedMs: number;
}

/** What a pack wrote. */
export interface PackResult {
  /** Samples (= input files = manifest rows). */
  samples: number;
  /** Shards written. */
  shards: number;
  /** Sample bytes packed (sum of `byte_length`). */
  bytes: number;
  /** Bytes of all shards (tar headers, padding and end blocks included). */
  shardBytes: number;
  /** Label classes (0 when samples are not labelled). */
  labels: number;
  /**
   * Videos whose index went into their row's decode hint (0 without
   * `libmx8_video`: then `video()` probes them at its first open).
   */
  videosIndexed: number;
  /** Videos that could not be indexed, with why (the loader probes or skips them). */
  videosNotIndexed: { rel: string; reason: string }[];
  /** `manifest_hash` of the written manifest. */
  manifestHash: string;
  /** Where the manifest is: `<out>/_mx8/manifest.tsv` (absolute for local). */
  manifestPath: string;
}

/**
 * Packs every file under `src` (sorted by relative path; `_mx8/` and
 * `shards/` skipped) into `out/shards/shard-NNNNN.tar` (POSIX ustar) and
 * writes `out/_mx8/manifest.tsv` (plus `labels.tsv` when labelled) last.
 * Memory stays bounded: reads run `concurrency` at a time into a fixed
 * 64 MiB ring and are written in order. The same input gives byte-identical
 * shards and the same manifest hash, wherever `out` is.
 *
 * @example Pack a folder and read the summary
 * ```ts
 * import assert from "node:assert/strict";
 * import { pack } from "./pack.ts";
 * const src = await Deno.makeTempDir();
 * await Deno.mkdir(`${src}/cat`);
 * await Deno.mkdir(`${src}/dog`);
 * await Deno.writeTextFile(`${src}/cat/1.jpg`, "meow");
 * await Deno.writeTextFile(`${src}/dog/2.jpg`, "woof!");
 * const out = await Deno.makeTempDir();
 * const result = await pack(src, { out });
 * assert.equal(result.samples, 2);
 * assert.equal(result.labels, 2);
 * assert.equal(result.manifestPath, `${out}/_mx8/manifest.tsv`);
 * await Deno.remove(src, { recursive: true });
 * await Deno.remove(out, { recursive: true });
 * ```
 *
 * @param src Source: a local directory or `s3://bucket/prefix`.
 * @param options Destination and settings.
 * @returns Counts, manifest hash and manifest path.
 * @throws {RangeError} On invalid option values.
 * @throws {Mx8Error} On bad input: an empty source, a zero-length file, a
 * layout that `labelMode: "imagefolder"` refuses, overlapping locations, an
 * existing manifest without `overwrite`.
 * @throws {PathError} When a local file cannot be read or written.
 * @throws {S3Error} When S3 fails (missing bucket, access denied, ...).
 */
export async function pack(
  src: string,
  options: PackOptions,
): Promise<PackResult> {
  const started = performance.now();
  const checked = checkOptions(options);
  // S3 code (and the AWS SDK) loads only when a side is on S3.
  const s3Src = isS3Url(src)
    ? await import(
      lazyUrl("./source_s3.ts", import.meta.url)
    ) as typeof import("./source_s3.ts")
    : undefined;
  const concurrency = options.concurrency ??
    (s3Src ? s3Src.S3_READ_CONCURRENCY : LOCAL_READ_CONCURRENCY);
  const syncReads = !s3Src && concurrency === 1;
  const settings: Settings = { ...checked, concurrency, syncReads };
  const native = !s3Src && options.native !== false
    ? openNativeLibrary()
    : null;
  const source: PackSource = s3Src
    ? s3Src.s3Source(src.replace(/\/+$/, ""))
    : localSource(resolve(src), { syncReads, native });
  const dest: PackDestination = isS3Url(options.out)
    ? (await import(
      lazyUrl("./dest_s3.ts", import.meta.url)
    ) as typeof import("./dest_s3.ts")).s3Destination(options.out, {
      partBytes: settings.partBytes,
    })
    : localDestination(resolve(options.out), {
      native: syncReads ? native : null,
    });
  checkOverlap(await canonicalRoot(src), await canonicalRoot(options.out));
  // Fails early when DST cannot be reached (and is checked again under the lock).
  checkNoManifest(await dest.hasManifest(), dest, options);
  // One pack per destination at a time: a second one fails here, so two
  // packs never mix their shards, labels and manifest.
  const lock = await dest.lock();
  try {
    return await packLocked(source, dest, lock, settings, options, started);
  } finally {
    await lock.release();
  }
}

async function packLocked(
  source: PackSource,
  dest: PackDestination,
  lock: PackLock,
  settings: Settings,
  options: PackOptions,
  started: number,
): Promise<PackResult> {
  if (!options.overwrite) {
    checkNoManifest(await dest.hasManifest(), dest, options);
  }

  const files = await source.list();
  if (files.length === 0) {
    throw new Mx8Error(
      `No files to pack under ${source.root} (_mx8/ and shards/ are skipped): ` +
        `check --in`,
    );
  }
  const labels = planLabels(files, settings.labelMode);
  const plan = planShards(files, settings.shardBytes, source.root);

  // A pack whose lock is taken over (it stalled past the stale time) stops
  // at once: `lock.signal` aborts it, and the lock is checked before every
  // step that touches what a committed dataset depends on.
  const signal = options.signal
    ? AbortSignal.any([options.signal, lock.signal])
    : lock.signal;
  await lock.check();
  if (!dest.stagesShards) {
    // S3: shards are written under their final keys, so from here on the
    // destination holds no manifest until the new one is complete: a
    // failed pack never leaves a manifest over other bytes.
    await dest.removeMetadata();
  }
  const progress = (filesDone: number, bytesDone: number, shardsDone: number) =>
    options.onProgress?.({
      filesDone,
      filesTotal: files.length,
      bytesDone,
      bytesTotal: plan.dataBytes,
      shardsDone,
      elapsedMs: performance.now() - started,
    });
  progress(0, 0, 0);
  // Each video's index into its row's decode hint (header reads only).
  const videos = await indexPackedVideos(
    files,
    source,
    labels?.labelIds,
    signal,
  );
  const shards = plan.shardSizes.length;
  try {
    await writeShards(plan, source, dest, {
      concurrency: settings.concurrency,
      budgetBytes: settings.syncReads
        ? PACK_INFLIGHT_BYTES_BLOCKING
        : PACK_INFLIGHT_BYTES,
      pieceBytes: PACK_PIECE_BYTES,
      signal,
      guard: () => lock.check(),
      onFile: (i, bytesDone, shardsDone) =>
        progress(i + 1, bytesDone, shardsDone),
    });
    signal.throwIfAborted();
    // The commit: only while the lock is still ours. Locally the old
    // dataset stayed whole until here; its manifest goes first, then the
    // staged shards replace its shards (readers holding a shard open keep
    // the old file).
    await lock.check();
    if (dest.stagesShards) {
      await dest.removeMetadata();
      await dest.commitShards(shards, () => lock.check());
    }
  } catch (err) {
    await dest.discardStaged();
    throw err;
  }
  // Old shards beyond the new count (a previous, bigger pack's).
  await lock.check();
  await dest.removeShardsFrom(shards);
  await lock.check();
  if (labels) {
    await dest.writeMetadata("labels.tsv", serializeLabels(labels.labels));
  }
  await lock.check();
  // Hashed as it is written, chunk by chunk.
  const hasher = new Sha256();
  await dest.writeMetadata(
    "manifest.tsv",
    (function* () {
      for (
        const chunk of manifestChunks(
          plan,
          labels?.labelIds,
          undefined,
          videos?.hints,
        )
      ) {
        hasher.update(chunk);
        yield chunk;
      }
    })(),
  );
  const hash = hasher.digestHex();
  progress(files.length, plan.dataBytes, shards);
  return {
    samples: files.length,
    shards,
    bytes: plan.dataBytes,
    shardBytes: plan.shardSizes.reduce((a, b) => a + b, 0),
    labels: labels?.labels.length ?? 0,
    videosIndexed: videos?.indexed ?? 0,
    videosNotIndexed: videos?.failed ?? [],
    manifestHash: hash,
    manifestPath: dest.manifestPath,
  };
}

function checkNoManifest(
  exists: boolean,
  dest: PackDestination,
  options: PackOptions,
): void {
  if (exists && !options.overwrite) {
    throw new Mx8Error(
      `${dest.manifestPath} already exists: pass --overwrite to replace ` +
        `the packed dataset at ${dest.root}`,
    );
  }
}

interface Settings {
  shardBytes: number;
  labelMode: LabelMode;
  partBytes: number;
  concurrency: number;
  syncReads: boolean;
}

function checkOptions(
  options: PackOptions,
): Omit<Settings, "concurrency" | "syncReads"> {
  if (typeof options.out !== "string" || options.out === "") {
    throw new TypeError("pack needs options.out, the destination");
  }
  const shardBytes = shardBytesOf(options.shardMb ?? 512);
  const labelMode = options.labelMode ?? "auto";
  if (!LABEL_MODES.includes(labelMode)) {
    throw new RangeError(
      `labelMode must be one of ${LABEL_MODES.join("|")}, got "${labelMode}"`,
    );
  }
  const c = options.concurrency;
  if (c !== undefined && !(Number.isInteger(c) && c >= 1)) {
    throw new RangeError(`concurrency must be an integer ≥ 1, got ${c}`);
  }
  const partMb = options.partMb ?? 16;
  const partBytes = Math.floor(partMb * MIB);
  if (!Number.isFinite(partMb) || partBytes < 1) {
    throw new RangeError(`partMb must be > 0, got ${partMb}`);
  }
  return { shardBytes, labelMode, partBytes };
}
