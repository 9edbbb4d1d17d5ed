/**
 * Batched JPEG decode + resize + normalize into pool slabs (native backend).
 *
 * @module
 */

import type {
  DecodedBatch,
  DecodeOptions,
  ImageDecoder,
  WorkingMemory,
} from "../decode/types.ts";
import { normalizeDecodeOptions } from "../decode/types.ts";
import type { ImageHeader } from "../decode/image_header.ts";
import { probeImageHeader } from "../decode/probe.ts";
import { nativeWorkingMemory } from "../decode/working_memory.ts";
import type { NativeLibrary } from "./ffi.ts";
import { readMessage, Status, unwrap } from "./errors.ts";
import { requireNativeLibrary } from "./library.ts";
import { NativeBufferPool, type Slab } from "./pool.ts";

/** Default capacity of a decoder-owned pool: 256 MiB. */
export const DEFAULT_POOL_CAPACITY_BYTES: number = 256 * 1048576;

const SAMPLE_ERROR_STRIDE = 256;
const ERR_CAP = 1024;
const FLAG_FAST_DCT = 1;
const FLAG_ANY_SCALE = 2;

/** Options for {@linkcode NativeDecoder}. */
export interface NativeDecoderOptions {
  /** Pool to take output slabs from (shared budget); default: an owned pool. */
  pool?: NativeBufferPool;
  /** Capacity of the owned pool when `pool` is not given. Default 256 MiB. */
  poolCapacityBytes?: number;
  /** Decode threads per batch; 0 = one per core. Default 0. */
  threads?: number;
  /** Use libjpeg-turbo's fast integer IDCT (slightly less accurate). Default false. */
  fastDct?: boolean;
  /**
   * Allow every DCT-domain scaling factor n/8 when shrinking on decode, not
   * only 1/2, 1/4, 1/8. Default false: on libjpeg-turbo 2.1 / x86-64 the
   * other factors use scalar IDCTs and are slower than a full decode.
   */
  anyScale?: boolean;
  /** An already opened library. */
  library?: NativeLibrary;
}

/** Per-call options of {@linkcode NativeDecoder.decodeBatch}. */
export interface NativeDecodeOptions extends DecodeOptions {
  /** Overrides the decoder's thread count for this call. */
  threads?: number;
}

/** Result of {@linkcode NativeDecoder.decodeOnly}. */
export interface DecodeOnlyResult {
  /** Total decoded pixels. */
  pixels: number;
  /** Per-sample `Mx8Status` codes. */
  statuses: Uint32Array;
}

/**
 * A decoded batch living in a native pool slab (zero-copy views). Also
 * exposes per-sample status codes.
 */
export class NativeDecodedBatch implements DecodedBatch {
  /** Tensor data `[B, 3, H, W]` (empty after release). */
  data: Float32Array | Uint8Array;
  /** `[B, 3, H, W]`. */
  readonly shape: [number, number, number, number];
  /** Element type. */
  readonly dtype: "float32" | "uint8";
  /** Per-sample error text, `null` = ok. */
  readonly errors: (string | null)[];
  /** Per-sample `Mx8Status` codes (see `Status`). */
  readonly statuses: Uint32Array;
  /** Bytes held in the pool. */
  readonly bytes: number;
  #slab: Slab;

  /**
   * Wraps a decoded slab (used by {@linkcode NativeDecoder}).
   *
   * @param slab The slab holding the tensor (now owned by the batch).
   * @param shape `[B, 3, H, W]`.
   * @param dtype Element type.
   * @param statuses Per-sample status codes.
   * @param errors Per-sample error text.
   */
  constructor(
    slab: Slab,
    shape: [number, number, number, number],
    dtype: "float32" | "uint8",
    statuses: Uint32Array,
    errors: (string | null)[],
  ) {
    this.#slab = slab;
    this.shape = shape;
    this.dtype = dtype;
    this.statuses = statuses;
    this.errors = errors;
    const elements = shape[0] * shape[1] * shape[2] * shape[3];
    this.bytes = slab.byteLength;
    this.data = dtype === "float32"
      ? slab.float32(elements)
      : slab.uint8(elements);
  }

