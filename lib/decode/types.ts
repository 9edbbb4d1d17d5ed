/**
 * Backend-independent image decoding interface used by the loaders.
 *
 * @module
 */
import type { WorkingMemory } from "./working_memory.ts";

export type { WorkingMemory };

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
  /**
   * At most this many images decoded at once by this call (default and
   * ceiling: the decoder's {@linkcode ImageDecoder.concurrency}); the loader
   * lowers it so the batch's decode working memory fits its budget.
   */
  concurrency?: number;
  /**
   * Per image: the most pixels it may have at full size (the
   * {@linkcode WorkingMemory.pixels} its reservation assumed). sharp
   * refuses a larger image (`limitInputPixels`); 0 refuses it outright.
   * Default: the header's size as parsed here, else `maxPixels`. The
   * native decoder decodes exactly the size its header check saw.
   */
  pixelLimits?: readonly number[];
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
  /** Images one {@linkcode ImageDecoder.decodeBatch} call decodes at once, at most. */
  readonly concurrency: number;
  /**
   * Upper bound of the memory decoding `image` takes beyond the batch
   * tensor, from its header alone (see `working_memory.ts`, `probe.ts`),
   * and the pixel limit that keeps the decode within it.
   */
  workingMemory(
    image: Uint8Array,
    opts: DecodeOptions,
  ): Promise<WorkingMemory>;
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
): Required<Omit<DecodeOptions, "signal" | "concurrency" | "pixelLimits">> & {
  signal?: AbortSignal;
  concurrency?: number;
  pixelLimits?: readonly number[];
} {
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
  const { concurrency } = opts;
  if (
    concurrency !== undefined &&
    (!Number.isSafeInteger(concurrency) || concurrency < 1)
  ) {
    throw new RangeError(
      `Invalid concurrency: "${concurrency}" must be a positive integer`,
    );
  }
  return {
    height,
    width,
    toFloat,
    maxPixels,
    signal: opts.signal,
    concurrency,
    pixelLimits: opts.pixelLimits,
  };
}
