/**
 * `granularity: "sample"` without a copy: the sources fetch their batches
 * and reserve them as usual (payload, tensor, decode working memory) but
 * deliver them undecoded; the mix takes each mixed batch's compressed
 * samples in the scheduler's order and decodes them in one call straight
 * into the mixed batch's tensor (one slab of the shared pool), as one
 * loader decodes its batch. Mixed batches are composed and decoded up to
 * `depth` ahead of the consumer.
 *
 * Memory: every decoded sample sits in a mixed batch whose source batch
 * still holds its reservation (a source batch is returned only when the
 * consumer released the last mixed batch holding one of its samples), so
 * the decoded tensors never exceed what the shared budget granted.
 *
 * Order and state: the scheduler is advanced as batches are composed; the
 * consumer's position (checkpoint, stats) is a copy taken per delivered
 * batch. A source that runs out is handled only once the consumer has
 * taken every batch composed before, so restarts, drops and the error
 * surface exactly where they do without look-ahead.
 *
 * @module
 */
import { DecodeError } from "../loader/image_folder.ts";
import type { DecodedBatch, ImageDecoder } from "../decode/types.ts";
import {
  isUndecoded,
  type UndecodedImageBatch,
} from "../loader/undecoded_images.ts";
import { pull, type Slot } from "./_slot.ts";
import type { MixScheduler } from "./scheduler.ts";
import type { SharedBudget } from "./shared_budget.ts";
import type { MixedImageBatch, SampleShape } from "./sample_assembler.ts";

/** One source batch the mix holds (until its samples are delivered and released). */
interface Held {
  slot: number;
  batch: UndecodedImageBatch;
  /** Next sample to place in a mixed batch. */
  off: number;
  /** Placed samples whose decode has not finished. */
  decoding: number;
  /** Samples not yet delivered to the consumer. */
  undelivered: number;
  /** Samples whose mixed batch the consumer has not released. */
  unreleased: number;
  /** Returns the batch's reservation and reports it done. */
  release: () => void;
}

/** A run of consecutive samples of one source batch in a mixed batch. */
interface Part {
  held: Held;
  /** Offset of the run's first sample in its source batch. */
  from: number;
  run: number;
}

/** A composed mixed batch, decoding. */
interface Composed {
  ids: BigInt64Array;
  labels: BigInt64Array;
  sources: BigInt64Array;
  parts: Part[];
  /** The scheduler after this batch (the consumer's position once delivered). */
  after: MixScheduler;
  decoded: Promise<DecodedBatch>;
}

type Entry = Composed | null | { failed: unknown };

/** Options of {@linkcode DirectAssembler}. */
export interface DirectAssemblerOptions {
  /** The sources (image loaders delivering undecoded batches). */
  slots: Slot[];
  /** Samples per mixed batch. */
  batchSize: number;
  /** Shape every source has (see `sampleShape`). */
  shape: SampleShape;
  /** The shared budget (told how far the plan was consumed). */
  budget: SharedBudget;
  /** The decoder mixed batches are decoded with (the mix's shared one). */
  decoder: () => ImageDecoder;
  /** Decoder pixel guard (the sources' one `maxPixels`). */
  maxPixels?: number;
  /** Mixed batches composed ahead of the consumer, at most. */
  depth: () => number;
}

/** Builds sample-granularity batches, decoding each straight into its tensor. */
export class DirectAssembler {
  readonly #o: DirectAssemblerOptions;
  readonly #abort = new AbortController();
  /** Per source: the batch whose samples are being placed. */
  #current: (Held | undefined)[];
  /** Every source batch held. */
  #held = new Set<Held>();
  #queue: Entry[] = [];
  #composed = 0;
  #taken = 0;
  #delivered?: MixScheduler;
  #started = false;
  #closed = false;
  /** Wakes the consumer (an entry was queued). */
  #wakeConsumer?: () => void;
  /** Wakes the producer (an entry was taken, or the mix closed). */
  #wakeProducer?: () => void;
  /** Taken mixed batches not yet released (released on close). */
  #out = new Set<() => void>();
  /** Decodes not finished. */
  #decoding = new Set<Promise<unknown>>();

  /**
   * Creates the assembler; nothing runs until the first `next()`.
   *
   * @param o Sources, shape, budget, decoder and depth.
   */
  constructor(o: DirectAssemblerOptions) {
    this.#o = o;
    this.#current = o.slots.map(() => undefined);
  }