  /** Whether the slab was released. */
  get released(): boolean {
    return this.#slab.released;
  }

  /** Returns the slab to the pool; `data` becomes empty. Idempotent. */
  release(): void {
    this.#slab.release();
    this.data = this.dtype === "float32"
      ? new Float32Array(0)
      : new Uint8Array(0);
  }

  /** Same as {@linkcode NativeDecodedBatch.release}. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * Packs images into one payload plus `B + 1` u64 offsets. Images that are
 * already back to back in one buffer (a loader batch's payload) are used in
 * place: no second copy of the compressed bytes.
 */
function pack(
  images: Uint8Array[],
): { payload: Uint8Array; offsets: BigUint64Array } {
  const inPlace = contiguous(images);
  if (inPlace) return inPlace;
  let total = 0;
  for (const img of images) total += img.byteLength;
  // Explicit ArrayBuffers are always off the V8 heap, so their addresses are
  // stable while a nonblocking call reads them.
  const payload = new Uint8Array(new ArrayBuffer(Math.max(total, 1)), 0, total);
  const offsets = new BigUint64Array(new ArrayBuffer((images.length + 1) * 8));
  let at = 0;
  images.forEach((img, i) => {
    offsets[i] = BigInt(at);
    payload.set(img, at);
    at += img.byteLength;
  });
  offsets[images.length] = BigInt(at);
  return { payload, offsets };
}

/** The images as one view plus offsets, when they are back to back in one buffer. */
function contiguous(
  images: Uint8Array[],
): { payload: Uint8Array; offsets: BigUint64Array } | null {
  if (images.length === 0) return null;
  const buf = images[0].buffer;
  const start = images[0].byteOffset;
  let at = start;
  for (const img of images) {
    if (img.buffer !== buf || img.byteOffset !== at) return null;
    at += img.byteLength;
  }
  const offsets = new BigUint64Array(new ArrayBuffer((images.length + 1) * 8));
  images.forEach((img, i) => offsets[i] = BigInt(img.byteOffset - start));
  offsets[images.length] = BigInt(at - start);
  return { payload: new Uint8Array(buf, start, at - start), offsets };
}

/**
 * The images as one payload plus a (start, end) u64 span per image. Images
 * that all view one buffer (a loader batch's payload, even with a sample
 * replaced by an empty view because it is refused) are used in place: the
 * payload is the buffer's range they cover, and empty images get an empty
 * span wherever they are. Otherwise they are packed into one copy.
 *
 * @param images Compressed images.
 * @returns The payload (not copied when possible) and `2 × B` span ends.
 *
 * @example A refused (emptied) sample between two others: no copy
 * ```ts
 * import { packSpans } from "./decoder.ts";
 * import assert from "node:assert/strict";
 * const buf = new Uint8Array(new ArrayBuffer(300));
 * const images = [buf.subarray(0, 100), buf.subarray(100, 100), buf.subarray(200, 300)];
 * const { payload, spans } = packSpans(images);
 * assert.equal(payload.buffer, buf.buffer);
 * assert.deepEqual([...spans], [0n, 100n, 0n, 0n, 200n, 300n]);
 * ```
 */
export function packSpans(
  images: Uint8Array[],
): { payload: Uint8Array; spans: BigUint64Array } {
  const spans = new BigUint64Array(
    new ArrayBuffer(Math.max(1, images.length) * 16),
    0,
    images.length * 2,
  );
  const used = images.filter((img) => img.byteLength > 0);
  const buf = used[0]?.buffer;
  // Off-heap, fixed-size buffers only: anything else is copied for the
  // nonblocking call anyway (stableCopy), so copy just the images.
  if (
    buf instanceof ArrayBuffer && !buf.resizable &&
    used.every((img) => img.buffer === buf)
  ) {
    const start = Math.min(...used.map((img) => img.byteOffset));
    const end = Math.max(...used.map((img) => img.byteOffset + img.byteLength));
    images.forEach((img, i) => {
      if (img.byteLength === 0) return; // (0, 0)
      spans[2 * i] = BigInt(img.byteOffset - start);
      spans[2 * i + 1] = BigInt(img.byteOffset - start + img.byteLength);
    });
    return { payload: new Uint8Array(buf, start, end - start), spans };
  }
  const { payload, offsets } = pack(images);
  images.forEach((_, i) => {
    spans[2 * i] = offsets[i];
    spans[2 * i + 1] = offsets[i + 1];
  });
  return { payload, spans };
}

/**
 * The native (Rust + libjpeg-turbo) JPEG batch decoder. Each batch is
 * decoded on `threads` native threads (off the JS event loop) straight into
 * one pool slab as NCHW; non-JPEG inputs fail per sample with status
 * `NotJpeg` (the `auto` backend re-decodes those with sharp).
 *
 * @example
 * ```ts ignore
 * using decoder = new NativeDecoder({ threads: 2 });
 * using batch = await decoder.decodeBatch(jpegs, { height: 224, width: 224 });
 * console.log(batch.shape, batch.errors);
 * ```
 */
export class NativeDecoder implements ImageDecoder {
  /** Always `"native"`. */
  readonly name = "native" as const;
  #library: NativeLibrary;
  #pool: NativeBufferPool;
  #ownsPool: boolean;
  #threads: number;
  #flags: number;
  #closed = false;

