/**
 * `ImageFolderLoader`: decoded image batches (NCHW float32 in [0,1], or
 * uint8) with labels from the dataset's class folders.
 *
 * @module
 */
import { Mx8Error } from "../errors.ts";
import { createDecoder } from "../decode/select.ts";
import type { DecodedBatch, ImageDecoder } from "../decode/types.ts";
import { BaseLoader, type BuildContext } from "./base_loader.ts";
import { type LoaderOptions, validateImageOptions } from "./options.ts";
import type { Built } from "./pipeline.ts";

/** Options of {@linkcode ImageFolderLoader}. */
export interface ImageFolderLoaderOptions extends LoaderOptions {
  /** Output `[height, width]` (default `[224, 224]`). */
  resizeHw?: [number, number];
  /** `true` (default): float32 in [0,1]; `false`: uint8 in [0,255]. */
  toFloat?: boolean;
  /** `native` (libjpeg-turbo via FFI), `sharp`, or `auto` (default: native when built). */
  decodeBackend?: "native" | "sharp" | "auto";
  /** Decoder threads (native; default: cores). */
  decodeThreads?: number;
  /**
   * `error` (default): a bad image stops the loader naming it; `skip`: drop
   * it, count it (`stats().decodeErrorsSkippedTotal`) and log a
   * `decode_error_skipped` event naming its id, location and reason. A batch
   * whose every sample was skipped is not delivered (its ids still count as
   * done for checkpoints and progress).
   */
  onDecodeError?: "error" | "skip";
  /** Decompression-bomb guard in pixels (default 100 MP). */
  maxPixels?: number;
}

/** A decoded image tensor. */
export interface ImageTensor {
  /** Row-major `[B, 3, H, W]` values. */
  data: Float32Array | Uint8Array;
  /** `[B, 3, H, W]`. */
  shape: [number, number, number, number];
  /** Element type. */
  dtype: "float32" | "uint8";
}

/** One batch of decoded images. */
export interface ImageBatch {
  /** The images. With the native decoder `data` views pool memory reused after release. */
  images: ImageTensor;
  /** Label id per image (`-1` when the dataset is unlabeled). */
  labels: BigInt64Array;
  /** Manifest sample id per image. */
  sampleIds: BigInt64Array;
  /** Returns the batch's memory now (else on the next iteration). Idempotent. */
  release(): void;
}

/** A sample failed to decode under `onDecodeError: "error"`. */
export class DecodeError extends Mx8Error {
  /** The sample id. */
  readonly sampleId: number;
  /** Where its bytes came from. */
  readonly location: string;

  /**
   * Creates the error.
   *
   * @param sampleId Sample id.
   * @param location Row location.
   * @param reason Decoder message.
   */
  constructor(sampleId: number, location: string, reason: string) {
    super(
      `cannot decode sample ${sampleId} (${location}): ${reason}; ` +
        `fix or remove the file, or pass onDecodeError: "skip"`,
    );
    this.name = "DecodeError";
    this.sampleId = sampleId;
    this.location = location;
  }
}

/**
 * Reads an image dataset as decoded, resized NCHW batches under a hard memory cap.
 *
 * @example Train-style loop
 * ```ts ignore
 * import { ImageFolderLoader } from "@mx8/runtime";
 *
 * await using loader = new ImageFolderLoader("/data/train@refresh", {
 *   batchSizeSamples: 64, resizeHw: [224, 224],
 *   maxInflightBytes: 256 * 2 ** 20, maxQueueBatches: 8, prefetchBatches: 4,
 * });
 * for await (const { images, labels, sampleIds } of loader) {
 *   console.log(images.shape, labels.length, sampleIds[0]);
 * }
 * console.log(loader.classes, loader.stats().ramHighWaterBytes);
 * ```
 */
export class ImageFolderLoader extends BaseLoader<ImageBatch> {
  #opts: ImageFolderLoaderOptions;
  #decoder?: ImageDecoder;
  #hw: [number, number];

  /**
   * Creates a loader; nothing is read until the first batch.
   *
   * @param link Dataset link.
   * @param options Loader and decode options.
   */
  constructor(link: string, options: ImageFolderLoaderOptions = {}) {
    super(link, validateImageOptions(options));
    this.#opts = options;
    this.#hw = options.resizeHw ?? [224, 224];
  }

  /** @inheritdoc */
  protected get decodeBackend(): string {
    return this.#decoder?.name ?? "";
  }

  /** @inheritdoc */
  protected override onOpen(): Promise<void> {
    this.#decoder = createDecoder({
      backend: this.#opts.decodeBackend ?? "auto",
      threads: this.#opts.decodeThreads,
      poolCapacityBytes: this.budget.capBytes,
    });
    return Promise.resolve();
  }

  /** @inheritdoc */
  protected override onClose(): Promise<void> {
    this.#decoder?.close();
    return Promise.resolve();
  }

  /** @inheritdoc */
  protected async buildBatch(ctx: BuildContext): Promise<Built<ImageBatch>> {
    const [h, w] = this.#hw;
    const toFloat = this.#opts.toFloat ?? true;
    const tensorBytes = ctx.ids.length * 3 * h * w * (toFloat ? 4 : 1);
    const f = await ctx.fetch(tensorBytes);
    let decoded: DecodedBatch;
    try {
      const images = Array.from(
        ctx.ids,
        (_, i) => f.payload.subarray(f.offsets[i], f.offsets[i + 1]),
      );
      decoded = await this.#decoder!.decodeBatch(images, {
        height: h,
        width: w,
        toFloat,
        maxPixels: this.#opts.maxPixels,
        signal: ctx.signal,
      });
    } catch (err) {
      f.release();
      throw err;
    }
    // Compressed bytes are no longer needed: keep only the tensor's share.
    f.release(f.reservedBytes - tensorBytes);
    const release = () => {
      decoded.release();
      f.release();
    };
    try {
      const keep = this.#checkErrors(ctx, decoded);
      const plane = 3 * h * w;
      let data = decoded.data;
      if (keep.length !== ctx.ids.length) {
        keep.forEach((src, dst) => {
          if (src !== dst) {
            data.copyWithin(dst * plane, src * plane, (src + 1) * plane);
          }
        });
        data = data.subarray(0, keep.length * plane);
      }
      const value: ImageBatch = {
        images: { data, shape: [keep.length, 3, h, w], dtype: decoded.dtype },
        labels: BigInt64Array.from(
          keep,
          (i) => BigInt(ctx.segment.label(ctx.ids[i])),
        ),
        sampleIds: BigInt64Array.from(keep, (i) => BigInt(ctx.ids[i])),
        release,
      };
      return { value, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  #checkErrors(ctx: BuildContext, decoded: DecodedBatch): number[] {
    const keep: number[] = [];
    decoded.errors.forEach((e, i) => {
      if (e === null) {
        keep.push(i);
        return;
      }
      const id = ctx.ids[i];
      const location = ctx.segment.row(id).location;
      if ((this.#opts.onDecodeError ?? "error") === "error") {
        throw new DecodeError(id, location, e);
      }
      this.decodeErrorsSkipped++;
      this.logEvent("decode_error_skipped", {
        sample_id: id,
        location,
        reason: e,
      });
    });
    return keep;
  }
}
