/**
 * A small pool of same-size buffers, so that chunked writers reuse memory
 * instead of allocating a buffer per chunk.
 *
 * @module
 */

/**
 * Hands out buffers of one size; `give` returns one for reuse. `take`
 * allocates when the pool is empty, so the pool holds at most as many
 * buffers as were ever out at once.
 *
 * @example Reuse a buffer
 * ```ts
 * import assert from "node:assert/strict";
 * import { BufferPool } from "./buffer_pool.ts";
 * const pool = new BufferPool(1024);
 * const a = pool.take();
 * pool.give(a);
 * assert.equal(pool.take(), a);
 * ```
 */
export class BufferPool {
  #size: number;
  #free: Uint8Array[] = [];

  /**
   * Creates a pool.
   *
   * @param bufferBytes Size of every buffer.
   */
  constructor(bufferBytes: number) {
    this.#size = bufferBytes;
  }

  /** Size of every buffer. */
  get bufferBytes(): number {
    return this.#size;
  }

  /**
   * Takes a buffer (a reused one when available).
   *
   * @returns A buffer of `bufferBytes` bytes (contents undefined).
   */
  take(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(this.#size);
  }

  /**
   * Returns a buffer taken from this pool.
   *
   * @param buf The buffer (or a view of it; its whole backing buffer returns).
   */
  give(buf: Uint8Array): void {
    const whole = buf.byteOffset === 0 && buf.length === this.#size
      ? buf
      : new Uint8Array(buf.buffer, 0, this.#size);
    this.#free.push(whole);
  }
}
