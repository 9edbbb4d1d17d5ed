/**
 * A bounded native buffer pool and the slabs it hands out.
 *
 * @module
 */

import type { NativeLibrary } from "./ffi.ts";
import { Status, unwrap } from "./errors.ts";
import { requireNativeLibrary } from "./library.ts";

/** Options for {@linkcode NativeBufferPool.acquire}. */
export interface AcquireOptions {
  /** Aborts the wait; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Options for the {@linkcode NativeBufferPool} constructor. */
export interface NativeBufferPoolOptions {
  /** An already opened library (default: {@linkcode requireNativeLibrary}). */
  library?: NativeLibrary;
  /**
   * Carve slabs from this file mapped shared (its first `capacityBytes`
   * bytes; normally under `/dev/shm`) instead of the heap, so another
   * process that maps the file sees what is written into a slab. See
   * {@linkcode NativeBufferPool.sharedOffset}.
   */
  mappedFile?: string;
}

interface SlabHeld {
  library: NativeLibrary;
  handle: Deno.PointerObject;
  onRelease: () => void;
}

// Safety nets only: explicit release()/close() is the contract.
const slabRegistry = new FinalizationRegistry<SlabHeld>((held) => {
  held.library.symbols.mx8_slab_free(held.handle);
  held.onRelease();
});
const poolRegistry = new FinalizationRegistry<
  { library: NativeLibrary; handle: Deno.PointerObject }
>((held) => held.library.symbols.mx8_pool_free(held.handle));

// Keeps a Slab alive while any view over its memory is reachable, so the
// finalizer can never free memory that JS can still read.
const viewOwners = new WeakMap<ArrayBuffer, Slab>();

/**
 * One slab of native memory from a {@linkcode NativeBufferPool}: `byteLength`
 * bytes, 64-byte aligned, counted against the pool's capacity until
 * {@linkcode Slab.release}. Views are zero-copy; after release they are
 * detached (length 0), never dangling.
 *
 * A reused slab still holds its previous user's bytes.
 *
 * @example
 * ```ts ignore
 * using pool = new NativeBufferPool(1024);
 * using slab = pool.tryAcquire(64)!;
 * slab.float32().fill(1);
 * ```
 */
export class Slab {
  #library: NativeLibrary;
  #handle: Deno.PointerObject | null;
  #bytes: number;
  #buffer: ArrayBuffer | null = null;
  #onRelease: () => void;

  /**
   * Wraps a slab handle. Use {@linkcode NativeBufferPool.acquire} instead.
   *
   * @param library The opened library.
   * @param handle An `Mx8Slab *` now owned by this object.
   * @param bytes The slab length.
   * @param onRelease Called once after the slab is returned.
   */
  constructor(
    library: NativeLibrary,
    handle: Deno.PointerObject,
    bytes: number,
    onRelease: () => void,
  ) {
    this.#library = library;
    this.#handle = handle;
    this.#bytes = bytes;
    this.#onRelease = onRelease;
    slabRegistry.register(this, { library, handle, onRelease }, this);
  }

  /** Length in bytes. */
  get byteLength(): number {
    return this.#bytes;
  }

  /** Whether {@linkcode Slab.release} has run. */
  get released(): boolean {
    return this.#handle === null;
  }

