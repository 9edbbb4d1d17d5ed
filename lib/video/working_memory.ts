/**
 * How much memory one decode pass needs besides the batch's compressed
 * videos and clip tensor: the decoder's frames (reference frames, the
 * frames it reorders, one per decoder thread), the frame MX8 holds and,
 * with frame threads, the frames waiting for the resize thread, all at the
 * video's coded size. Reserved in the loader's byte budget with the
 * batch, so the cap covers FFmpeg's memory too.
 *
 * @module
 */

import type { VideoIndex } from "./types.ts";

/**
 * Frames a decoder keeps besides its threads' own: up to 5 reference
 * frames (H.264's DPB at 720p/1080p levels 3.1–4.2 holds 4–5; VP9 keeps up
 * to 8 slots but few distinct frames), the B-frame reorder delay, the
 * frame being decoded and the one MX8 holds.
 */
const BASE_FRAMES = 8;

/**
 * Frames queued for the resize thread of a pass with frame threads (more
 * than one decoder thread): `MX8_JOBS_DEPTH` in `ffi/video/shim/mx8_jobs.h`.
 */
const RESIZE_QUEUE_FRAMES = 4;

/**
 * Working-memory estimate of one decode pass over `index`'s video.
 *
 * @param index The video's index (coded size).
 * @param threads Decoder threads of the pass.
 * @returns Bytes: `(8 + 2 × threads)` frames (`+ 4` with more than one
 *   thread: the resize queue) of 4:2:0 at the coded size rounded up to 64
 *   pixels (FFmpeg's padding).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { passWorkingBytes } from "./working_memory.ts";
 * const i = { width: 1280, height: 720 } as Parameters<typeof passWorkingBytes>[0];
 * assert.equal(passWorkingBytes(i, 1), 10 * 1280 * 768 * 1.5);
 * assert.equal(passWorkingBytes(i, 2), 16 * 1280 * 768 * 1.5);
 * ```
 */
export function passWorkingBytes(
  index: Pick<VideoIndex, "width" | "height">,
  threads: number,
): number {
  const up = (x: number) => Math.ceil(Math.max(1, x) / 64) * 64;
  const frame = up(index.width) * up(index.height) * 1.5;
  const n = Math.max(1, threads);
  return (BASE_FRAMES + 2 * n + (n > 1 ? RESIZE_QUEUE_FRAMES : 0)) * frame;
}
