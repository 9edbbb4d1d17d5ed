/**
 * Builds one batch of clips under the loader's byte budget.
 *
 * @module
 */

import type { ByteBudget } from "../loader/byte_budget.ts";
import type { ManifestRow } from "../manifest/row.ts";
import type { SampleReader } from "../sample_bytes/sample_reader.ts";
import { detachBuffer } from "../util/detach.ts";
import { mapLimit } from "../util/map_limit.ts";
import { type ClipBatch, toPlanarFloat } from "./clip_batch.ts";
import type { ClipDecoder } from "./clip_decoder.ts";
import type { ClipPlan, PlannedClip } from "./clip_plan.ts";
import { VideoDecodeError } from "./errors.ts";
import type { ResolvedVideoOptions } from "./options.ts";
import type { ThreadBudget } from "./thread_budget.ts";
import { passWorkingBytes } from "./working_memory.ts";
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
  /** Called after each decode pass. */
  onPass(p: PassCounters): void;
  /** Called for each clip dropped with `onDecodeError: "skip"`. */
  onSkipped(clip: PlannedClip, reason: string): void;
}

/**
 * Builds the batch of the clips at plan positions `[from, to)`: reserves
 * the compressed bytes of their videos, the decoders' working memory
 * (`passWorkingBytes` of the passes that can run at once) and the clip
 * tensor (`× 5` for float32: uint8 staging + float) before anything is
 * read, reads the
 * videos, decodes the clips of each video in one pass (straight into the
 * batch slab; all passes settle before memory is returned: a running decode
 * writes into the tensor), returns the
 * compressed bytes and working memory, drops failed clips (with `onDecodeError: "skip"`) and
 * lays the rest out.
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
  const offsets = [0];
  for (const v of videos) {
    offsets.push(offsets[offsets.length - 1] + sizes[v]);
  }
  // Decoder working memory: the largest passes that can run at once.
  const work = videos
    .map((v) => passWorkingBytes(indexes[v], ctx.options.decodeThreads))
    .sort((a, b) => b - a)
    .slice(0, ctx.options.decodeConcurrency)
    .reduce((a, b) => a + b, 0);
  const compressed = offsets[offsets.length - 1] + work;
  const tensor = clips.length * clipBytes * (toFloat ? 5 : 1);
  let held = compressed + tensor;
  await budget.acquire(held, signal);
  let released = false;
  const release = (bytes: number) => {
    budget.release(bytes);
    held -= bytes;
  };
  try {
    const payload = new Uint8Array(compressed - work);
    await reader.readInto(
      videos.map((v) => rows[v]),
      videos.map((v) => sizes[v]),
      payload,
      offsets,
      signal,
    );
    const bytesOf = new Map(
      videos.map((v, i) => [v, payload.subarray(offsets[i], offsets[i + 1])]),
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
      ([v, at]) =>
        ctx.passes.run(
          1,
          () =>
            ctx.threads.run(ctx.options.decodeThreads, async () => {
              try {
                const r = await ctx.decoder.decodeMany(
                  bytesOf.get(v)!,
                  indexes[v],
                  at.map((i) => clips[i].frameSeconds),
                  {
                    height: h,
                    width: w,
                    out: pixels,
                    slots: at,
                    labels: at.map((i) => label(clips[i])),
                    threads: ctx.options.decodeThreads,
                    maxPackets: ctx.options.maxPacketsPerClip,
                    maxSeconds: ctx.options.maxSecondsPerClip,
                  },
                );
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
              }
            }),
        ),
    );
    // The compressed videos are done with: free them now, not at a GC.
    detachBuffer(payload);
    release(compressed);
    const kept: number[] = [];
    for (const [i, e] of errors.entries()) {
      if (e === undefined) {
        kept.push(i);
        continue;
      }
      if (
        !(e instanceof VideoDecodeError) || ctx.options.onDecodeError !== "skip"
      ) throw e;
      ctx.onSkipped(clips[i], e.message);
    }
    kept.forEach((src, dst) => {
      if (src !== dst) {
        pixels.copyWithin(
          dst * clipBytes,
          src * clipBytes,
          (src + 1) * clipBytes,
        );
      }
    });
    const b = kept.length;
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
    const pick = kept.map((i) => clips[i]);
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
        release(held);
      },
    };
  } catch (e) {
    if (!released) {
      released = true;
      release(held);
    }
    throw e;
  }
}
