/**
 * Builds one batch of clips under the loader's byte budget.
 *
 * @module
 */

import { BatchTooLargeError, type ByteBudget } from "../loader/byte_budget.ts";
import type { ManifestRow } from "../manifest/row.ts";
import type { SampleReader } from "../sample_bytes/sample_reader.ts";
import { Mx8Error } from "../errors.ts";
import { detachBuffer } from "../util/detach.ts";
import { mapLimit } from "../util/map_limit.ts";
import { type ClipBatch, toPlanarFloat } from "./clip_batch.ts";
import type { ClipDecoder, DecodeManyResult } from "./clip_decoder.ts";
import type { ClipPlan, PlannedClip } from "./clip_plan.ts";
import { VideoDecodeError } from "./errors.ts";
import type { ResolvedVideoOptions } from "./options.ts";
import type { ThreadBudget } from "./thread_budget.ts";
import { passWorkingBytes } from "./working_memory.ts";
import type {
  HeldSession,
  SessionClaim,
  SessionHandoffs,
} from "./session_handoff.ts";
import type { VideoIndex } from "./types.ts";

/** Counters of one decode pass. */
export interface PassCounters {
  /** Clips in the pass. */
  clips: number;
  /** Frames the clips keep (clips × T). */
  framesKept: number;
  /** Frames the decoder produced. */
  framesDecoded: number;
  /** Milliseconds of the pass. */
  decodeMs: number;
}

/** What {@linkcode buildClipBatch} builds from. */
export interface BatchContext {
  /** The clip plan. */
  plan: ClipPlan;
  /** Reads the videos' bytes. */
  reader: SampleReader;
  /** Manifest row, size and index of each planned video (plan's `videoIndex`). */
  rows: readonly ManifestRow[];
  /** Byte size of each video. */
  sizes: readonly number[];
  /** Index of each video. */
  indexes: readonly VideoIndex[];
  /** The backend. */
  decoder: ClipDecoder;
  /** The loader's byte budget. */
  budget: ByteBudget;
  /** Aborts reservations and reads when the loader closes. */
  signal: AbortSignal;
  /** Resolved loader options (size, dtype, limits, error mode). */
  options: ResolvedVideoOptions;
  /** Limits decode passes at once for this loader (`decodeConcurrency`). */
  passes: ThreadBudget;
  /** The process's decode-thread budget. */
  threads: ThreadBudget;
  /**
   * Hands each video's decode session from batch to batch (absent, or a
   * backend without sessions: every pass opens its video).
   */
  handoffs?: SessionHandoffs;
  /** Called after each decode pass. */
  onPass(p: PassCounters): void;
  /** Called for each clip dropped with `onDecodeError: "skip"`. */
  onSkipped(clip: PlannedClip, reason: string): void;
}

/**
 * Builds the batch of the clips at plan positions `[from, to)`. Before
 * anything is read it reserves, in one request: the clip tensor (`× 5` for
 * float32: uint8 staging + float); the compressed bytes of each video it
 * reads; for a video the next batch reads too, its decode session (the
 * video's bytes, the decoder's working memory, the kept frames: a
 * reservation that moves on with the session, batch to batch, and returns
 * after the video's last batch); for the other videos, the working memory
 * of the passes that can run at once. A video whose session comes from the
 * batch before is neither read nor reserved again: its pass goes on from
 * where the last one stopped. Each video's clips decode in one pass,
 * straight into the batch slab (all passes settle before memory is
 * returned: a running decode writes into the tensor); then the compressed
 * bytes and working memory return, failed clips drop (with
 * `onDecodeError: "skip"`) and the rest is laid out.
 *
 * @param ctx What the batch is built from.
 * @param from First plan position.
 * @param to One past the last.
 * @returns The batch; its `release()` returns the rest of the reservation.
 * @throws {VideoDecodeError} For a clip that cannot be decoded (`onDecodeError: "error"`).
 * @throws {BatchTooLargeError} When the batch alone exceeds the cap.
 */
