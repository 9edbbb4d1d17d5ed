/**
 * Distributed clips: a video loader's batches when a coordinator leases the
 * rows (videos). Each lease's videos are indexed (from their packed rows'
 * decode hints, else probed), planned with the same clip ids as a loader
 * working alone, cut into clip batches, built ahead under the byte budget,
 * and the lease's cursor moves past a video only after every clip of it was
 * handed over (at-least-once, like images).
 *
 * @module
 */

import type { ManifestRow } from "../manifest/row.ts";
import type { Segment, SegmentSource } from "../loader/segment.ts";
import type { LoaderStats } from "../loader/stats.ts";
import { SampleReader } from "../sample_bytes/sample_reader.ts";
import type { ClipBatch } from "./clip_batch.ts";
import { ClipPlan } from "./clip_plan.ts";
import { isVideoHint } from "./index_hint.ts";
import { leaseClipBatches } from "./lease_clips.ts";
import { isVideoLocation, type VideoOptions } from "./options.ts";
import type { VideoIndex } from "./types.ts";

/**
 * Sample ids per batch of a lease's segment (the lease source's `batchSize`
 * for video loaders): a lease's rows are planned as one run, so any size
 * works; a large one keeps the id arrays few.
 */
export const LEASE_IDS_PER_BATCH = 1 << 16;

/** The videos of one lease, as a batch build needs them. */
export interface LeaseVideos {
  /** The lease's clip plan (positions index into it). */
  plan: ClipPlan;
  /** Reads the videos' bytes. */
  reader: SampleReader;
  /** Manifest row of each planned video (the plan's `videoIndex`). */
  rows: ManifestRow[];
  /** Byte size of each. */
  sizes: number[];
  /** Index of each. */
  indexes: VideoIndex[];
}

/** What {@linkcode leasedClipBatches} works with. */
export interface LeasedClipsContext {
  /** The lease source (registered, heartbeating). */
  source: SegmentSource;
  /** The loader's clip options (the plan's; `manifestHash` comes from the coordinator). */
  options: VideoOptions;
  /** Clips per batch. */
  batchSizeClips: number;
  /** Batches built ahead of the consumer. */
  prefetchBatches: number;
  /** Aborts reads, reservations and lease requests when the loader stops. */
  signal: AbortSignal;
  /** Whether the loader was closed (a close is a normal end, not a failure). */
  closed(): boolean;
  /** Stops background work when the consumer leaves early. */
  stop(): void;
  /**
   * The index of a video row: from its decode hint, else probed (reserving
   * its bytes); `undefined` when it is skipped (unreadable, `onDecodeError: "skip"`).
   */
  indexOf(
    reader: SampleReader,
    row: ManifestRow,
    size: number,
  ): Promise<VideoIndex | undefined>;
  /** Builds the batch of the lease's plan positions `[from, to)`. */
  build(lease: LeaseVideos, from: number, to: number): Promise<ClipBatch>;
  /**
   * Called once per lease with its plan (counters, events): `rows` leased,
   * `videos` indexed among them.
   */
  onPlanned(plan: ClipPlan, rows: number, videos: number): void;
  /** Called for each batch handed to the consumer. */
  onDelivered(batch: ClipBatch): void;
}

/** One step of the delivery: a batch to build, or a report alone. */
interface Job {
  make?: () => Promise<ClipBatch>;
  batch?: Promise<ClipBatch>;
  /** Reports the lease's progress once the consumer is done with the batch. */
  report(bytes: number): void;
}

/**
 * Yields the clip batches of every lease the source grants, until the job
 * is drained. A lease's cursor is reported after the consumer is done with
 * each batch (it asks for the next one, or the generator ends), never
 * ahead of it; the next lease is asked for once the current one is
 * delivered (the lease source prefetches it meanwhile).
 *
 * @param ctx Source, options and the loader's build hooks.
 * @yields Clip batches; each is released when the next is asked for.
 * @throws The first build, indexing or coordinator error (a close while
 *   waiting ends the iteration instead).
 */
export async function* leasedClipBatches(
  ctx: LeasedClipsContext,
): AsyncGenerator<ClipBatch> {
  let reader: SampleReader | undefined;
  const readerFor = () => {
    const root = ctx.source.info.root;
    if (reader?.root !== root) {
      void reader?.close();
      reader = new SampleReader(root);
    }
    return reader;
  };
  const jobs = leaseJobs(ctx, readerFor);
  const queue: Job[] = [];
  let pulling: Promise<void> | undefined;
  let exhausted = false;
  let failure: { error: unknown } | undefined;
  const building = () => queue.filter((j) => j.batch).length;
  const pump = (): void => {
    if (
      pulling || exhausted || failure || ctx.closed() ||
      building() >= ctx.prefetchBatches
    ) return;
    pulling = jobs.next().then(
      (r) => {
        if (r.done) {
          exhausted = true;
          return;
        }
        const job = r.value;
        if (job.make) {
          job.batch = job.make();
          job.batch.catch(() => {}); // awaited in order below
        }
        queue.push(job);
      },
      (error) => {
        failure = { error };
      },
    ).finally(() => {
      pulling = undefined;
      pump();
    });
  };
  // After close() nothing is reported (the lease source is closing): the
  // lease expires and its rest is leased again, as for images.
  const report = (job: Job, bytes: number) => {
    if (!ctx.closed()) job.report(bytes);
  };
  try {
    for (;;) {
      pump();
      const job = queue.shift();
      if (!job) {
        if (failure) throw failure.error;
        if (exhausted || ctx.closed()) return;
        await pulling;
        continue;
      }
      if (!job.batch) {
        report(job, 0);
        continue;
      }
      const batch = await job.batch;
      pump();
      if (batch.clips.shape[0] === 0) {
        // Every clip was skipped (onDecodeError "skip"): nothing to hand
        // over, but its videos are done.
        batch.release();
        report(job, 0);
        continue;
      }
      const bytes = batch.clips.data.byteLength;
      ctx.onDelivered(batch);
      try {
        yield batch;
      } finally {
        batch.release();
      }
      report(job, bytes);
    }
  } catch (err) {
    // close() while we waited is a normal end (e.g. SIGTERM), not a failure.
    if (ctx.closed()) return;
    throw err;
  } finally {
    if (queue.length > 0 || pulling) ctx.stop();
    for (const j of queue) await j.batch?.then((b) => b.release(), () => {});
    await pulling;
    await reader?.close();
  }
}