  /**
   * Opens the library (unless given) and creates or adopts the pool.
   *
   * @param options Pool, threads and IDCT choice.
   * @throws {NativeLibraryUnavailableError} If the library cannot be loaded.
   * @throws {RangeError} On a negative or non-integer thread count.
   */
  constructor(options: NativeDecoderOptions = {}) {
    const { threads = 0 } = options;
    checkThreads(threads);
    this.#library = options.library ?? requireNativeLibrary();
    this.#ownsPool = !options.pool;
    this.#pool = options.pool ??
      new NativeBufferPool(
        options.poolCapacityBytes ?? DEFAULT_POOL_CAPACITY_BYTES,
        {
          library: this.#library,
        },
      );
    this.#threads = threads;
    this.#flags = (options.fastDct ? FLAG_FAST_DCT : 0) |
      (options.anyScale ? FLAG_ANY_SCALE : 0);
  }

  /** The pool output slabs come from. */
  get pool(): NativeBufferPool {
    return this.#pool;
  }

  /** Images decoded at once per batch: the thread count (0 = one per core). */
  get concurrency(): number {
    return this.#threads || (navigator.hardwareConcurrency ?? 1);
  }

  /**
   * Upper bound of the memory the native decoder needs to decode `image`
   * (beyond the output tensor), from its header.
   *
   * @param image Compressed bytes.
   * @param opts Target size and pixel limit.
   * @returns The bound and what the image is.
   */
  async workingMemory(
    image: Uint8Array,
    opts: DecodeOptions,
  ): Promise<WorkingMemory> {
    return this.workingMemoryOf(await probeImageHeader(image), opts);
  }

