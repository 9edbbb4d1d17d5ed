/**
 * The sharp (libvips) decode backend: same contract as the native decoder,
 * used when `libmx8_ffi` is not built and for non-JPEG samples under `auto`.
 *
 * @module
 */

import sharp from "sharp";
import type {
  DecodedBatch,
  DecodeOptions,
  ImageDecoder,
  WorkingMemory,
} from "./types.ts";
import { DEFAULT_MAX_PIXELS, normalizeDecodeOptions } from "./types.ts";
import { readImageHeader } from "./image_header.ts";
import { probeImageHeader } from "./probe.ts";
import { describeImage, sharpWorkingMemory } from "./working_memory.ts";

/** Resize kernels sharp offers. */
export type SharpKernel =
  | "nearest"
  | "linear"
  | "cubic"
  | "mitchell"
  | "lanczos2"
  | "lanczos3";

/** Options for {@linkcode SharpDecoder}. */
export interface SharpDecoderOptions {
  /** Images decoded at once (each on a libuv worker). Default 2. */
  concurrency?: number;
  /**
   * Resize kernel. Default `"linear"`: an antialiased triangle filter, the
   * same filter the native backend uses, so both backends agree closely.
   */
  kernel?: SharpKernel;
}

/** Options for {@linkcode sharpDecodeRgb}. */
export interface SharpDecodeRgbOptions {
  /** Output height. */
  height: number;
  /** Output width. */
  width: number;
  /** Pixel limit (default 100 MP). */
  maxPixels?: number;
  /**
   * The most pixels this image may have at full size, as its decode memory
   * was sized (`WorkingMemory.pixels`; 0: none). Default: its header's size
   * when parsed here (JPEG, PNG, GIF, WebP), else `maxPixels`. A larger
   * image is refused (a GIF's canvas grows past a lying logical screen).
   */
  limitPixels?: number;
  /** Resize kernel (default `"linear"`). */
  kernel?: SharpKernel;
}

let cacheOff = false;

/**
 * Turns libvips' operation cache off (process-wide, once): a cached
 * operation keeps its decoder alive, and with it e.g. a progressive JPEG's
 * whole-image coefficient buffers, outside any budget.
 */
function noOperationCache(): void {
  if (cacheOff) return;
  sharp.cache(false);
  cacheOff = true;
}

/**
 * Decodes one image of any format sharp reads and resizes it to exactly
 * `height × width` (`fit: "fill"`, no EXIF rotation), returning interleaved
 * RGB. Turns libvips' operation cache off for the process (it would keep
 * decoded images alive outside the loader's budget).
 *
 * @param image Compressed bytes.
 * @param opts Size, pixel limit and kernel.
 * @returns `height * width * 3` bytes (HWC).
 * @throws {Error} When sharp cannot decode the image (message says why).
 *
 * @example
 * ```ts
 * import sharp from "sharp";
 * import { sharpDecodeRgb } from "./sharp.ts";
 * import assert from "node:assert/strict";
 * const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: "red" } }).png().toBuffer();
 * const rgb = await sharpDecodeRgb(png, { height: 2, width: 3 });
 * assert.equal(rgb.length, 2 * 3 * 3);
 * ```
 */
export async function sharpDecodeRgb(
  image: Uint8Array,
  opts: SharpDecodeRgbOptions,
): Promise<Uint8Array> {
  const { height, width, maxPixels = DEFAULT_MAX_PIXELS, kernel = "linear" } =
    opts;
  if (image.byteLength === 0) throw new Error("empty input (0 bytes)");
  const header = readImageHeader(image);
  if (header && header.width * header.height > maxPixels) {
    throw new Error(
      `${describeImage(header)} has ${header.width * header.height} ` +
        `pixels, over maxPixels ${maxPixels}`,
    );
  }
  const limit = Math.min(
    opts.limitPixels ?? (header ? header.width * header.height : maxPixels),
    maxPixels,
  );
  noOperationCache();
  let decoded;
  try {
    // libvips checks the canvas size it will decode (not what the header
    // parsed here said) against the limit before allocating pixels.
    decoded = await sharp(image, { limitInputPixels: Math.max(1, limit) })
      .removeAlpha()
      .toColourspace("srgb")
      .resize({ width, height, fit: "fill", kernel })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw pixelLimitError(e, limit, maxPixels);
  }
  const { data, info } = decoded;
  const n = height * width;
  if (info.channels === 3) {
    return new Uint8Array(data.buffer, data.byteOffset, n * 3);
  }
  // Grey (1) or grey+alpha (2) that stayed single-channel: replicate.
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const v = data[i * info.channels];
    out[i * 3] = v;
    out[i * 3 + 1] = info.channels >= 3 ? data[i * info.channels + 1] : v;
    out[i * 3 + 2] = info.channels >= 3 ? data[i * info.channels + 2] : v;
  }
  return out;
}

/** sharp's "exceeds pixel limit", said in terms of what was limited. */
function pixelLimitError(e: unknown, limit: number, maxPixels: number): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  if (!/exceeds pixel limit/.test(err.message)) return err;
  return new Error(
    limit > 0 && limit < maxPixels
      ? `the image is larger than its header says (${limit} pixels, which ` +
        `its decode memory was sized for); refused (${err.message})`
      : `the image has more than maxPixels ${maxPixels} pixels (${err.message})`,
  );
}

/**
 * Writes interleaved RGB (`height × width × 3`) into planar NCHW storage at
 * `offset` (elements): float32 outputs are scaled to [0, 1], uint8 copied.
 *
 * @param rgb Interleaved pixels.
 * @param out The batch tensor.
 * @param offset Element offset of this image's slot (`index * 3 * h * w`).
 * @param height Image height.
 * @param width Image width.
 *
 * @example
 * ```ts
 * import { hwcToNchw } from "./sharp.ts";
 * import assert from "node:assert/strict";
 * const out = new Uint8Array(6);
 * hwcToNchw(new Uint8Array([1, 2, 3, 4, 5, 6]), out, 0, 1, 2);
 * assert.deepEqual([...out], [1, 4, 2, 5, 3, 6]);
 * ```
 */