  /**
   * The scheduler at the consumer's position (after the last delivered batch).
   *
   * @returns A copy, or undefined before the first `next()`.
   */
  get delivered(): MixScheduler | undefined {
    return this.#delivered;
  }

  /** Whether a mixed batch is decoding (its delivery will release memory). */
  get decoding(): boolean {
    return this.#decoding.size > 0;
  }

  /**
   * Whether source `i` holds samples not yet placed in a mixed batch.
   *
   * @param i Source index.
   * @returns True when its current batch has samples left.
   */
  hasSamples(i: number): boolean {
    const h = this.#current[i];
    return h !== undefined && h.off < h.batch.sampleIds.length;
  }

  /**
   * Samples source `i` delivered to the mix that the consumer has not
   * received yet (placed ahead, or not placed).
   *
   * @param i Source index.
   * @returns The count.
   */
  unread(i: number): number {
    let n = 0;
    for (const h of this.#held) if (h.slot === i) n += h.undelivered;
    return n;
  }

  /**
   * The next mixed batch (composed and decoded ahead when possible).
   *
   * @param sched The mix's scheduler (advanced as batches are composed).
   * @param ranOut Called when a source has no batch left; true ends the mix.
   * @returns The batch, or null at the end.
   * @throws {DecodeError} When a sample cannot be decoded (naming it).
   * @throws What stopped a source or the mix (exhaustion under "error").
   */
  async next(
    sched: MixScheduler,
    ranOut: (i: number) => Promise<boolean>,
  ): Promise<MixedImageBatch | null> {
    if (!this.#started) {
      this.#started = true;
      this.#delivered = sched.clone();
      void this.#produce(sched, ranOut);
    }
    while (this.#queue.length === 0) {
      if (this.#closed) return null;
      await new Promise<void>((r) => this.#wakeConsumer = r);
    }
    const e = this.#queue.shift()!;
    if (e === null) {
      this.#queue.unshift(null);
      return null;
    }
    if ("failed" in e) throw e.failed;
    this.#taken++;
    this.#wakeProducer?.();
    const d = await e.decoded;
    if (this.#closed) {
      // Closed while it decoded: close() could not see it.
      d.release();
      this.#dropParts(e.parts);
      return null;
    }
    return this.#deliver(e, d);
  }

  #deliver(c: Composed, d: DecodedBatch): MixedImageBatch {
    const { slots, shape } = this.#o;
    let k = 0;
    for (const p of c.parts) {
      for (let j = 0; j < p.run; j++, k++) {
        const why = d.errors[k];
        if (why === null) continue;
        d.release();
        this.#dropParts(c.parts);
        throw new DecodeError(
          Number(c.ids[k]),
          p.held.batch.location(p.from + j),
          why,
        );
      }
    }
    this.#delivered = c.after;
    const bytesPer = shape.plane * (shape.float ? 4 : 1);
    for (const p of c.parts) {
      p.held.undelivered -= p.run;
      const s = slots[p.held.slot];
      s.units += p.run;
      s.samples += p.run;
      s.bytes += p.run * bytesPer;
    }
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      this.#out.delete(release);
      d.release();
      this.#dropParts(c.parts);
    };
    this.#out.add(release);
    const [h, w] = shape.hw;
    const n = c.ids.length;
    return {
      images: { data: d.data, shape: [n, 3, h, w], dtype: d.dtype },
      labels: c.labels,
      sampleIds: c.ids,
      sourceIds: c.sources,
      release,
    };
  }

  /** The consumer is done with these samples: return finished source batches. */
  #dropParts(parts: Part[]): void {
    for (const p of parts) {
      p.held.unreleased -= p.run;
      const h = p.held;
      if (h.unreleased === 0 && h.off >= h.batch.sampleIds.length) {
        this.#held.delete(h);
        h.batch.decoded();
        h.release();
      }
    }
  }

