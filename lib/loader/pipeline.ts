/**
 * The ordered prefetch pipeline behind every loader: builds batches ahead of
 * the consumer (at most `prefetch` being built, at most `maxQueue` built or
 * building but not yet taken) and hands them out strictly in index order,
 * whatever order builds finish in.
 *
 * @module
 */

/** A built batch plus the function that returns its memory. */
export interface Built<T> {
  /** The batch. */
  value: T;
  /** Returns the batch's reserved memory. Idempotent. */
  release(): void;
}

/** Live knobs read before each scheduling decision (autotune may change them). */
export interface PipelineKnobs {
  /** Max batches being built. */
  prefetchBatches(): number;
  /** Max batches ready (built, not taken). */
  maxQueueBatches(): number;
}

/** An ordered, bounded prefetcher. */
export class OrderedPipeline<B extends { release(): void }> {
  #total: number;
  #build: (index: number, signal: AbortSignal) => Promise<B>;
  #knobs: PipelineKnobs;
  #slots = new Map<number, Promise<B>>();
  #done = new Set<number>();
  #nextStart = 0;
  #nextTake = 0;
  #building = 0;
  #abort = new AbortController();
  #closed = false;

  /**
   * Creates a pipeline over batches `0..total-1`.
   *
   * @param total Number of batches.
   * @param build Builds batch `index` (reserving its memory first).
   * @param knobs Live prefetch/queue bounds.
   */
  constructor(
    total: number,
    build: (index: number, signal: AbortSignal) => Promise<B>,
    knobs: PipelineKnobs,
  ) {
    this.#total = total;
    this.#build = build;
    this.#knobs = knobs;
  }

  /** Batches being built now. */
  get buildingBatches(): number {
    return this.#building;
  }

  /** Batches built and waiting for the consumer now. */
  get readyBatches(): number {
    return this.#done.size;
  }

  /** Abort signal that fires on close. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  #pump(): void {
    while (
      !this.#closed && this.#nextStart < this.#total &&
      this.#building < Math.max(1, this.#knobs.prefetchBatches()) &&
      this.#done.size + this.#building <
        Math.max(1, this.#knobs.maxQueueBatches())
    ) {
      const index = this.#nextStart++;
      this.#building++;
      const p = this.#build(index, this.#abort.signal);
      const tracked = p.finally(() => {
        this.#building--;
        if (this.#slots.has(index)) this.#done.add(index);
        this.#pump();
      });
      tracked.catch(() => {}); // surfaced when the consumer takes this index
      this.#slots.set(index, tracked);
    }
  }

  /** Starts building ahead now (without taking a batch). */
  prime(): void {
    this.#pump();
  }

  /**
   * Takes the next batch in order, waiting for it to be built.
   *
   * @returns The batch, or `null` after the last one.
   */
  async next(): Promise<B | null> {
    if (this.#closed || this.#nextTake >= this.#total) return null;
    this.#pump();
    const index = this.#nextTake++;
    const slot = this.#slots.get(index)!;
    try {
      return await slot;
    } finally {
      this.#slots.delete(index);
      this.#done.delete(index);
      this.#pump();
    }
  }

  /** Stops building and releases every batch built but not taken. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort(new DOMException("loader closed", "AbortError"));
    const pending = [...this.#slots.values()];
    this.#slots.clear();
    this.#done.clear();
    await Promise.all(pending.map((p) => p.then((b) => b.release(), () => {})));
  }
}
