/**
 * The batch a video loader yields, and the layout change to float32.
 *
 * @module
 */

/** A batch of clips. */
export interface ClipBatch {
  /**
   * The pixels: `[B, T, H, W, 3]` uint8 (default) or `[B, 3, T, H, W]`
   * float32 in `[0, 1]` (`toFloat: true`).
   */
  clips: {
    data: Uint8Array | Float32Array;
    shape: [number, number, number, number, number];
    dtype: "uint8" | "float32";
  };
  /** Deterministic id of each clip. */
  clipIds: BigInt64Array;
  /** Manifest `sample_id` of each clip's video. */
  sampleIds: BigInt64Array;
  /** Presentation time of each clip's first frame, in seconds. */
  startSeconds: Float64Array;
  /**
   * Returns the batch's bytes to the loader's budget and frees them now
   * (`clips.data` reads as empty afterwards: copy what you keep). Done on the
   * next iteration too.
   */
  release(): void;
}

/**
 * Converts `[B, T, H, W, 3]` uint8 to `[B, 3, T, H, W]` float32 in `[0, 1]`.
 *
 * @param src The uint8 clips.
 * @param b Clips.
 * @param t Frames per clip.
 * @param h Height.
 * @param w Width.
 * @param dst Output (length `b·3·t·h·w`; default a new array).
 * @returns `dst`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toPlanarFloat } from "./clip_batch.ts";
 * // 1 clip, 1 frame, 1×2 pixels: (255, 0, 51), (0, 255, 102).
 * const out = toPlanarFloat(new Uint8Array([255, 0, 51, 0, 255, 102]), 1, 1, 1, 2);
 * assert.deepEqual(Array.from(out, (x) => Math.round(x * 255)), [255, 0, 0, 255, 51, 102]);
 * ```
 */
export function toPlanarFloat(
  src: Uint8Array,
  b: number,
  t: number,
  h: number,
  w: number,
  dst: Float32Array = new Float32Array(b * 3 * t * h * w),
): Float32Array {
  const hw = h * w;
  const thw = t * hw;
  const scale = 1 / 255;
  for (let bi = 0; bi < b; bi++) {
    for (let ti = 0; ti < t; ti++) {
      const s0 = (bi * t + ti) * hw * 3;
      const d0 = bi * 3 * thw + ti * hw;
      for (let p = 0; p < hw; p++) {
        const s = s0 + p * 3;
        dst[d0 + p] = src[s] * scale;
        dst[d0 + thw + p] = src[s + 1] * scale;
        dst[d0 + 2 * thw + p] = src[s + 2] * scale;
      }
    }
  }
  return dst;
}