export async function buildClipBatch(
  ctx: BatchContext,
  from: number,
  to: number,
): Promise<ClipBatch> {
  const { plan, reader, rows, sizes, indexes, budget, signal } = ctx;
  const { height: h, width: w, toFloat } = ctx.options;
  const clips = Array.from(
    { length: to - from },
    (_, i) => plan.at(from + i),
  );
  const t = clips[0].frameSeconds.length;
  const clipBytes = t * h * w * 3;
  const videos = [...new Set(clips.map((c) => c.videoIndex))];
  const threads = sessionThreads(ctx, from);
  const sessionBytes = (v: number) =>
    sizes[v] + passWorkingBytes(indexes[v], threads) + clipBytes;
  // Sessions: planned and claimed now, before any await (batches are built
  // in plan order, and reserve in that order). Handed over by the video's
  // sample id: a plan's `videoIndex` is a position in one lease's videos.
  const handoffs = ctx.decoder.openSession ? ctx.handoffs : undefined;
  const inherited = handoffs
    ? videos.filter((v) => handoffs.waitingBytes(rows[v].sampleId) > 0)
    : [];
  const inheritedBytes = inherited.reduce(
    (a, v) => a + handoffs!.waitingBytes(rows[v].sampleId),
    0,
  );
  // Read here: every video whose session does not come from the batch before.
  const read = videos.filter((v) => !inherited.includes(v));
  const offsets = [0];
  for (const v of read) offsets.push(offsets[offsets.length - 1] + sizes[v]);
  const readBytes = offsets[offsets.length - 1];
  const tensor = clips.length * clipBytes * (toFloat ? 5 : 1);
  const next = handoffs ? nextBatchVideos(ctx, to) : new Set<number>();
  /** What this batch reserves when it opens sessions for `opened`. */
  const need = (opened: readonly number[]) => {
    // Passes that open and close their video: the largest that run at once.
    const work = read
      .filter((v) => !opened.includes(v))
      .map((v) => passWorkingBytes(indexes[v], ctx.options.decodeThreads))
      .sort((a, b) => b - a)
      .slice(0, ctx.options.decodeConcurrency)
      .reduce((a, b) => a + b, 0);
    const kept = opened.reduce((a, v) => a + sessionBytes(v), 0);
    return { work, kept, total: tensor + readBytes + work + kept };
  };
  // Sessions opened here and passed on (reserved whole, they move on with
  // them) — unless they would not fit beside the sessions this batch
  // continues, which only it can free: then its passes open and close their
  // videos, as without sessions. Nor is a session passed on that would
  // leave the next batch no room (it could only free it itself).
  let opened = read.filter((v) => next.has(v));
  let goOn = inherited.filter((v) => next.has(v));
  const cap = budget.capBytes;
  const heldBy = (vs: readonly number[]) =>
    vs.reduce(
      (a, v) =>
        a +
        (inherited.includes(v)
          ? handoffs!.waitingBytes(rows[v].sampleId)
          : sessionBytes(v)),
      0,
    );
  const fitsNext = (vs: readonly number[]) =>
    heldBy(vs) + nextBatchNeed(ctx, to, vs) <= cap;
  let reserve = need(opened);
  if (
    opened.length > 0 &&
    (reserve.total + inheritedBytes > cap || !fitsNext([...goOn, ...opened]))
  ) {
    opened = [];
    reserve = need(opened);
  }
  if (!fitsNext(goOn)) goOn = [];
  if (inheritedBytes > 0 && reserve.total + inheritedBytes > cap) {
    throw new BatchTooLargeError(reserve.total + inheritedBytes, cap);
  }
  const claims = new Map<number, SessionClaim>();
  for (const v of handoffs ? videos : []) {
    const keep = goOn.includes(v) || opened.includes(v);
    const bytes = inherited.includes(v)
      ? handoffs!.waitingBytes(rows[v].sampleId)
      : sessionBytes(v);
    claims.set(v, handoffs!.claim(rows[v].sampleId, keep, bytes));
  }
  const { work, kept } = reserve;
  const transient = readBytes + work;
  const held = new Map<number, HeldSession | undefined>();
  let holding = transient + tensor;
  let released = false;
  const release = (bytes: number) => {
    budget.release(bytes);
    holding -= bytes;
  };
  let reserved = false;
  try {
    await budget.acquire(holding + kept, signal);
    reserved = true;
    for (const v of opened) held.set(v, { bytes: sessionBytes(v) });
    const payload = new Uint8Array(readBytes);
    await reader.readInto(
      read.map((v) => rows[v]),
      read.map((v) => sizes[v]),
      payload,
      offsets,
      signal,
    );
    const bytesOf = new Map(
      read.map((v, i) => [v, payload.subarray(offsets[i], offsets[i + 1])]),
    );
    const pixels = new Uint8Array(clips.length * clipBytes);
    // One pass per video: its clips' frames merged in time order, so a GOP
    // (and a frame two overlapping clips share) is decoded once.
    const groups = new Map<number, number[]>();
    clips.forEach((c, i) => {
      const g = groups.get(c.videoIndex);
      if (g) g.push(i);
      else groups.set(c.videoIndex, [i]);
    });
    const errors: unknown[] = new Array(clips.length).fill(undefined);
    const label = (c: PlannedClip) =>
      `sample ${c.sampleId} (${
        rows[c.videoIndex].location
      }) clip at ${c.startSeconds} s`;
    // Every pass settles before anything is freed: a decode still running
    // writes into `pixels`.
    await mapLimit(
      [...groups],
      ctx.options.decodeConcurrency,
      async ([v, at]) => {
        const options = {
          height: h,
          width: w,
          out: pixels,
          slots: at,
          labels: at.map((i) => label(clips[i])),
          threads: ctx.options.decodeThreads,
          maxPackets: ctx.options.maxPacketsPerClip,
          maxSeconds: ctx.options.maxSecondsPerClip,
        };
        const times = at.map((i) => clips[i].frameSeconds);
        const claim = claims.get(v);
        try {
          let pass: () => Promise<DecodeManyResult>;
          let n = ctx.options.decodeThreads;
          if (claim?.from || claim?.keep) {
            // Outside the pass budgets: the batch before runs its pass on
            // this session first.
            const got = claim.from ? await claim.from : held.get(v);
            held.set(v, got);
            if (!got) {
              throw new Mx8Error(
                `sample ${
                  indexes[v].sampleId
                }: its decode session was lost with the batch before (that batch failed)`,
              );
            }
            got.session ??= claim.from
              ? undefined
              : ctx.decoder.openSession!(bytesOf.get(v)!, indexes[v], threads);
            const session = got.session;
            if (!session) {
              throw new VideoDecodeError(
                "OutOfMemory",
                `sample ${indexes[v].sampleId}`,
                "its decode session could not be opened with the batch before",
              );
            }
            pass = () => session.decodeMany(times, options);
            n = threads;
          } else {
            pass = () =>
              ctx.decoder.decodeMany(
                bytesOf.get(v)!,
                indexes[v],
                times,
                options,
              );
          }
          const r = await ctx.passes.run(1, () => ctx.threads.run(n, pass));
          r.errors.forEach((e, k) => errors[at[k]] = e);
          const ok = r.errors.filter((e) => e === undefined).length;
          ctx.onPass({
            clips: ok,
            framesKept: ok * t,
            framesDecoded: r.framesDecoded,
            decodeMs: r.decodeMs,
          });
        } catch (e) {
          for (const i of at) errors[i] = e;
        } finally {
          // The session goes on to the next batch, or is freed.
          claim?.done(held.get(v));
          claims.delete(v);
        }
      },
    );
    // The compressed videos are done with: free them now, not at a GC.
    detachBuffer(payload);
    release(transient);
    const keptClips: number[] = [];
    for (const [i, e] of errors.entries()) {
      if (e === undefined) {
        keptClips.push(i);
        continue;
      }
      if (
        !(e instanceof VideoDecodeError) || ctx.options.onDecodeError !== "skip"
      ) throw e;
      ctx.onSkipped(clips[i], e.message);
    }
    keptClips.forEach((src, dst) => {
      if (src !== dst) {
        pixels.copyWithin(
          dst * clipBytes,
          src * clipBytes,
          (src + 1) * clipBytes,
        );
      }
    });
    const b = keptClips.length;
    let data: Uint8Array | Float32Array;
    let shape: [number, number, number, number, number];
    if (toFloat) {
      data = toPlanarFloat(pixels, b, t, h, w);
      detachBuffer(pixels);
      shape = [b, 3, t, h, w];
      release(clips.length * clipBytes + (clips.length - b) * clipBytes * 4);
    } else {
      data = pixels.subarray(0, b * clipBytes);
      shape = [b, t, h, w, 3];
      release((clips.length - b) * clipBytes);
    }
    const pick = keptClips.map((i) => clips[i]);
    return {
      clips: { data, shape, dtype: toFloat ? "float32" : "uint8" },
      clipIds: BigInt64Array.from(pick, (c) => c.clipId),
      sampleIds: BigInt64Array.from(pick, (c) => c.sampleId),
      startSeconds: Float64Array.from(pick, (c) => c.startSeconds),
      release: () => {
        if (released) return;
        released = true;
        // The consumer is done with it: its memory goes now (views read
        // as empty), as the budget says.
        detachBuffer(toFloat ? data : pixels);
        release(holding);
      },
    };
  } catch (e) {
    if (!released) {
      released = true;
      if (reserved) release(holding);
    }
    throw e;
  } finally {
    // Claims no pass settled (a failure before the passes): pass on what
    // came, or what this batch reserved for the next.
    for (const [v, claim] of claims) {
      if (claim.from) claim.done(await claim.from);
      else claim.done(reserved ? held.get(v) : undefined);
    }
  }
}

