/**
 * One decoder for all the image sources of a mix (spec §10): one native
 * buffer pool whose byte cap is the shared budget's, and one thread budget,
 * so ten sources decode like one loader instead of ten decoders with their
 * own pools and threads competing for the cores.
 *
 * Decode calls are admitted first come, first served (the budget grants
 * reservations in plan order, so calls arrive in about that order) while
 * the threads they use fit the budget: the batch the consumer needs first
 * gets the cores instead of sharing them with batches needed later.
 *
 * @module
 */
import { createDecoder } from "../decode/select.ts";
import type {
  DecodedBatch,
  DecodeOptions,
  ImageDecoder,
  WorkingMemory,
} from "../decode/types.ts";
import { loadNativeLibrary, NativeBufferPool } from "../native/mod.ts";
import type { ImageFolderLoaderOptions } from "../loader/image_folder.ts";

/**
 * Admits work first come, first served while the threads in use fit the
 * budget (a call wanting more than the budget runs alone).
 */
export class ThreadGate {
  #budget: number;
  #inUse = 0;
  #highWater = 0;
  #queue: { threads: number; go: () => void }[] = [];

  /**
   * Creates the gate.
   *
   * @param budget Threads (≥ 1).
   * @throws {RangeError} When `budget` is not a positive integer.
   */
  constructor(budget: number) {
    if (!Number.isSafeInteger(budget) || budget < 1) {
      throw new RangeError(
        `decode thread budget must be a positive integer, got ${budget}`,
      );
    }
    this.#budget = budget;
  }

  /** Threads at most in use at once. */
  get budget(): number {
    return this.#budget;
  }

  /**
   * Raises the budget (a source with more decode threads joined).
   *
   * @param budget The new budget, if larger.
   */
  widen(budget: number): void {
    if (budget > this.#budget) {
      this.#budget = budget;
      this.#admit();
    }
  }

  /** Threads in use now. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Most threads in use at once so far. */
  get highWater(): number {
    return this.#highWater;
  }

  /** Calls waiting now. */
  get waiting(): number {
    return this.#queue.length;
  }

  /**
   * Runs `fn` once `threads` threads are free.
   *
   * @param threads Threads `fn` uses (clamped to 1…budget).
   * @param fn The work.
   * @param signal Aborts the wait (not the work).
   * @returns What `fn` returns.
   */
  async run<R>(
    threads: number,
    fn: () => Promise<R>,
    signal?: AbortSignal,
  ): Promise<R> {
    const n = Math.min(this.budget, Math.max(1, Math.floor(threads) || 1));
    if (this.#queue.length > 0 || this.#inUse + n > this.budget) {
      await new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const entry = { threads: n, go: resolve };
        this.#queue.push(entry);
        signal?.addEventListener("abort", () => {
          const at = this.#queue.indexOf(entry);
          if (at < 0) return;
          this.#queue.splice(at, 1);
          reject(signal.reason);
          this.#admit();
        }, { once: true });
      });
    } else {
      this.#take(n);
    }
    try {
      return await fn();
    } finally {
      this.#inUse -= n;
      this.#admit();
    }
  }

  #admit(): void {
    while (this.#queue.length > 0) {
      const head = this.#queue[0];
      if (this.#inUse > 0 && this.#inUse + head.threads > this.budget) return;
      this.#queue.shift();
      this.#take(head.threads);
      head.go();
    }
  }

  #take(n: number): void {
    this.#inUse += n;
    if (this.#inUse > this.#highWater) this.#highWater = this.#inUse;
  }
}

/** A source's view of the shared decoder: decode calls pass the gate; `close` is the mix's. */
class GatedDecoder implements ImageDecoder {
  readonly #inner: ImageDecoder;
  readonly #gate: ThreadGate;

  constructor(inner: ImageDecoder, gate: ThreadGate) {
    this.#inner = inner;
    this.#gate = gate;
  }

  get name(): ImageDecoder["name"] {
    return this.#inner.name;
  }

  get concurrency(): number {
    return Math.min(this.#inner.concurrency, this.#gate.budget);
  }

  workingMemory(
    image: Uint8Array,
    opts: DecodeOptions,
  ): Promise<WorkingMemory> {
    return this.#inner.workingMemory(image, opts);
  }

  decodeBatch(
    images: Uint8Array[],
    opts: DecodeOptions,
  ): Promise<DecodedBatch> {
    const threads = Math.min(opts.concurrency ?? Infinity, this.concurrency);
    return this.#gate.run(
      threads,
      () =>
        this.#inner.decodeBatch(images, {
          ...opts,
          concurrency: threads,
        }),
      opts.signal,
    );
  }

  close(): void {
    // The mix closes the shared decoder.
  }
}

/** Options of {@linkcode MixDecoders}. */
export interface MixDecodersOptions {
  /** The native pool's capacity (the shared budget's cap). */
  capBytes: number;
  /** A native pool to use instead of a new one (the Python bridge's mapping). */
  pool?: NativeBufferPool;
}

/**
 * The mix's decoders: one per distinct `decodeBackend` / `decodeThreads`
 * of its image sources, all over one native pool and one thread gate.
 */
export class MixDecoders {
  readonly #capBytes: number;
  readonly #given?: NativeBufferPool;
  #pool?: NativeBufferPool;
  #gate?: ThreadGate;
  #decoders = new Map<string, ImageDecoder>();
  #closed = false;

  /**
   * Creates nothing yet: decoders and the pool are made on first use.
   *
   * @param o Cap and optional pool.
   */
  constructor(o: MixDecodersOptions) {
    this.#capBytes = o.capBytes;
    this.#given = o.pool;
  }

  /** The shared native pool (once a native decoder exists), if any. */
  get pool(): NativeBufferPool | undefined {
    return this.#given ?? this.#pool;
  }

  /** The shared thread gate (once a decoder exists). */
  get gate(): ThreadGate | undefined {
    return this.#gate;
  }

  /**
   * The shared pool, creating it when the native library loads.
   *
   * @returns The pool, or undefined without the native library.
   */
  nativePool(): NativeBufferPool | undefined {
    if (this.#given) return this.#given;
    if (this.#pool) return this.#pool;
    const lib = loadNativeLibrary();
    if (!lib.ok) return undefined;
    return this.#pool = new NativeBufferPool(this.#capBytes, {
      library: lib.library,
    });
  }

  /**
   * The decoder for a source with these options (shared with every source
   * asking for the same backend and threads).
   *
   * @param o The source's options.
   * @returns Its view of the shared decoder.
   * @throws {NativeLibraryUnavailableError} For `decodeBackend: "native"` without the library.
   */
  for(o: ImageFolderLoaderOptions): ImageDecoder {
    if (this.#closed) throw new Error("mix decoders are closed");
    const backend = o.decodeBackend ?? "auto";
    const threads = o.decodeThreads ?? 0;
    const key = `${backend}|${threads}`;
    let d = this.#decoders.get(key);
    if (!d) {
      d = createDecoder({
        backend,
        threads,
        pool: backend === "sharp" ? undefined : this.nativePool(),
      });
      this.#decoders.set(key, d);
    }
    const budget = Math.max(
      1,
      ...[...this.#decoders.values()].map((x) => x.concurrency),
    );
    const gate = this.#gate ??= new ThreadGate(budget);
    gate.widen(budget);
    return new GatedDecoder(d, gate);
  }

  /** Closes the decoders and the pool the mix made. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const d of this.#decoders.values()) d.close();
    this.#pool?.close();
  }
}