  /**
   * {@linkcode NativeDecoder.workingMemory} for an image whose header is
   * already read (`null`: no decoder reads it).
   *
   * @param header The header.
   * @param opts Target size and pixel limit.
   * @returns The bound and what the image is.
   */
  workingMemoryOf(
    header: ImageHeader | null,
    opts: DecodeOptions,
  ): WorkingMemory {
    const { height, width, maxPixels } = normalizeDecodeOptions(opts);
    return nativeWorkingMemory(header, {
      height,
      width,
      maxPixels,
      anyScale: (this.#flags & FLAG_ANY_SCALE) !== 0,
    });
  }

  /**
   * Decodes `images` to `[B, 3, height, width]`.
   *
   * @param images Compressed JPEG bytes, one per sample.
   * @param opts Size, dtype, max-pixels, threads, abort signal.
   * @returns The batch (release it when done).
   * @throws {RangeError} On bad options or a batch larger than the pool.
   * @throws {NativeError} When the library rejects the batch as a whole.
   */
  decodeBatch(
    images: Uint8Array[],
    opts: NativeDecodeOptions,
  ): Promise<NativeDecodedBatch> {
    const { payload, spans } = packSpans(images);
    return this.#decodeSpans(payload, spans, opts);
  }

  /**
   * Like {@linkcode NativeDecoder.decodeBatch} for samples already packed
   * in one buffer: sample `i` is `payload[offsets[i]..offsets[i + 1]]`.
   *
   * @param payload The packed bytes.
   * @param offsets `B + 1` offsets.
   * @param opts As for `decodeBatch`.
   * @returns The batch.
   * @throws {RangeError} On bad options or offsets, or a batch larger than
   * the pool.
   * @throws {NativeError} When the library rejects the batch.
   */
  decodePacked(
    payload: Uint8Array,
    offsets: ArrayLike<number | bigint>,
    opts: NativeDecodeOptions,
  ): Promise<NativeDecodedBatch> {
    const count = offsets.length - 1;
    if (count < 0) {
      return Promise.reject(
        new RangeError("Invalid offsets: need at least one entry"),
      );
    }
    const spans = new BigUint64Array(new ArrayBuffer(Math.max(1, count) * 16));
    for (let i = 0; i < count; i++) {
      const a = BigInt(offsets[i]), b = BigInt(offsets[i + 1]);
      if (a > b || b > BigInt(payload.byteLength)) {
        return Promise.reject(
          new RangeError(
            `Invalid offsets: offsets[${i}]=${a}..offsets[${
              i + 1
            }]=${b} out of order or past payload length ${payload.byteLength}`,
          ),
        );
      }
      spans[2 * i] = a;
      spans[2 * i + 1] = b;
    }
    return this.#decodeSpans(payload, spans.subarray(0, 2 * count), opts);
  }

  /** Decodes sample `i` = `payload[spans[2i]..spans[2i + 1]]`. */
  async #decodeSpans(
    payload: Uint8Array,
    spans: BigUint64Array,
    opts: NativeDecodeOptions,
  ): Promise<NativeDecodedBatch> {
    if (this.#closed) throw new TypeError("NativeDecoder is closed");
    const { height, width, toFloat, maxPixels, signal, concurrency } =
      normalizeDecodeOptions(opts);
    let threads = opts.threads ?? this.#threads;
    if (concurrency !== undefined) {
      threads = Math.min(
        threads || (navigator.hardwareConcurrency ?? 1),
        concurrency,
      );
    }
    checkThreads(threads);
    const count = spans.length / 2;
    // Never zero-length: a 0-byte view may be passed as NULL.
    const offs = new BigUint64Array(new ArrayBuffer(Math.max(1, count) * 16));
    offs.set(spans);
    const dtype = toFloat ? "float32" : "uint8";
    const bytes = Math.max(1, count * 3 * height * width * (toFloat ? 4 : 1));
    const slab = await this.#pool.acquire(bytes, { signal });
    try {
      // Never zero-length: a 0-byte view may be passed as NULL.
      const statusBuf = new Uint32Array(
        new ArrayBuffer(Math.max(1, count) * 4),
      );
      const sampleErrors = new Uint8Array(
        new ArrayBuffer(Math.max(1, count) * SAMPLE_ERROR_STRIDE),
      );
      const err = new Uint8Array(new ArrayBuffer(ERR_CAP));
      const input = stableCopy(payload);
      const pin = [input, offs, statusBuf, sampleErrors, err];
      pinned.add(pin);
      const status = await this.#library.symbols.mx8_decode_spans(
        input,
        BigInt(input.byteLength),
        offs,
        BigInt(count),
        height,
        width,
        toFloat ? 0 : 1,
        threads,
        BigInt(maxPixels),
        this.#flags,
        slab.handle(),
        statusBuf,
        sampleErrors,
        BigInt(SAMPLE_ERROR_STRIDE),
        err,
        BigInt(ERR_CAP),
      ).finally(() => pinned.delete(pin));
      unwrap(status, err);
      const statuses = statusBuf.subarray(0, count);
      const errors = Array.from(
        statuses,
        (s, i) =>
          s === Status.Ok ? null : readMessage(
            sampleErrors.subarray(
              i * SAMPLE_ERROR_STRIDE,
              (i + 1) * SAMPLE_ERROR_STRIDE,
            ),
          ),
      );
      return new NativeDecodedBatch(
        slab,
        [count, 3, height, width],
        dtype,
        statuses,
        errors,
      );
    } catch (e) {
      slab.release();
      throw e;
    }
  }

