/**
 * Backend-independent image decoding interface used by the loaders.
 *
 * @module
 */

/** Element type of a decoded batch. */
export type DecodedDtype = "float32" | "uint8";

/** Backend names. */
export type DecoderName = "native" | "sharp";

/** Per-call decode options. */
export interface DecodeOptions {
  /** Output height in pixels. */
  height: number;
  /** Output width in pixels. */
  width: number;
  /** `true` (default): float32 in [0, 1]; `false`: uint8 in [0, 255]. */
  toFloat?: boolean;
  /** Decompression-bomb guard: samples with more pixels fail. Default 100 MP. */
  maxPixels?: number;
  /** Aborts waiting for pool memory. */
  signal?: AbortSignal;
}

/**
 * A batch of decoded images as one NCHW tensor `[B, 3, H, W]` (RGB planes,
 * no EXIF rotation applied). Failed samples are zero-filled and have an
 * entry in {@linkcode DecodedBatch.errors}.
 */
export interface DecodedBatch {
  /** Tensor data, row-major `[B, 3, H, W]`. */
  data: Float32Array | Uint8Array;
  /** `[B, 3, H, W]`. */
  shape: [number, number, number, number];
  /** Element type of {@linkcode DecodedBatch.data}. */
  dtype: DecodedDtype;
  /** Per sample: `null` when decoded, else why it failed. */
  errors: (string | null)[];
  /** Bytes of tensor memory held by this batch until release. */
  bytes: number;
  /** Returns the memory (native: to the pool; `data` becomes empty). Idempotent. */
  release(): void;
  /** Same as {@linkcode DecodedBatch.release}. */
  [Symbol.dispose](): void;
}

/** A batch image decoder backend. */
export interface ImageDecoder {
  /** Which backend does the work. */
  readonly name: DecoderName;
  /**
   * Decodes and resizes `images` (compressed bytes) to exactly
   * `height × width`, RGB, NCHW.
   */
  decodeBatch(images: Uint8Array[], opts: DecodeOptions): Promise<DecodedBatch>;
  /** Releases backend resources. Idempotent. */
  close(): void;
}

/** Default decompression-bomb guard: 100 megapixels. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/**
 * Validates decode options and fills defaults.
 *
 * @param opts Caller options.
 * @returns Normalized options.
 * @throws {RangeError} On a non-positive or non-integer size or max-pixels.
 *
 * @example
 * ```ts
 * import { normalizeDecodeOptions } from "./types.ts";
 * import assert from "node:assert/strict";
 * assert.equal(normalizeDecodeOptions({ height: 2, width: 3 }).toFloat, true);
 * ```
 */
export function normalizeDecodeOptions(
  opts: DecodeOptions,
): Required<Omit<DecodeOptions, "signal">> & { signal?: AbortSignal } {
  const { height, width, toFloat = true, maxPixels = DEFAULT_MAX_PIXELS } =
    opts;
  for (
    const [name, v] of [["height", height], ["width", width], [
      "maxPixels",
      maxPixels,
    ]] as const
  ) {
    if (!Number.isSafeInteger(v) || v <= 0) {
      throw new RangeError(
        `Invalid ${name}: "${v}" must be a positive integer`,
      );
    }
  }
  return { height, width, toFloat, maxPixels, signal: opts.signal };
}