export function hwcToNchw(
  rgb: Uint8Array,
  out: Float32Array | Uint8Array,
  offset: number,
  height: number,
  width: number,
): void {
  const n = height * width;
  const r = offset, g = offset + n, b = offset + 2 * n;
  if (out instanceof Float32Array) {
    const k = 1 / 255;
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      out[r + i] = rgb[j] * k;
      out[g + i] = rgb[j + 1] * k;
      out[b + i] = rgb[j + 2] * k;
    }
  } else {
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      out[r + i] = rgb[j];
      out[g + i] = rgb[j + 1];
      out[b + i] = rgb[j + 2];
    }
  }
}

/**
 * Frees a typed array's backing store now by detaching its buffer (views of
 * it read as empty), instead of leaving it to the garbage collector. Only a
 * view that covers its whole buffer: a slice of a shared pool is left alone.
 */
function freeBuffer(view: ArrayBufferView): void {
  const buf = view.buffer;
  if (
    !(buf instanceof ArrayBuffer) || buf.detached || view.byteOffset !== 0 ||
    view.byteLength !== buf.byteLength
  ) return;
  try {
    buf.transfer(0);
  } catch {
    // not detachable (e.g. a pooled Buffer): left to the GC
  }
}

/** A decoded batch in ordinary JS memory. */
class HeapDecodedBatch implements DecodedBatch {
  data: Float32Array | Uint8Array;
  readonly shape: [number, number, number, number];
  readonly dtype: "float32" | "uint8";
  readonly errors: (string | null)[];
  readonly bytes: number;

  constructor(
    data: Float32Array | Uint8Array,
    shape: [number, number, number, number],
    errors: (string | null)[],
  ) {
    this.data = data;
    this.shape = shape;
    this.dtype = data instanceof Float32Array ? "float32" : "uint8";
    this.errors = errors;
    this.bytes = data.byteLength;
  }

  /** Frees the tensor now (views of it become empty), not at the next GC. */
  release(): void {
    freeBuffer(this.data);
    this.data = this.dtype === "float32"
      ? new Float32Array(0)
      : new Uint8Array(0);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * Decodes batches with sharp, `concurrency` images at a time, converting
 * each HWC uint8 result to NCHW float32/uint8 in JS. Any format sharp reads
 * works; failed samples are zero-filled with an error message.
 *
 * @example
 * ```ts ignore
 * const decoder = new SharpDecoder({ concurrency: 2 });
 * const batch = await decoder.decodeBatch(images, { height: 224, width: 224 });
 * ```
 */
export class SharpDecoder implements ImageDecoder {
  /** Always `"sharp"`. */
  readonly name = "sharp" as const;
  /** Images decoded at once per batch (the `concurrency` option). */
  get concurrency(): number {
    return this.#concurrency;
  }
  #concurrency: number;
  #kernel: SharpKernel;

  /**
   * Creates a sharp decoder.
   *
   * @param options Concurrency and kernel.
   * @throws {RangeError} On a non-positive concurrency.
   */
  constructor(options: SharpDecoderOptions = {}) {
    const { concurrency = 2, kernel = "linear" } = options;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(
        `Invalid concurrency: "${concurrency}" must be a positive integer`,
      );
    }
    this.#concurrency = concurrency;
    this.#kernel = kernel;
  }

  /**
   * Decodes `images` to `[B, 3, height, width]`.
   *
   * @param images Compressed images.
   * @param opts Size, dtype, max-pixels.
   * @returns The batch.
   * @throws {RangeError} On bad options.
   */
  async decodeBatch(
    images: Uint8Array[],
    opts: DecodeOptions,
  ): Promise<DecodedBatch> {
    const { height, width, toFloat, maxPixels, concurrency, pixelLimits } =
      normalizeDecodeOptions(opts);
    const count = images.length;
    const per = 3 * height * width;
    const data = toFloat
      ? new Float32Array(count * per)
      : new Uint8Array(count * per);
    const errors: (string | null)[] = new Array(count).fill(null);
    let next = 0;
    const work = async () => {
      while (next < count) {
        const i = next++;
        try {
          const rgb = await sharpDecodeRgb(images[i], {
            height,
            width,
            maxPixels,
            limitPixels: pixelLimits?.[i],
            kernel: this.#kernel,
          });
          hwcToNchw(rgb, data, i * per, height, width);
          freeBuffer(rgb);
        } catch (e) {
          errors[i] = e instanceof Error ? e.message : String(e);
        }
      }
    };
    await Promise.all(
      Array.from(
        {
          length: Math.min(
            this.#concurrency,
            concurrency ?? Infinity,
            Math.max(1, count),
          ),
        },
        work,
      ),
    );
    return new HeapDecodedBatch(data, [count, 3, height, width], errors);
  }

  /**
   * Upper bound of the memory sharp needs to decode `image`, from its header
   * (see `probeImageHeader`), and the pixel limit that keeps it there.
   *
   * @param image Compressed bytes.
   * @param opts Target size and pixel limit.
   * @returns The bound, what the image is, its pixel limit.
   */
  async workingMemory(
    image: Uint8Array,
    opts: DecodeOptions,
  ): Promise<WorkingMemory> {
    const { height, width, maxPixels } = normalizeDecodeOptions(opts);
    return sharpWorkingMemory(await probeImageHeader(image), {
      height,
      width,
      maxPixels,
    });
  }

  /** Nothing to free. */
  close(): void {}
}