  /**
   * Full-size decode to RGB with no resize, pixels discarded: the
   * libjpeg-turbo ceiling used by the benchmark.
   *
   * @param images Compressed JPEG bytes.
   * @param opts Threads and max-pixels.
   * @returns Pixel count and per-sample statuses.
   * @throws {NativeError} When the library rejects the batch.
   */
  async decodeOnly(
    images: Uint8Array[],
    opts: { threads?: number; maxPixels?: number } = {},
  ): Promise<DecodeOnlyResult> {
    if (this.#closed) throw new TypeError("NativeDecoder is closed");
    const threads = opts.threads ?? this.#threads;
    checkThreads(threads);
    const { payload, offsets } = pack(images);
    const statusBuf = new Uint32Array(
      new ArrayBuffer(Math.max(1, images.length) * 4),
    );
    const pixels = new BigUint64Array(new ArrayBuffer(8));
    const err = new Uint8Array(new ArrayBuffer(ERR_CAP));
    const pin = [payload, offsets, statusBuf, pixels, err];
    pinned.add(pin);
    const status = await this.#library.symbols.mx8_decode_only(
      payload,
      BigInt(payload.byteLength),
      offsets,
      BigInt(images.length),
      threads,
      BigInt(opts.maxPixels ?? 0),
      this.#flags,
      statusBuf,
      pixels,
      err,
      BigInt(ERR_CAP),
    ).finally(() => pinned.delete(pin));
    unwrap(status, err);
    return {
      pixels: Number(pixels[0]),
      statuses: statusBuf.subarray(0, images.length),
    };
  }

  /** Closes the owned pool (a shared pool is left open). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsPool) this.#pool.close();
  }

  /** Same as {@linkcode NativeDecoder.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

// Buffers read by in-flight nonblocking calls. Deno does not retain the
// buffers it passes to a nonblocking call, so they are pinned here until the
// native side is done with them.
const pinned = new Set<object>();

function checkThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 0 || threads > 1024) {
    throw new RangeError(
      `Invalid threads: "${threads}" must be an integer in 0..1024`,
    );
  }
}

/**
 * Returns `bytes` itself when it is safe to hand to a nonblocking call
 * (an off-heap, non-shared, non-resizable buffer), else an off-heap copy.
 */
function stableCopy(bytes: Uint8Array): Uint8Array {
  const buf = bytes.buffer;
  if (buf instanceof ArrayBuffer && !buf.resizable && bytes.byteLength >= 64) {
    return bytes;
  }
  const copy = new Uint8Array(
    new ArrayBuffer(Math.max(1, bytes.byteLength)),
    0,
    bytes.byteLength,
  );
  copy.set(bytes);
  return copy;
}
