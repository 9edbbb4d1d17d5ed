/**
 * `ImageFolderLoader`: decoded image batches (NCHW float32 in [0,1], or
 * uint8) with labels from the dataset's class folders.
 *
 * @module
 */
import { Mx8Error } from "../errors.ts";
import { createDecoder } from "../decode/select.ts";
import type { DecodedBatch, ImageDecoder } from "../decode/types.ts";
import { BaseLoader, type BuildContext, type Fetched } from "./base_loader.ts";
import type { UndecodedImageBatch } from "./undecoded_images.ts";
import { planDecodeReservation } from "./decode_reservation.ts";
import { type LoaderOptions, validateImageOptions } from "./options.ts";
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
   * @param fix What to do (default: fix or remove the file, or skip).
   */
  constructor(
    sampleId: number,
    location: string,
    reason: string,
    fix = `fix or remove the file, or pass onDecodeError: "skip"`,
  ) {
    super(`cannot decode sample ${sampleId} (${location}): ${reason}; ${fix}`);
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
    const pool =
      (this.#opts as { [DECODE_POOL]?: () => NativeBufferPool | undefined })[
        DECODE_POOL
      ]?.();
    this.#decoder = this.sharedDecoder ?? createDecoder({
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
    const decoder = this.#decoder!;
    const opts = {
      height: h,
      width: w,
      toFloat,
      maxPixels: this.#opts.maxPixels,
    };
    let images: Uint8Array[] = [];
    let work = { bytes: 0, concurrency: 1 };
    let pixelLimits: number[] = [];
    const refused = new Map<number, string>();
    // Each image's decode working memory, known from its header, is
    // reserved with the batch before the next batch reserves anything; the
    // decoder is held to the pixels each reservation assumed.
    const f = await ctx.fetch(tensorBytes, async (payload, offsets) => {
      images = Array.from(
        ctx.ids,
        (_, i) => payload.subarray(offsets[i], offsets[i + 1]),
      );
      const needs = await Promise.all(
        images.map((img) => decoder.workingMemory(img, opts)),
      );
      pixelLimits = needs.map((n) => n.pixels);
      const held = payload.byteLength + tensorBytes;
      const cap = this.budget.capBytes;
      const plan = planDecodeReservation({
        needs: needs.map((n) => n.bytes),
        heldBytes: held,
        capBytes: cap,
        concurrency: decoder.concurrency,
      });
      for (const i of plan.refused) {
        refused.set(i, tooLargeToDecode(needs[i], held, cap, opts.maxPixels));
        images[i] = payload.subarray(offsets[i], offsets[i]); // not decoded
      }
      work = plan;
      return plan.bytes;
    });
    if (this.undecoded) {
      return this.#undecodedBatch(ctx, f, images, work, refused, pixelLimits);
    }
    let decoded: DecodedBatch;
    try {
      decoded = await decoder.decodeBatch(images, {
        ...opts,
        concurrency: work.concurrency,
        pixelLimits,
        signal: ctx.signal,
      });
    } catch (err) {
      f.freePayload();
      f.release();
      throw err;
    }
    // Compressed bytes and decode memory are no longer needed: keep only
    // the tensor's share.
    f.freePayload();
    f.release(work.bytes);
    for (const [i, why] of refused) decoded.errors[i] = why;
    const release = () => {
      decoded.release();
      f.release();
    };
    try {
      const keep = this.#checkErrors(ctx, decoded, refused);
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

  /**
   * The batch as its compressed samples for a mix that decodes them itself
   * (it holds the whole reservation until the mix says they are decoded).
   */
  #undecodedBatch(
    ctx: BuildContext,
    f: Fetched,
    images: Uint8Array[],
    work: { bytes: number; concurrency: number },
    refused: Map<number, string>,
    pixelLimits: number[],
  ): Built<ImageBatch> {
    try {
      if (refused.size > 0) {
        // Under onDecodeError "error" (the mix decodes only then) this throws.
        this.#checkErrors(ctx, {
          errors: images.map((_, i) => refused.get(i) ?? null),
        }, refused);
      }
    } catch (err) {
      f.freePayload();
      f.release();
      throw err;
    }
    let decodedDone = false;
    const release = () => f.release();
    const value: UndecodedImageBatch = {
      undecoded: true,
      images,
      pixelLimits,
      concurrency: work.concurrency,
      labels: BigInt64Array.from(
        ctx.ids,
        (id) => BigInt(ctx.segment.label(id)),
      ),
      sampleIds: BigInt64Array.from(ctx.ids, (id) => BigInt(id)),
      location: (k) => ctx.segment.row(ctx.ids[k]).location,
      decoded: () => {
        if (decodedDone) return;
        decodedDone = true;
        f.freePayload();
        f.release(work.bytes);
      },
      release,
    };
    return { value: value as unknown as ImageBatch, release };
  }

  #checkErrors(
    ctx: BuildContext,
    decoded: Pick<DecodedBatch, "errors">,
    refused: Map<number, string>,
  ): number[] {
    const keep: number[] = [];
    decoded.errors.forEach((e, i) => {
      if (e === null) {
        keep.push(i);
        return;
      }
      const id = ctx.ids[i];
      const location = ctx.segment.row(id).location;
      if ((this.#opts.onDecodeError ?? "error") === "error") {
        throw new DecodeError(
          id,
          location,
          e,
          refused.has(i)
            ? `raise maxInflightBytes, lower maxPixels to refuse such images, or pass onDecodeError: "skip"`
            : undefined,
        );
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

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

/** Why a sample is refused: its decode cannot fit under the cap. */
function tooLargeToDecode(
  need: { bytes: number; image: string },
  heldBytes: number,
  capBytes: number,
  maxPixels: number | undefined,
): string {
  return `decoding this ${need.image} needs ${mib(need.bytes)} of working ` +
    `memory, and with its batch's ${mib(heldBytes)} (compressed payload + ` +
    `output tensor) that exceeds maxInflightBytes ${capBytes} ` +
    `(${mib(capBytes)}); it needs maxInflightBytes ≥ ${
      heldBytes + need.bytes
    }` + (maxPixels === undefined ? "" : ` (maxPixels is ${maxPixels})`);
}
