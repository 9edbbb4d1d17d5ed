/**
 * `granularity: "sample"`: mixed batches assembled sample by sample from the
 * sources' image batches, in the scheduler's order. Each source holds at
 * most one partly used batch (returned to the budget as soon as its last
 * sample is copied); the mixed tensor is one buffer reserved in the shared
 * budget for the mix's whole life and reused batch after batch (a slab of
 * the mix's native pool when there is one, so the pool never holds more
 * than the cap and the Python bridge hands it over without a copy).
 *
 * @module
 */
import {
  type ImageBatch,
  ImageFolderLoader,
  type ImageFolderLoaderOptions,
} from "../loader/image_folder.ts";
import { pull, type Slot } from "./_slot.ts";
import type { MixScheduler } from "./scheduler.ts";
import type { SharedBudget } from "./shared_budget.ts";
import type { NativeBufferPool, Slab } from "../native/pool.ts";

/** A mixed image batch. */
export interface MixedImageBatch extends ImageBatch {
  /** Per sample: the index of its source. */
  sourceIds: BigInt64Array;
}

interface Partial {
  batch: ImageBatch;
  off: number;
}

/** Builds sample-granularity batches. */
export class SampleAssembler {
  readonly #slots: Slot[];
  readonly #B: number;
  readonly #budget: SharedBudget;
  readonly #hw: [number, number];
  readonly #float: boolean;
  readonly #plane: number;
  readonly #outBytes: number;
  #out?: Float32Array | Uint8Array;
  #slab?: Slab | null;
  readonly #pool: () => NativeBufferPool | undefined;
  #partials: (Partial | undefined)[];
  #closed = false;

  /**
   * Checks the sources and reserves the mixed tensor.
   *
   * @param slots The sources (image loaders with one `resizeHw` and dtype).
   * @param batchSize Samples per mixed batch.
   * @param budget The shared budget.
   * @param pool The mix's native pool, if any (the mixed tensor is a slab of it).
   * @throws {TypeError} When a source is not an image loader or shapes differ.
   * @throws {RangeError} When the cap cannot hold one batch per source plus the mixed one.
   */
  constructor(
    slots: Slot[],
    batchSize: number,
    budget: SharedBudget,
    pool: () => NativeBufferPool | undefined = () => undefined,
  ) {
    this.#slots = slots;
    this.#B = batchSize;
    this.#budget = budget;
    this.#pool = pool;
    const shape = sampleShape(slots, batchSize, budget.capBytes);
    this.#hw = shape.hw;
    this.#float = shape.float;
    this.#plane = shape.plane;
    this.#outBytes = shape.outBytes;
    budget.reserveNow(this.#outBytes);
    this.#partials = slots.map(() => undefined);
  }

  /** Always false: the sources decode their own batches. */
  readonly decoding = false;

  /**
   * Whether source `i` still holds unread samples.
   *
   * @param i Source index.
   * @returns True when its current batch has samples left.
   */
  hasSamples(i: number): boolean {
    const p = this.#partials[i];
    return p !== undefined && p.off < p.batch.sampleIds.length;
  }

  /**
   * Samples source `i` delivered to the mix that no mixed batch holds yet.
   *
   * @param i Source index.
   * @returns The count.
   */
  unread(i: number): number {
    const p = this.#partials[i];
    return p ? p.batch.sampleIds.length - p.off : 0;
  }

  /**
   * Assembles the next mixed batch.
   *
   * @param sched The consumer's scheduler (advanced per sample).
   * @param ranOut Called when a source has no batch left; true ends the mix.
   * @returns The batch, or null at the end.
   */
  async next(
    sched: MixScheduler,
    ranOut: (i: number) => Promise<boolean>,
  ): Promise<MixedImageBatch | null> {
    const B = this.#B, plane = this.#plane;
    const out = this.#out ??= this.#allocate();
    const ids = new BigInt64Array(B), labels = new BigInt64Array(B);
    const sources = new BigInt64Array(B);
    let k = 0;
    while (k < B) {
      const i = sched.peek();
      if (i < 0) break;
      const slot = this.#slots[i];
      let p = this.#partials[i];
      if (!p) {
        const b = await pull(slot) as ImageBatch | null;
        if (b === null) {
          if (await ranOut(i)) break;
          continue;
        }
        p = this.#partials[i] = { batch: b, off: 0 };
      }
      const { batch } = p;
      const len = batch.sampleIds.length;
      if (len > 0) {
        // Copy a run of consecutive samples of this source in one go.
        let run = 0;
        do {
          sched.next();
          ids[k + run] = batch.sampleIds[p.off + run];
          labels[k + run] = batch.labels[p.off + run];
          sources[k + run] = BigInt(i);
          run++;
        } while (k + run < B && p.off + run < len && sched.peek() === i);
        const src = batch.images.data;
        // Same dtype as `out` (checked in the constructor).
        (out as Uint8Array).set(
          (src as Uint8Array).subarray(p.off * plane, (p.off + run) * plane),
          k * plane,
        );
        slot.units += run;
        slot.samples += run;
        slot.bytes += run * plane * out.BYTES_PER_ELEMENT;
        k += run;
        p.off += run;
      }
      if (p.off >= len) {
        this.#partials[i] = undefined;
        slot.hooks.releaseHeld();
      }
    }
    this.#budget.consumed(sched.n);
    if (k === 0) return null;
    const [h, w] = this.#hw;
    return {
      images: {
        data: out.subarray(0, k * plane),
        shape: [k, 3, h, w],
        dtype: this.#float ? "float32" : "uint8",
      },
      labels: labels.subarray(0, k),
      sampleIds: ids.subarray(0, k),
      sourceIds: sources.subarray(0, k),
      release: () => {},
    };
  }

  /** The mixed tensor: a slab of the mix's pool (reserved already), else the heap. */
  #allocate(): Float32Array | Uint8Array {
    const n = this.#B * this.#plane;
    const slab = this.#slab = this.#pool()?.tryAcquire(this.#outBytes) ?? null;
    if (slab) return this.#float ? slab.float32(n) : slab.uint8(n);
    return this.#float ? new Float32Array(n) : new Uint8Array(n);
  }

