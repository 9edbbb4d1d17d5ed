/**
 * A fixed ring of memory handed out in FIFO order: the byte budget and the
 * buffers of the pack pipeline in one. Nothing is allocated per file, so the
 * memory a pack uses does not grow with the number of files.
 *
 * @module
 */

interface Region {
  start: number;
  length: number;
}

/**
 * A ring arena. `alloc(n)` waits (in request order) until `n` contiguous
 * bytes are free and returns a view of them; `free()` returns the oldest
 * allocation. Allocations are freed in the order they were made.
 *
 * @example Allocate, wait for space, free in order
 * ```ts
 * import assert from "node:assert/strict";
 * import { RingArena } from "./ring_arena.ts";
 * const ring = new RingArena(100);
 * const a = await ring.alloc(60);
 * let waited = true;
 * const b = ring.alloc(60).then((v) => { waited = false; return v; });
 * await Promise.resolve();
 * assert.equal(waited, true);
 * ring.free();
 * assert.equal((await b).length, 60);
 * assert.equal(a.length, 60);
 * assert.equal(ring.inUse, 60);
 * ```
 */
export class RingArena {
  #buf: Uint8Array;
  #live: Region[] = [];
  #used = 0;
  #waiters: { n: number; resolve: (view: Uint8Array) => void }[] = [];

  /**
   * Creates an arena.
   *
   * @param capacityBytes Ring size in bytes (≥ 1).
   * @throws {RangeError} When the capacity is not a positive integer.
   */
  constructor(capacityBytes: number) {
    if (!Number.isInteger(capacityBytes) || capacityBytes < 1) {
      throw new RangeError(`Ring capacity must be ≥ 1, got ${capacityBytes}`);
    }
    this.#buf = new Uint8Array(capacityBytes);
  }

  /** Ring size in bytes. */
  get capacity(): number {
    return this.#buf.length;
  }

  /** Bytes of live allocations. */
  get inUse(): number {
    return this.#used;
  }

  /**
   * Waits until `n` contiguous bytes are free and takes them. The view's
   * contents are whatever the ring last held there.
   *
   * @param n Bytes wanted (1 … capacity).
   * @returns A view of the allocated bytes.
   * @throws {RangeError} When `n` is out of range.
   */
  alloc(n: number): Promise<Uint8Array> {
    if (!Number.isInteger(n) || n < 1 || n > this.#buf.length) {
      throw new RangeError(
        `Ring allocation of ${n} bytes: must be 1…${this.#buf.length}`,
      );
    }
    if (this.#waiters.length === 0) {
      const view = this.#tryAlloc(n);
      if (view) return Promise.resolve(view);
    }
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  /**
   * Frees the oldest live allocation and wakes waiters that now fit.
   *
   * @throws {RangeError} When nothing is allocated.
   */
  free(): void {
    const r = this.#live.shift();
    if (!r) throw new RangeError("Ring free without a live allocation");
    this.#used -= r.length;
    while (this.#waiters.length > 0) {
      const view = this.#tryAlloc(this.#waiters[0].n);
      if (!view) break;
      this.#waiters.shift()!.resolve(view);
    }
  }

  #tryAlloc(n: number): Uint8Array | undefined {
    const start = this.#place(n);
    if (start === undefined) return undefined;
    this.#live.push({ start, length: n });
    this.#used += n;
    return this.#buf.subarray(start, start + n);
  }

  #place(n: number): number | undefined {
    const cap = this.#buf.length;
    if (this.#live.length === 0) return 0;
    const first = this.#live[0].start;
    const last = this.#live[this.#live.length - 1];
    const end = last.start + last.length;
    if (end > first) {
      // Live bytes are [first, end): room after end, or wrap to 0.
      if (cap - end >= n) return end;
      if (first >= n) return 0;
      return undefined;
    }
    // Wrapped: live bytes are [first, cap) and [0, end).
    return first - end >= n ? end : undefined;
  }
}
