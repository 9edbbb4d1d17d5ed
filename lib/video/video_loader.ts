/**
 * The video loader: a dataset link of videos → batches of decoded clips,
 * under the same hard byte cap as images. Every batch reserves its
 * compressed videos plus its clip tensor before anything is read or
 * decoded; the compressed bytes are returned as soon as its clips are
 * decoded, the tensor when the consumer moves on.
 *
 * @module
 */

import { Mx8Error } from "../errors.ts";
import { leaseSourceFor } from "../distributed/mod.ts";
import { SEGMENT_SOURCE } from "../loader/base_loader.ts";
import { ByteBudget } from "../loader/byte_budget.ts";
import { CheckpointError } from "../loader/checkpoint.ts";
import { type Dataset, openDataset } from "../loader/dataset.ts";
import { validateLoaderOptions } from "../loader/options.ts";
import type { SegmentSource } from "../loader/segment.ts";
import type { ManifestRow } from "../manifest/row.ts";
import { openManifestStore } from "../manifest_store/open.ts";
import { resolveLocation } from "../sample_bytes/location.ts";
import { SampleReader } from "../sample_bytes/sample_reader.ts";
import {
  decodeClipCheckpoint,
  encodeClipCheckpoint,
  planFingerprint,
} from "./checkpoint.ts";
import { buildClipBatch } from "./build_batch.ts";
import type { ClipBatch } from "./clip_batch.ts";
import { ClipPlan, type ClipPlanOptions } from "./clip_plan.ts";
import { VideoDecodeError } from "./errors.ts";
import {
  type CachedVideo,
  decodeVideoIndexCache,
  encodeVideoIndexCache,
} from "./index_cache.ts";
import { type ClipDecoder, openClipDecoder } from "./clip_decoder.ts";
import {
  LEASE_IDS_PER_BATCH,
  leasedClipBatches,
  type LeasedClipsContext,
  type LeaseVideos,
  videoNodeStats,
} from "./leased_clips.ts";
import {
  isVideoLocation,
  type ResolvedVideoOptions,
  resolveVideoOptions,
  VIDEO_EXTENSIONS,
  type VideoOptions,
} from "./options.ts";
import { SessionHandoffs } from "./session_handoff.ts";
import { decodeThreadBudget, ThreadBudget } from "./thread_budget.ts";
import type { VideoIndex } from "./types.ts";
import { isVideoHint, parseVideoIndexHint } from "./index_hint.ts";

/** Counters of a {@linkcode VideoLoader}. */
export interface VideoLoaderStats {
  /** The decoder in use (`"native"` or `"cli"`; `undefined` before open). */
  backend: "native" | "cli" | undefined;
  /** Videos with an index (probed now or cached with the snapshot). */
  videosIndexed: number;
  /**
   * Videos probed at open (the others came from their manifest rows' decode
   * hints, as `mx8 pack` writes them, or from the snapshot's cached index).
   */
  videosProbed: number;
  /** Videos whose index came from their manifest row (a packed dataset). */
  videosFromManifest: number;
  /** Videos with no clip: too short, or unreadable with `onDecodeError: "skip"`. */
  videosSkipped: number;
  /** Clips in the plan. */
  plannedClips: number;
  /** Batches delivered. */
  deliveredBatchesTotal: number;
  /** Clips delivered. */
  deliveredClipsTotal: number;
  /** Clips dropped by `onDecodeError: "skip"`. */
  clipErrorsSkipped: number;
  /** Clips decoded (delivered or about to be). */
  clipsDecoded: number;
  /** Frames the decoder produced (GOP lead-ins included; each once per pass). */
  framesDecoded: number;
  /** Frames the clips keep (clips × frames per clip). */
  framesKept: number;
  /** Decode passes (one per video per batch). */
  decodePasses: number;
  /** Milliseconds spent in decode passes (summed over concurrent passes). */
  decodeMs: number;
  /** Bytes reserved now (compressed videos + clip tensors). */
  inflightBytes: number;
  /** Highest `inflightBytes` so far. */
  inflightHighWaterBytes: number;
  /** The cap. */
  maxInflightBytes: number;
}

interface Opened {
  dataset: Dataset;
  reader: SampleReader;
  rows: ManifestRow[];
  sizes: number[];
  plan: ClipPlan;
  indexes: VideoIndex[];
}