  /** Returns the mixed tensor's reservation. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#slab?.release();
    this.#out = undefined;
    this.#budget.release(this.#outBytes);
  }
}

/** The one image shape every source of a sample mix has. */
export interface SampleShape {
  /** `[height, width]`. */
  hw: [number, number];
  /** float32 (true) or uint8. */
  float: boolean;
  /** Elements per image (`3 × h × w`). */
  plane: number;
  /** Bytes of one mixed batch's tensor. */
  outBytes: number;
}

/**
 * Checks that every source is an image loader with one `resizeHw` and
 * dtype, and that the cap holds one decoded batch per source plus the
 * mixed batch.
 *
 * @param slots The sources.
 * @param batchSize Samples per mixed batch.
 * @param capBytes The shared cap.
 * @returns The shape.
 * @throws {TypeError} When a source is not an image loader or shapes differ.
 * @throws {RangeError} When the cap cannot hold one batch per source plus the mixed one.
 */
export function sampleShape(
  slots: Slot[],
  batchSize: number,
  capBytes: number,
): SampleShape {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `mix: batchSizeSamples must be a positive integer, got ${batchSize}`,
    );
  }
  const shapes = slots.map((s) => {
    if (!(s.loader instanceof ImageFolderLoader)) {
      throw new TypeError(
        `mix: granularity "sample" needs image loaders (ImageFolderLoader / loader() with resizeHw); source "${s.name}" is a ${s.loader.constructor.name}: use granularity "batch"`,
      );
    }
    const o = s.hooks.options as ImageFolderLoaderOptions;
    return {
      hw: o.resizeHw ?? [224, 224] as [number, number],
      float: o.toFloat ?? true,
      batch: o.batchSizeSamples ?? 64,
    };
  });
  const first = shapes[0];
  shapes.forEach((x, i) => {
    if (
      x.hw[0] !== first.hw[0] || x.hw[1] !== first.hw[1] ||
      x.float !== first.float
    ) {
      throw new TypeError(
        `mix: granularity "sample" needs one resizeHw and dtype: source "${
          slots[i].name
        }" has [${x.hw}] ${x.float ? "float32" : "uint8"}, "${
          slots[0].name
        }" has [${first.hw}] ${first.float ? "float32" : "uint8"}`,
      );
    }
  });
  const plane = 3 * first.hw[0] * first.hw[1];
  const bpe = first.float ? 4 : 1;
  const outBytes = batchSize * plane * bpe;
  const need = outBytes +
    shapes.reduce((a, x) => a + x.batch * plane * bpe, 0);
  if (need > capBytes) {
    throw new RangeError(
      `mix: granularity "sample" holds one decoded batch per source plus the mixed batch (${need} bytes), ` +
        `more than maxInflightBytes ${capBytes}: raise maxInflightBytes or lower batchSizeSamples`,
    );
  }
  return { hw: first.hw, float: first.float, plane, outBytes };
}
