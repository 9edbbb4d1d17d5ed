/**
 * Coalesces many small writes into fixed-size chunks.
 *
 * @module
 */

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * Copies written bytes into a chunk buffer and hands every full chunk to
 * `flush` (the last one may be shorter). The next chunk is filled in the
 * buffer `nextBuffer()` returns once `flush` resolves: return the same
 * buffer to reuse it, or another when `flush` keeps the chunk (an upload
 * still running). By default every chunk is a new buffer.
 *
 * @example Fixed-size chunks
 * ```ts
 * import assert from "node:assert/strict";
 * import { Chunker } from "./chunker.ts";
 * const sizes: number[] = [];
 * const c = new Chunker(4, async (b) => { sizes.push(b.length); });
 * await c.write(new Uint8Array(3));
 * await c.write(new Uint8Array(6));
 * await c.end();
 * assert.deepEqual(sizes, [4, 4, 1]);
 * ```
 */
export class Chunker {
  #flush: (chunk: Uint8Array) => Promise<void>;
  #next: () => Uint8Array;
  #buf: Uint8Array | undefined;
  #fill = 0;

  /**
   * Creates a chunker.
   *
   * @param chunkBytes Chunk size (≥ 1).
   * @param flush Receives each chunk.
   * @param nextBuffer Returns the buffer (of `chunkBytes` bytes) to fill next.
   * @throws {RangeError} When a buffer from `nextBuffer` has the wrong size.
   */
  constructor(
    chunkBytes: number,
    flush: (chunk: Uint8Array) => Promise<void>,
    nextBuffer?: () => Uint8Array,
  ) {
    const size = Math.max(1, Math.floor(chunkBytes));
    this.#flush = flush;
    this.#next = () => {
      const buf = nextBuffer ? nextBuffer() : new Uint8Array(size);
      if (buf.length !== size) {
        throw new RangeError(`Chunk buffer must be ${size} bytes`);
      }
      return buf;
    };
  }

  /**
   * Appends bytes, flushing every chunk that fills up.
   *
   * @param bytes Bytes to append (copied; the caller may reuse them).
   * @returns Resolves once the bytes are copied (and full chunks flushed).
   */
  write(bytes: Uint8Array): Promise<void> {
    const buf = this.#buf;
    if (buf !== undefined && this.#fill + bytes.length < buf.length) {
      // Fast path: fits without filling the chunk.
      buf.set(bytes, this.#fill);
      this.#fill += bytes.length;
      return RESOLVED;
    }
    return this.#writeSlow(bytes);
  }

  async #writeSlow(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.length) {
      const buf = this.#buf ??= this.#next();
      const n = Math.min(buf.length - this.#fill, bytes.length - at);
      buf.set(bytes.subarray(at, at + n), this.#fill);
      this.#fill += n;
      at += n;
      if (this.#fill === buf.length) await this.#emit();
    }
  }

  /** Flushes the partial last chunk, if any. */
  async end(): Promise<void> {
    if (this.#fill > 0) await this.#emit();
  }

  async #emit(): Promise<void> {
    const chunk = this.#buf!.subarray(0, this.#fill);
    this.#buf = undefined;
    this.#fill = 0;
    await this.#flush(chunk);
  }
}
