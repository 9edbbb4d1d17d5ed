/**
 * The `auto` backend when the native library is available: native decode,
 * with non-JPEG samples (PNG, WebP, GIF, ...) and CMYK/YCCK JPEGs (which
 * need an ICC colour transform) re-decoded by sharp.
 *
 * @module
 */

import type { DecodeOptions, ImageDecoder, WorkingMemory } from "./types.ts";
import { normalizeDecodeOptions } from "./types.ts";
import { probeImageHeader } from "./probe.ts";
import { sharpWorkingMemory } from "./working_memory.ts";
import { mapLimit } from "../util/map_limit.ts";
import { hwcToNchw, sharpDecodeRgb, type SharpKernel } from "./sharp.ts";
import {
  type NativeDecodedBatch,
  type NativeDecoder,
  Status,
} from "../native/mod.ts";

/**
 * Native decoding with a per-sample sharp fallback for inputs the native
 * decoder does not take (not JPEG; CMYK/YCCK JPEGs, which need colour
 * management): those are decoded by sharp straight into the batch's slab
 * slot and their error is cleared. Corrupt JPEGs stay errors. Reports
 * `name: "native"`.
 *
 * @example
 * ```ts ignore
 * const decoder = new NativeWithSharpFallback(new NativeDecoder());
 * const batch = await decoder.decodeBatch([jpeg, png], { height: 64, width: 64 });
 * ```
 */
export class NativeWithSharpFallback implements ImageDecoder {
  /** Always `"native"` (the backend doing the bulk of the work). */
  readonly name = "native" as const;
  #native: NativeDecoder;
  #kernel: SharpKernel;

  /**
   * Wraps a native decoder.
   *
   * @param native The native decoder (owned: closed with this one).
   * @param kernel sharp resize kernel for fallback samples.
   */
  constructor(native: NativeDecoder, kernel: SharpKernel = "linear") {
    this.#native = native;
    this.#kernel = kernel;
  }

  /** The wrapped native decoder. */
  get native(): NativeDecoder {
    return this.#native;
  }

  /** Images decoded at once per batch (the native thread count). */
  get concurrency(): number {
    return this.#native.concurrency;
  }

  /**
   * Upper bound of the memory decoding `image` needs: the native model for
   * the JPEGs it decodes, sharp's for everything sharp decodes (non-JPEG,
   * and CMYK/YCCK JPEGs: 4 or more components).
   *
   * @param image Compressed bytes.
   * @param opts Target size and pixel limit.
   * @returns The bound, what the image is, its pixel limit.
   */
  async workingMemory(
    image: Uint8Array,
    opts: DecodeOptions,
  ): Promise<WorkingMemory> {
    const header = await probeImageHeader(image);
    const { height, width, maxPixels } = normalizeDecodeOptions(opts);
    if (header?.format === "jpeg" && (header.components?.length ?? 0) < 4) {
      return this.#native.workingMemoryOf(header, opts);
    }
    return sharpWorkingMemory(header, { height, width, maxPixels });
  }

  /**
   * Decodes `images` to `[B, 3, height, width]`.
   *
   * @param images Compressed images (JPEG natively, anything else via sharp).
   * @param opts Size, dtype, max-pixels.
   * @returns The batch (a native slab).
   * @throws {RangeError} On bad options.
   */
  async decodeBatch(
    images: Uint8Array[],
    opts: DecodeOptions,
  ): Promise<NativeDecodedBatch> {
    const batch = await this.#native.decodeBatch(images, opts);
    const { height, width, maxPixels, concurrency, pixelLimits } =
      normalizeDecodeOptions(opts);
    const per = 3 * height * width;
    const redo = [...batch.statuses.keys()].filter((i) =>
      batch.statuses[i] === Status.NotJpeg ||
      batch.statuses[i] === Status.NeedsColorTransform
    );
    // As many at once as the native pass ran (its memory is free by now).
    await mapLimit(redo, concurrency ?? this.concurrency, async (i) => {
      try {
        const rgb = await sharpDecodeRgb(images[i], {
          height,
          width,
          maxPixels,
          limitPixels: pixelLimits?.[i],
          kernel: this.#kernel,
        });
        if (batch.released) return;
        hwcToNchw(rgb, batch.data, i * per, height, width);
        batch.statuses[i] = Status.Ok;
        batch.errors[i] = null;
      } catch (e) {
        batch.errors[i] = `${batch.errors[i]}; sharp fallback failed: ${
          e instanceof Error ? e.message : e
        }`;
      }
    });
    return batch;
  }

  /** Closes the native decoder. Idempotent. */
  close(): void {
    this.#native.close();
  }
}