/**
 * What the batch after `to` reserves when the sessions of `kept` come to
 * it and it opens none: its tensor, the other videos' bytes and the
 * working memory of the passes that can run at once.
 */
function nextBatchNeed(
  ctx: BatchContext,
  to: number,
  kept: readonly number[],
): number {
  const o = ctx.options;
  const end = Math.min(to + o.batchSizeClips, ctx.plan.length);
  if (end <= to) return 0;
  const t = ctx.plan.at(to).frameSeconds.length;
  const tensor = (end - to) * t * o.height * o.width * 3 * (o.toFloat ? 5 : 1);
  const others = [...nextBatchVideos(ctx, to)].filter((v) => !kept.includes(v));
  const work = others
    .map((v) => passWorkingBytes(ctx.indexes[v], o.decodeThreads))
    .sort((a, b) => b - a)
    .slice(0, o.decodeConcurrency)
    .reduce((a, b) => a + b, 0);
  return tensor + others.reduce((a, v) => a + ctx.sizes[v], 0) + work;
}

/** The videos of the next batch: the positions the loader builds after `to`. */
function nextBatchVideos(ctx: BatchContext, to: number): Set<number> {
  const end = Math.min(to + ctx.options.batchSizeClips, ctx.plan.length);
  const next = new Set<number>();
  for (let p = to; p < end; p++) next.add(ctx.plan.at(p).videoIndex);
  return next;
}

/**
 * Decoder threads of a session opened at `from`: `decodeThreads` when
 * given, else every thread of the budget when its video is the only one in
 * the batches being built (its passes run one after the other on one
 * decoder), else 1.
 */
function sessionThreads(ctx: BatchContext, from: number): number {
  const o = ctx.options;
  if (o.decodeThreadsGiven) return o.decodeThreads;
  const end = Math.min(
    from + o.batchSizeClips * (o.prefetchBatches + 1),
    ctx.plan.length,
  );
  const first = ctx.plan.at(from).videoIndex;
  for (let p = from + 1; p < end; p++) {
    if (ctx.plan.at(p).videoIndex !== first) return o.decodeThreads;
  }
  return ctx.threads.capacity;
}