  /** Composes and decodes batches ahead of the consumer, in order. */
  async #produce(
    sched: MixScheduler,
    ranOut: (i: number) => Promise<boolean>,
  ): Promise<void> {
    try {
      for (;;) {
        while (
          !this.#closed && this.#composed - this.#taken >= this.#o.depth()
        ) {
          await new Promise<void>((r) => this.#wakeProducer = r);
        }
        if (this.#closed) return;
        const c = await this.#compose(sched, ranOut);
        if (this.#closed) {
          if (c) this.#discard(c);
          return;
        }
        this.#push(c);
        if (c === null) return;
      }
    } catch (err) {
      if (!this.#closed) this.#push({ failed: err });
    }
  }

  #push(e: Entry): void {
    if (e !== null && !("failed" in e)) this.#composed++;
    this.#queue.push(e);
    this.#wakeConsumer?.();
  }

  /** Places the next batch's samples in plan order and starts its decode. */
  async #compose(
    sched: MixScheduler,
    ranOut: (i: number) => Promise<boolean>,
  ): Promise<Composed | null> {
    const { slots, batchSize: B } = this.#o;
    const ids = new BigInt64Array(B), labels = new BigInt64Array(B);
    const sources = new BigInt64Array(B);
    const images: Uint8Array[] = [], pixelLimits: number[] = [];
    const parts: Part[] = [];
    let k = 0;
    while (k < B) {
      const i = sched.peek();
      if (i < 0) break;
      let h = this.#current[i];
      if (!h || h.off >= h.batch.sampleIds.length) {
        const slot = slots[i];
        const b = await pull(slot);
        if (this.#closed) break; // the loader, closing too, returns it
        if (b === null) {
          this.#current[i] = undefined;
          // Runs out exactly where the consumer would see it.
          await this.#caughtUp();
          if (this.#closed || await ranOut(i)) break;
          continue;
        }
        if (!isUndecoded(b)) {
          throw new Error(
            `mix: source "${slot.name}" delivered a decoded batch to a mix that decodes its samples`,
          );
        }
        const len = b.sampleIds.length;
        h = {
          slot: i,
          batch: b,
          off: 0,
          decoding: 0,
          undelivered: len,
          unreleased: len,
          release: slot.hooks.takeHeld() ?? (() => b.release()),
        };
        this.#held.add(h);
        this.#current[i] = h;
        if (len === 0) continue;
      }
      const b = h.batch, len = b.sampleIds.length;
      let run = 0;
      do {
        sched.next();
        const at = h.off + run;
        ids[k + run] = b.sampleIds[at];
        labels[k + run] = b.labels[at];
        sources[k + run] = BigInt(i);
        images.push(b.images[at]);
        pixelLimits.push(b.pixelLimits[at]);
        run++;
      } while (k + run < B && h.off + run < len && sched.peek() === i);
      h.off += run;
      h.decoding += run;
      parts.push({ held: h, from: h.off - run, run });
      k += run;
    }
    this.#o.budget.consumed(sched.n);
    if (k === 0) return null;
    const [height, width] = this.#o.shape.hw;
    const decoded = this.#o.decoder().decodeBatch(images, {
      height,
      width,
      toFloat: this.#o.shape.float,
      maxPixels: this.#o.maxPixels,
      concurrency: Math.min(...parts.map((p) => p.held.batch.concurrency)),
      pixelLimits,
      signal: this.#abort.signal,
    }).finally(() => {
      for (const p of parts) {
        const h = p.held;
        h.decoding -= p.run;
        if (h.decoding === 0 && h.off >= h.batch.sampleIds.length) {
          h.batch.decoded();
        }
      }
    });
    const settled = decoded.then(() => {}, () => {}); // observed by the consumer
    this.#decoding.add(settled);
    settled.then(() => this.#decoding.delete(settled));
    return {
      ids: ids.subarray(0, k),
      labels: labels.subarray(0, k),
      sources: sources.subarray(0, k),
      parts,
      after: sched.clone(),
      decoded,
    };
  }

  /** Resolves once the consumer took every batch composed so far. */
  async #caughtUp(): Promise<void> {
    while (!this.#closed && this.#taken < this.#composed) {
      await new Promise<void>((r) => this.#wakeProducer = r);
    }
  }

  /** Releases a composed batch nobody will take. */
  #discard(c: Composed): void {
    c.decoded.then((d) => d.release(), () => {}).finally(() =>
      this.#dropParts(c.parts)
    );
  }

  /**
   * Stops composing and returns every batch, decode and source batch (once
   * the decodes under way finish). Idempotent.
   *
   * @returns Resolves when all is returned.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort(new DOMException("mix closed", "AbortError"));
    this.#wakeProducer?.();
    this.#wakeConsumer?.();
    for (const release of [...this.#out]) release();
    for (const e of this.#queue.splice(0)) {
      if (e && !("failed" in e)) this.#discard(e);
    }
    await Promise.all(this.#decoding);
    // Every source batch, placed or not: nothing decodes into it any more.
    for (const h of this.#held) {
      h.batch.decoded();
      h.release();
    }
    this.#held.clear();
  }
}
