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
import type { LoaderOptions } from "./options.ts";
import type { Built } from "./pipeline.ts";
import type { NativeBufferPool } from "../native/pool.ts";

/**
 * Internal option key: a function returning the native pool decoded tensors
 * are written into (the Python bridge passes a pool over shared memory).
 * Its capacity must be the loader's `maxInflightBytes`.
 */
export const DECODE_POOL: unique symbol = Symbol("mx8.decodePool");

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
  /** `error` (default): a bad image stops the loader naming it; `skip`: drop it and count it. */
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
 * ```ts
 * import { ImageFolderLoader, openManifestStore } from "jsr:@mx8/runtime";
 * import sharp from "sharp";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * for (const cls of ["a", "b"]) {
 *   await Deno.mkdir(`${dir}/train/${cls}`, { recursive: true });
 *   const jpeg = await sharp({
 *     create: { width: 40, height: 30, channels: 3, background: "#808080" },
 *   }).jpeg().toBuffer();
 *   await Deno.writeFile(`${dir}/train/${cls}/0.jpg`, jpeg);
 * }
 * await using loader = new ImageFolderLoader(`${dir}/train@refresh`, {
 *   batchSizeSamples: 64, resizeHw: [16, 16],
 *   maxInflightBytes: 16 * 2 ** 20, maxQueueBatches: 8, prefetchBatches: 4,
 *   manifestStore: openManifestStore(`${dir}/store`),
 *   log: () => {},
 * });
 * for await (const { images, labels, sampleIds } of loader) {
 *   assert.deepEqual(images.shape, [2, 3, 16, 16]);
 *   assert.deepEqual([...labels], [0n, 1n]);
 *   assert.deepEqual([...sampleIds], [0n, 1n]);
 *   assert.ok(Math.abs(images.data[0] - 128 / 255) < 0.02);
 * }
 * assert.deepEqual(loader.classes, ["a", "b"]);
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
    super(link, options);
    this.#opts = options;
    this.#hw = options.resizeHw ?? [224, 224];
    for (const v of this.#hw) {
      if (!Number.isSafeInteger(v) || v < 1) {
        throw new RangeError(
          `resizeHw must be two positive integers, got ${
            JSON.stringify(options.resizeHw)
          }`,
        );
      }
    }
  }

  /** @inheritdoc */
  protected get decodeBackend(): string {
    return this.#decoder?.name ?? "";
  }

  /** @inheritdoc */
  protected override onOpen(): Promise<void> {
    const pool =
      (this.#opts as { [DECODE_POOL]?: () => NativeBufferPool | undefined })[
        DECODE_POOL
      ]?.();
    this.#decoder = createDecoder({
      backend: this.#opts.decodeBackend ?? "auto",
      threads: this.#opts.decodeThreads,
      poolCapacityBytes: this.budget.capBytes,
      pool,
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
      if ((this.#opts.onDecodeError ?? "error") === "error") {
        throw new DecodeError(id, ctx.segment.row(id).location, e);
      }
      this.decodeErrorsSkipped++;
    });
    return keep;
  }
}