  /**
   * The `Mx8Slab *` handle, for passing to `mx8_*` calls.
   *
   * @returns The handle.
   * @throws {TypeError} If the slab was released.
   */
  handle(): Deno.PointerObject {
    if (!this.#handle) throw new TypeError("Slab is released");
    return this.#handle;
  }

  /**
   * The whole slab as one `ArrayBuffer` (zero-copy; detached on release).
   *
   * @returns The buffer.
   * @throws {TypeError} If the slab was released.
   */
  buffer(): ArrayBuffer {
    if (this.#buffer) return this.#buffer;
    const handle = this.handle();
    const ptr = this.#library.symbols.mx8_slab_ptr(handle);
    if (!ptr) throw new TypeError("Slab has no memory");
    const buffer = Deno.UnsafePointerView.getArrayBuffer(ptr, this.#bytes);
    viewOwners.set(buffer, this);
    this.#buffer = buffer;
    return buffer;
  }

  /**
   * A `Float32Array` view over the slab.
   *
   * @param length Number of elements (default: the whole slab).
   * @returns The view.
   * @throws {TypeError} If the slab was released.
   */
  float32(length: number = Math.floor(this.#bytes / 4)): Float32Array {
    return new Float32Array(this.buffer(), 0, length);
  }

  /**
   * A `Uint8Array` view over the slab.
   *
   * @param length Number of bytes (default: the whole slab).
   * @returns The view.
   * @throws {TypeError} If the slab was released.
   */
  uint8(length: number = this.#bytes): Uint8Array {
    return new Uint8Array(this.buffer(), 0, length);
  }

  /** Returns the slab to its pool and detaches its views. Idempotent. */
  release(): void {
    const handle = this.#handle;
    if (!handle) return;
    this.#handle = null;
    if (this.#buffer) {
      try {
        this.#buffer.transfer(0); // detach: old views read as empty
      } catch {
        // not detachable: the views stay but the slab is still freed
      }
      this.#buffer = null;
    }
    slabRegistry.unregister(this);
    this.#library.symbols.mx8_slab_free(handle);
    this.#onRelease();
  }

  /** Same as {@linkcode Slab.release}. */
  [Symbol.dispose](): void {
    this.release();
  }
}

interface Waiter {
  bytes: number;
  resolve: (slab: Slab) => void;
  reject: (reason: unknown) => void;
  cleanup: () => void;
}

/**
 * A thread-safe native buffer pool with a hard byte capacity: live slabs
 * never total more than `capacityBytes`, and released slabs are cached for
 * reuse only within that cap. {@linkcode NativeBufferPool.acquire} waits
 * (first come, first served) for room instead of over-allocating.
 *
 * @example Acquire, use and release a slab
 * ```ts ignore
 * import { NativeBufferPool } from "./pool.ts";
 * using pool = new NativeBufferPool(1 << 20);
 * const slab = await pool.acquire(4096);
 * slab.uint8().fill(7);
 * slab.release();
 * ```
 */
export class NativeBufferPool {
  #library: NativeLibrary;
  #handle: Deno.PointerObject | null;
  #capacity: number;
  #waiters: Waiter[] = [];
  #out = new BigUint64Array(new ArrayBuffer(8));
  #stats = new BigUint64Array(new ArrayBuffer(32));
  #onRelease = () => this.#drain();
  #base: bigint | null = null;

  /**
   * Creates a pool.
   *
   * @param capacityBytes Hard cap in bytes (positive safe integer).
   * @param options The library to use.
   * @throws {RangeError} If `capacityBytes` is not a positive safe integer.
   * @throws {NativeLibraryUnavailableError} If the library cannot be loaded.
   */
  constructor(capacityBytes: number, options: NativeBufferPoolOptions = {}) {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes <= 0) {
      throw new RangeError(
        `Invalid pool capacity: "${capacityBytes}" must be a positive integer`,
      );
    }
    this.#library = options.library ?? requireNativeLibrary();
    if (options.mappedFile === undefined) {
      unwrap(
        this.#library.symbols.mx8_pool_new(BigInt(capacityBytes), this.#out),
        "mx8_pool_new failed",
      );
    } else {
      this.#newMapped(options.mappedFile, capacityBytes);
    }
    this.#handle = Deno.UnsafePointer.create(this.#out[0])!;
    this.#capacity = capacityBytes;
    poolRegistry.register(
      this,
      { library: this.#library, handle: this.#handle },
      this,
    );
  }

  #newMapped(file: string, capacityBytes: number): void {
    const path = new TextEncoder().encode(file);
    const err = new Uint8Array(1024);
    unwrap(
      this.#library.symbols.mx8_pool_new_mapped(
        path,
        BigInt(path.byteLength),
        BigInt(capacityBytes),
        this.#out,
        err,
        BigInt(err.byteLength),
      ),
      err,
    );
    const base = this.#library.symbols.mx8_pool_base(
      Deno.UnsafePointer.create(this.#out[0]),
    );
    this.#base = base ? Deno.UnsafePointer.value(base) : null;
  }

  /**
   * Where `view` sits in the shared mapping of a pool made with `mappedFile`:
   * its byte offset from the mapping's start, or `null` when the view is
   * not (entirely) inside the mapping — a heap pool, memory from elsewhere,
   * or a slab that fell back to the heap because the region was fragmented.
   *
   * @param view Any typed array or data view.
   * @returns The offset, or `null`.
   */
  sharedOffset(view: ArrayBufferView): number | null {
    if (this.#base === null || view.byteLength === 0) return null;
    const ptr = Deno.UnsafePointer.of(view as Uint8Array<ArrayBuffer>);
    if (!ptr) return null;
    const off = Deno.UnsafePointer.value(ptr) - this.#base;
    if (off < 0n || off + BigInt(view.byteLength) > BigInt(this.#capacity)) {
      return null;
    }
    return Number(off);
  }

  #readStats(): BigUint64Array {
    if (!this.#handle) {
      this.#stats.fill(0n);
      this.#stats[0] = BigInt(this.#capacity);
      return this.#stats;
    }
    unwrap(this.#library.symbols.mx8_pool_stats(this.#handle, this.#stats));
    return this.#stats;
  }

  /** The hard cap in bytes. */
  get capacityBytes(): number {
    return this.#capacity;
  }

  /** Bytes held by live (unreleased) slabs. */
  get usedBytes(): number {
    return Number(this.#readStats()[1]);
  }

  /** Maximum of {@linkcode NativeBufferPool.usedBytes} since creation. */
  get highWaterBytes(): number {
    return Number(this.#readStats()[2]);
  }

  /** Bytes allocated from the system: live slabs plus idle cached ones. */
  get retainedBytes(): number {
    return Number(this.#readStats()[3]);
  }

  /** Number of pending {@linkcode NativeBufferPool.acquire} calls. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Whether {@linkcode NativeBufferPool.close} has run. */
  get closed(): boolean {
    return this.#handle === null;
  }

  #checkBytes(bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes <= 0) {
      throw new RangeError(
        `Invalid slab size: "${bytes}" must be a positive integer`,
      );
    }
  }

  #tryNative(bytes: number): Slab | null {
    if (!this.#handle) throw new TypeError("NativeBufferPool is closed");
    const status = this.#library.symbols.mx8_slab_new(
      this.#handle,
      BigInt(bytes),
      this.#out,
    );
    if (status === Status.PoolExhausted) return null;
    unwrap(status, `cannot allocate a slab of ${bytes} bytes`);
    const handle = Deno.UnsafePointer.create(this.#out[0])!;
    return new Slab(this.#library, handle, bytes, this.#onRelease);
  }

  #drain(): void {
    while (this.#waiters.length > 0 && this.#handle) {
      const head = this.#waiters[0];
      let slab: Slab | null;
      try {
        slab = this.#tryNative(head.bytes);
      } catch (e) {
        this.#waiters.shift();
        head.cleanup();
        head.reject(e);
        continue;
      }
      if (!slab) return;
      this.#waiters.shift();
      head.cleanup();
      head.resolve(slab);
    }
  }

  /**
   * Takes a slab now if it fits under the capacity and nobody is waiting
   * (it never jumps the {@linkcode NativeBufferPool.acquire} queue).
   *
   * @param bytes Slab size.
   * @returns The slab, or `null` when it does not fit now (including when
   * `bytes` exceeds the capacity).
   * @throws {RangeError} If `bytes` is not a positive integer.
   * @throws {TypeError} If the pool is closed.
   */
  tryAcquire(bytes: number): Slab | null {
    this.#checkBytes(bytes);
    if (!this.#handle) throw new TypeError("NativeBufferPool is closed");
    if (bytes > this.#capacity || this.#waiters.length > 0) return null;
    return this.#tryNative(bytes);
  }

  /**
   * Takes a slab, waiting (FIFO) until enough bytes are released.
   *
   * @param bytes Slab size.
   * @param options Abort signal.
   * @returns The slab.
   * @throws {RangeError} If `bytes` is not a positive integer or exceeds the
   * capacity (it could never fit).
   * @throws {TypeError} If the pool is or gets closed while waiting.
   */
  acquire(bytes: number, options: AcquireOptions = {}): Promise<Slab> {
    try {
      this.#checkBytes(bytes);
      if (bytes > this.#capacity) {
        throw new RangeError(
          `Slab of ${bytes} bytes exceeds pool capacity ${this.#capacity}`,
        );
      }
      if (!this.#handle) throw new TypeError("NativeBufferPool is closed");
      options.signal?.throwIfAborted();
      if (this.#waiters.length === 0) {
        const slab = this.#tryNative(bytes);
        if (slab) return Promise.resolve(slab);
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<Slab>((resolve, reject) => {
      const { signal } = options;
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal!.reason);
        this.#drain(); // the aborted head may have blocked smaller requests
      };
      const waiter: Waiter = {
        bytes,
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener("abort", onAbort),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Frees the idle cached slabs (live slabs are untouched). */
  trim(): void {
    if (this.#handle) {
      unwrap(this.#library.symbols.mx8_pool_trim(this.#handle));
    }
  }

  /**
   * Closes the pool: pending acquires reject; live slabs stay valid until
   * released. Idempotent.
   */
  close(): void {
    const handle = this.#handle;
    if (!handle) return;
    this.#handle = null;
    const waiters = this.#waiters.splice(0);
    for (const w of waiters) {
      w.cleanup();
      w.reject(new TypeError("NativeBufferPool is closed"));
    }
    poolRegistry.unregister(this);
    this.#library.symbols.mx8_pool_free(handle);
  }

  /** Same as {@linkcode NativeBufferPool.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