/**
 * Reads a dataset of videos (`.mp4 .mkv .webm .mov` rows of a folder,
 * `.tsv` manifest or `s3://…` link) as batches of clips decoded by FFmpeg
 * (`libmx8_video`): `clips` is `[B, T, H, W, 3]` uint8, or `[B, 3, T, H, W]`
 * float32 with `toFloat`. Clip order and ids are deterministic from the
 * manifest, options, seed and epoch; `checkpoint()` + `resumeFrom` continue
 * after the last delivered batch. With `coordUrl` and `jobId` the videos are
 * leased from a coordinator instead (the link is ignored: pass `""`): each
 * lease's clips are planned with the same ids, and a lease's progress passes
 * a video once all its clips were handed over (`docs/video.md`).
 *
 * @example Read 8-frame clips of a folder of videos
 * ```ts ignore
 * import { video } from "./video_loader.ts";
 * await using clips = video("/data/videos", { clip: 8, stride: 16, resizeHw: [112, 112] });
 * for await (const batch of clips) {
 *   console.log(batch.clips.shape, batch.clipIds); // [8, 8, 112, 112, 3]
 * }
 * ```
 */
export class VideoLoader implements AsyncIterable<ClipBatch> {
  /** The dataset link. */
  readonly link: string;
  readonly #options: VideoOptions;
  readonly #o: ResolvedVideoOptions;
  readonly #budget: ByteBudget;
  readonly #handoffs: SessionHandoffs;
  readonly #abort = new AbortController();
  readonly #log: (event: string, fields: Record<string, unknown>) => void;
  #opened?: Promise<Opened>;
  #ready?: Opened;
  #position = 0;
  #iterating = false;
  #closed = false;
  #videosSkipped = 0;
  #videosProbed = 0;
  #videosFromManifest = 0;
  #decoder?: ClipDecoder;
  #delivered = { batches: 0, clips: 0 };
  #clipErrorsSkipped = 0;
  #passes: ThreadBudget;
  /** The coordinator's leases (distributed mode), else undefined. */
  #source?: SegmentSource;
  /** Videos indexed and clips planned over the leases so far. */
  #leased = { videos: 0, clips: 0 };
  #decoded = {
    clips: 0,
    framesDecoded: 0,
    framesKept: 0,
    passes: 0,
    ms: 0,
  };

  /**
   * Creates the loader; nothing is read until `open()` or the first batch.
   *
   * @param link Dataset link.
   * @param options Clip and loader options (`clip` is required).
   * @throws {RangeError} For an out-of-range option.
   * @throws {TypeError} For an unknown `onDecodeError`, or `coordUrl`
   *   without `jobId`.
   * @throws {Mx8Error} For `resumeFrom` in distributed mode.
   */
  constructor(link: string, options: VideoOptions) {
    this.#o = resolveVideoOptions(options);
    // Validates the clip options now rather than at open.
    new ClipPlan([], options);
    this.link = link;
    this.#options = options;
    this.#budget = new ByteBudget(this.#o.maxInflightBytes);
    this.#handoffs = new SessionHandoffs(this.#budget);
    this.#passes = new ThreadBudget(this.#o.decodeConcurrency);
    this.#log = options.log ??
      ((event, fields) =>
        console.error(
          JSON.stringify({ ts: new Date().toISOString(), event, ...fields }),
        ));
    this.#source = this.#leaseSource(options);
    this.#source?.attachStats?.(() => videoNodeStats(this.stats()));
  }

  /** The lease source in distributed mode (`coordUrl`), else undefined. */
  #leaseSource(options: VideoOptions): SegmentSource | undefined {
    const given =
      (options as { [SEGMENT_SOURCE]?: SegmentSource })[SEGMENT_SOURCE];
    if (!given && options.coordUrl === undefined) return undefined;
    if (options.resumeFrom !== undefined) {
      throw new Mx8Error(
        `resumeFrom is for a video loader working alone: a distributed job resumes through its coordinator (mx8 coordinator --resume-from)`,
      );
    }
    if (given) return given;
    const { coordUrl, jobId, nodeId, want, authToken } = options;
    const { connectTimeoutMs, barrierTimeoutMs } = options;
    if (!jobId) {
      throw new TypeError(
        `Distributed mode needs jobId (coordUrl ${coordUrl} was given)`,
      );
    }
    const lease = validateLoaderOptions({
      coordUrl,
      jobId,
      nodeId,
      want,
      authToken,
      connectTimeoutMs,
      barrierTimeoutMs,
      maxInflightBytes: this.#o.maxInflightBytes,
    });
    return leaseSourceFor(
      { ...lease, log: this.#log },
      LEASE_IDS_PER_BATCH,
    );
  }

  /**
   * Resolves the link, indexes every video (from the index cached with the
   * snapshot in the manifest store when there is one, else by probing it —
   * a local file's header and index, anything else read whole — then
   * caching the result) and plans the clips (once).
   *
   * @returns Resolves when the plan is ready.
   * @throws {VideoUnavailableError} Without `libmx8_video` (nor, for
   *   `backend: "auto"`, the ffmpeg CLI).
   * @throws {Mx8Error} When the dataset has no video.
   * @throws {VideoDecodeError} When a video cannot be indexed (`onDecodeError: "error"`).
   * @throws {CheckpointError} When `resumeFrom` belongs to another dataset or plan.
   */
  async open(): Promise<void> {
    if (this.#source) {
      // Distributed: each lease's videos are indexed and planned as it comes.
      this.#decoder ??= openClipDecoder(this.#o.backend);
      return;
    }
    this.#opened ??= this.#open();
    this.#ready = await this.#opened;
  }

  /** The pinned manifest's hash (after `open()`). */
  get manifestHash(): string | undefined {
    return this.#ready?.dataset.snapshot.manifestHash ??
      (this.#source?.info.manifestHash || undefined);
  }

  /** The clip plan (after `open()`). */
  get plan(): ClipPlan | undefined {
    return this.#ready?.plan;
  }

  async #open(): Promise<Opened> {
    this.#decoder = openClipDecoder(this.#o.backend);
    const dataset = await openDataset(this.link, this.#options.manifestStore);
    // A folder's videos by name; a pack's by their rows' decode hints.
    const all = dataset.rows.filter((r) =>
      isVideoLocation(r.location) || isVideoHint(r.decodeHint)
    );
    if (all.length === 0) {
      throw new Mx8Error(
        `${this.link} has no video (looked for ${
          VIDEO_EXTENSIONS.join(" ")
        } among ${dataset.rows.length} rows): point the link at a folder or manifest of videos`,
      );
    }
    const reader = new SampleReader(dataset.root);
    const allSizes = await reader.sizes(all, this.#abort.signal);
    const manifestHash = dataset.snapshot.manifestHash;
    const store = this.#options.manifestStore ?? openManifestStore();
    const cached = await store.getVideoIndex(manifestHash).then(
      (b) => b ? decodeVideoIndexCache(b) : new Map<bigint, CachedVideo>(),
      () => new Map<bigint, CachedVideo>(),
    );
    const rows: ManifestRow[] = [];
    const sizes: number[] = [];
    const indexes: VideoIndex[] = [];
    for (const [i, row] of all.entries()) {
      const hit = cached.get(BigInt(row.sampleId));
      // A packed row carries its index in its decode hint.
      let index = parseVideoIndexHint(row.decodeHint, BigInt(row.sampleId));
      if (index) this.#videosFromManifest++;
      else if (hit?.size === allSizes[i]) index = hit.index;
      if (!index) {
        index = await this.#index(reader, row, allSizes[i]);
        if (index) this.#videosProbed++;
      }
      if (!index) continue;
      rows.push(row);
      sizes.push(allSizes[i]);
      indexes.push(index);
    }
    if (this.#videosProbed > 0) {
      const bytes = encodeVideoIndexCache(
        indexes.map((index, i) => ({ index, size: sizes[i] })),
      );
      // A read-only store only costs the next open a probe.
      await store.putVideoIndex(manifestHash, bytes).catch((e) =>
        this.#log("video_index_not_cached", {
          manifest_hash: manifestHash,
          reason: e instanceof Error ? e.message : String(e),
        })
      );
    }
    const plan = new ClipPlan(indexes, { ...this.#options, manifestHash });
    for (const s of plan.skipped) {
      this.#videosSkipped++;
      this.#log("video_skipped", {
        sample_id: Number(s.sampleId),
        reason: s.reason,
      });
    }
    if (this.#options.resumeFrom !== undefined) {
      this.#position = this.#resumePosition(
        this.#options.resumeFrom,
        manifestHash,
        plan.length,
      );
    }
    return { dataset, reader, rows, sizes, plan, indexes };
  }

  /**
   * Probes one video, reserving its size meanwhile: a whole local file
   * through FFmpeg's file reader (its header and index), anything else read
   * whole first.
   */
  async #index(
    reader: SampleReader,
    row: ManifestRow,
    size: number,
  ): Promise<VideoIndex | undefined> {
    const label = `sample ${row.sampleId} (${row.location})`;
    if (size > this.#o.maxInflightBytes) {
      throw new Mx8Error(
        `${label} is ${size} bytes, more than maxInflightBytes ${this.#o.maxInflightBytes}: raise maxInflightBytes`,
      );
    }
    await this.#budget.acquire(size, this.#abort.signal);
    try {
      const id = BigInt(row.sampleId);
      // A whole local file: FFmpeg reads its header and index, not its frames.
      const loc = row.byteOffset === undefined
        ? resolveLocation(row.location, reader.root)
        : undefined;
      if (loc?.kind === "local" && this.#decoder!.probeFile) {
        return await this.#decoder!.probeFile(loc.path, id, label);
      }
      const bytes = new Uint8Array(size);
      await reader.readInto([row], [size], bytes, [0], this.#abort.signal);
      return await this.#decoder!.probe(bytes, id, label);
    } catch (e) {
      if (
        !(e instanceof VideoDecodeError) || this.#o.onDecodeError !== "skip"
      ) {
        throw e;
      }
      this.#videosSkipped++;
      this.#log("video_skipped", {
        sample_id: row.sampleId,
        reason: e.message,
      });
      return undefined;
    } finally {
      this.#budget.release(size);
    }
  }

  #resumePosition(token: string, manifestHash: string, length: number): number {
    const c = decodeClipCheckpoint(token);
    if (c.manifestHash !== manifestHash) {
      throw new CheckpointError(
        `resumeFrom is for manifest ${c.manifestHash}, this loader reads ${manifestHash}: pin the same snapshot (link@sha256:${c.manifestHash})`,
      );
    }
    if (c.plan !== planFingerprint(this.#options)) {
      throw new CheckpointError(
        `resumeFrom was made with other clip options (clip, stride, frameStep, fps, sampling, clipsPerVideo, shuffle, seed or epoch): pass the same ones`,
      );
    }
    return Math.min(c.position, length);
  }

  /**
   * A resume token: the next loader given it as `resumeFrom` (same link
   * snapshot and clip options) starts after the last delivered batch.
   *
   * @returns The token.
   * @throws {Mx8Error} Before `open()`.
   */
  checkpoint(): string {
    if (this.#source) {
      throw new Mx8Error(
        `checkpoint() is for a video loader working alone; a distributed job resumes from the coordinator's GetResumeCheckpoint token (mx8 coordinator --resume-from)`,
      );
    }
    if (!this.#ready) {
      throw new Mx8Error(
        `checkpoint() needs an opened loader: await open() first`,
      );
    }
    return encodeClipCheckpoint({
      v: 1,
      manifestHash: this.#ready.dataset.snapshot.manifestHash,
      plan: planFingerprint(this.#options),
      position: this.#position,
    });
  }

  /**
   * The loader's counters.
   *
   * @returns A snapshot of them.
   */
  stats(): VideoLoaderStats {
    return {
      backend: this.#decoder?.backend,
      videosIndexed: this.#ready?.indexes.length ?? this.#leased.videos,
      videosProbed: this.#videosProbed,
      videosFromManifest: this.#videosFromManifest,
      videosSkipped: this.#videosSkipped,
      plannedClips: this.#ready?.plan.length ?? this.#leased.clips,
      deliveredBatchesTotal: this.#delivered.batches,
      deliveredClipsTotal: this.#delivered.clips,
      clipErrorsSkipped: this.#clipErrorsSkipped,
      clipsDecoded: this.#decoded.clips,
      framesDecoded: this.#decoded.framesDecoded,
      framesKept: this.#decoded.framesKept,
      decodePasses: this.#decoded.passes,
      decodeMs: this.#decoded.ms,
      inflightBytes: this.#budget.usedBytes,
      inflightHighWaterBytes: this.#budget.highWaterBytes,
      maxInflightBytes: this.#budget.capBytes,
    };
  }

  /**
   * Iterates the batches, from the resume position to the end of the plan.
   *
   * @returns The batches; each is released when the next is asked for.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<ClipBatch> {
    if (this.#iterating) {
      throw new Mx8Error(`a VideoLoader can be iterated once at a time`);
    }
    this.#iterating = true;
    await this.open();
    if (this.#source) {
      try {
        yield* leasedClipBatches(this.#leasedContext());
      } finally {
        this.#iterating = false;
      }
      return;
    }
    const { plan } = this.#ready!;
    const queue: { to: number; batch: Promise<ClipBatch> }[] = [];
    let next = this.#position;
    const fill = () => {
      while (
        !this.#closed && queue.length < this.#o.prefetchBatches &&
        next < plan.length
      ) {
        const from = next;
        const to = Math.min(from + this.#o.batchSizeClips, plan.length);
        next = to;
        const batch = this.#build(from, to);
        batch.catch(() => {}); // awaited in order below
        queue.push({ to, batch });
      }
    };
    try {
      fill();
      while (queue.length > 0) {
        const { to, batch: pending } = queue.shift()!;
        const batch = await pending;
        this.#position = to;
        fill();
        if (batch.clips.shape[0] === 0) {
          batch.release();
          continue;
        }
        this.#delivered.batches++;
        this.#delivered.clips += batch.clips.shape[0];
        try {
          yield batch;
        } finally {
          batch.release();
        }
      }
    } finally {
      this.#iterating = false;
      if (queue.length > 0) {
        this.#abort.abort(new Mx8Error("video loader stopped"));
        for (const q of queue) {
          await q.batch.then((b) => b.release(), () => {});
        }
      }
      // Sessions kept for batches that will not be built now.
      await this.#handoffs.releaseAll();
    }
  }

  /** What the leased iteration needs from this loader. */
  #leasedContext(): LeasedClipsContext {
    return {
      source: this.#source!,
      options: this.#options,
      batchSizeClips: this.#o.batchSizeClips,
      prefetchBatches: this.#o.prefetchBatches,
      signal: this.#abort.signal,
      closed: () => this.#closed,
      stop: () => this.#abort.abort(new Mx8Error("video loader stopped")),
      indexOf: (reader, row, size) => this.#indexRow(reader, row, size),
      build: (lease, from, to) => this.#build(from, to, lease),
      onPlanned: (plan, rows, videos) => {
        this.#leased.videos += videos;
        this.#leased.clips += plan.length;
        for (const s of plan.skipped) {
          this.#videosSkipped++;
          this.#log("video_skipped", {
            sample_id: Number(s.sampleId),
            reason: s.reason,
          });
        }
        this.#log("lease_clips_planned", {
          rows,
          videos,
          clips: plan.length,
        });
      },
      onDelivered: (b) => {
        this.#delivered.batches++;
        this.#delivered.clips += b.clips.shape[0];
      },
    };
  }

  /** A leased video's index: its row's decode hint, else a probe. */
  async #indexRow(
    reader: SampleReader,
    row: ManifestRow,
    size: number,
  ): Promise<VideoIndex | undefined> {
    const hinted = parseVideoIndexHint(row.decodeHint, BigInt(row.sampleId));
    if (hinted) {
      this.#videosFromManifest++;
      return hinted;
    }
    const probed = await this.#index(reader, row, size);
    if (probed) this.#videosProbed++;
    return probed;
  }

  /**
   * Reserves, reads, decodes and lays out the clips at plan positions
   * [from, to) of the plan (the lease's in distributed mode).
   */
  #build(
    from: number,
    to: number,
    on: LeaseVideos = this.#ready!,
  ): Promise<ClipBatch> {
    const { plan, reader, rows, sizes, indexes } = on;
    return buildClipBatch(
      {
        plan,
        reader,
        rows,
        sizes,
        indexes,
        decoder: this.#decoder!,
        budget: this.#budget,
        signal: this.#abort.signal,
        options: this.#o,
        passes: this.#passes,
        threads: decodeThreadBudget(),
        handoffs: this.#handoffs,
        onPass: (p) => {
          this.#decoded.clips += p.clips;
          this.#decoded.framesDecoded += p.framesDecoded;
          this.#decoded.framesKept += p.framesKept;
          this.#decoded.passes++;
          this.#decoded.ms += p.decodeMs;
        },
        onSkipped: (clip, reason) => {
          this.#clipErrorsSkipped++;
          this.#log("clip_skipped", {
            sample_id: Number(clip.sampleId),
            clip_id: String(clip.clipId),
            reason,
          });
        },
      },
      from,
      to,
    );
  }

  /** Stops background work and closes files. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort(new Mx8Error("video loader closed"));
    const opened = await this.#opened?.catch(() => undefined);
    await this.#handoffs.releaseAll();
    await opened?.reader.close();
    await this.#source?.close();
    await this.#decoder?.close();
  }

  /** Same as {@linkcode VideoLoader.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Creates a {@linkcode VideoLoader} (see there): batches of decoded clips
 * from a dataset link of videos.
 *
 * @param link Dataset link.
 * @param options Clip options (`clip` required) and loader options.
 * @returns The loader.
 *
 * @example
 * ```ts ignore
 * import { video } from "./video_loader.ts";
 * for await (const b of video("/data/videos", { clip: 16, fps: 8 })) {
 *   console.log(b.clips.shape, b.startSeconds);
 * }
 * ```
 */
export function video(link: string, options: VideoOptions): VideoLoader {
  return new VideoLoader(link, options);
}

export type { ClipPlanOptions };