/**
 * The jobs of every lease in order: per lease, a report for the rows
 * before its first clip (if any), then one job per clip batch; the next
 * lease is asked for once the last job of this one reported.
 */
async function* leaseJobs(
  ctx: LeasedClipsContext,
  readerFor: () => SampleReader,
): AsyncGenerator<Job> {
  for (;;) {
    const seg = await ctx.source.next(ctx.signal);
    if (!seg) return;
    const reader = readerFor();
    const { start, end, lease } = await planLease(ctx, seg, reader);
    const clipRows = Float64Array.from(
      { length: lease.plan.length },
      (_, i) => Number(lease.plan.sampleIdAt(i)),
    );
    const cut = leaseClipBatches(start, end, clipRows, ctx.batchSizeClips);
    let reported = start;
    const report = (cursor: number, bytes: number) => {
      seg.progress?.(cursor, cursor - reported, bytes);
      reported = cursor;
    };
    let delivered!: () => void;
    const leaseDone = new Promise<void>((r) => delivered = r);
    const last = cut.batches.length - 1;
    if (cut.cursor > start || last < 0) {
      yield {
        report: () => {
          report(cut.cursor, 0);
          if (last < 0) delivered();
        },
      };
    }
    for (const [k, b] of cut.batches.entries()) {
      yield {
        make: () => ctx.build(lease, b.from, b.to),
        report: (bytes) => {
          report(b.cursor, bytes);
          if (k === last) delivered();
        },
      };
    }
    await untilAborted(leaseDone, ctx.signal);
  }
}

/** `p`, or the signal's reason when it aborts first. */
function untilAborted(p: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    void p.then(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}

/** Indexes and plans the videos of one lease. */
async function planLease(
  ctx: LeasedClipsContext,
  seg: Segment,
  reader: SampleReader,
): Promise<{ start: number; end: number; lease: LeaseVideos }> {
  const first = seg.batches[0];
  const lastBatch = seg.batches[seg.batches.length - 1];
  const start = first[0];
  const end = lastBatch[lastBatch.length - 1] + 1;
  const videoRows: ManifestRow[] = [];
  for (let id = start; id < end; id++) {
    const row = seg.row(id);
    if (isVideoLocation(row.location) || isVideoHint(row.decodeHint)) {
      videoRows.push(row);
    }
  }
  const allSizes = await reader.sizes(videoRows, ctx.signal);
  const rows: ManifestRow[] = [];
  const sizes: number[] = [];
  const indexes: VideoIndex[] = [];
  for (const [i, row] of videoRows.entries()) {
    const index = await ctx.indexOf(reader, row, allSizes[i]);
    if (!index) continue;
    rows.push(row);
    sizes.push(allSizes[i]);
    indexes.push(index);
  }
  const plan = new ClipPlan(indexes, {
    ...ctx.options,
    manifestHash: ctx.source.info.manifestHash,
  });
  ctx.onPlanned(plan, end - start, indexes.length);
  return { start, end, lease: { plan, reader, rows, sizes, indexes } };
}

/**
 * A video loader's counters as the heartbeat's node stats read them
 * (`deliveredSamplesTotal` counts clips; fields a video loader has no
 * notion of are 0).
 *
 * @param s The video loader's counters.
 * @returns Loader stats for the lease source's heartbeats.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { videoNodeStats } from "./leased_clips.ts";
 * const s = videoNodeStats({ deliveredBatchesTotal: 2, deliveredClipsTotal: 16,
 *   inflightBytes: 5, inflightHighWaterBytes: 9, maxInflightBytes: 64 });
 * assert.equal(s.deliveredSamplesTotal, 16);
 * assert.equal(s.ramHighWaterBytes, 9);
 * ```
 */
export function videoNodeStats(s: {
  deliveredBatchesTotal: number;
  deliveredClipsTotal: number;
  inflightBytes: number;
  inflightHighWaterBytes: number;
  maxInflightBytes: number;
}): LoaderStats {
  return {
    deliveredBatchesTotal: s.deliveredBatchesTotal,
    deliveredSamplesTotal: s.deliveredClipsTotal,
    inflightBytes: s.inflightBytes,
    inflightHighWaterBytes: s.inflightHighWaterBytes,
    processRssBytes: 0,
    ramHighWaterBytes: s.inflightHighWaterBytes,
    maxInflightBytes: s.maxInflightBytes,
    maxProcessRssBytes: 0,
    effectivePrefetchBatches: 0,
    effectiveMaxQueueBatches: 0,
    effectiveWant: 0,
    autotuneEnabled: false,
    autotuneProfile: "",
    autotunePressure: 0,
    autotuneLastDecision: "",
    autotuneAdjustmentsTotal: 0,
    elapsedSeconds: 0,
    consumerWaitSeconds: 0,
    decodeBackend: "video",
    decodeErrorsSkippedTotal: 0,
    fetchRetriesTotal: 0,
    queueDepthBatches: 0,
    prefetchDepthBatches: 0,
  };
}
