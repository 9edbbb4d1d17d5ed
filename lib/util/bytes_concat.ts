/**
 * Joining byte arrays.
 *
 * @module
 */

/**
 * Concatenates byte arrays into one new array.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { concatBytes } from "./bytes_concat.ts";
 * assert.deepEqual(concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]), new Uint8Array([1, 2, 3]));
 * ```
 *
 * @param chunks The arrays, in order.
 * @returns Their bytes, joined.
 */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Concatenates chunks that may be views of one reused buffer (each is copied
 * before the next is asked for).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { collectBytes } from "./bytes_concat.ts";
 * const buf = new Uint8Array(1);
 * function* reused() { buf[0] = 1; yield buf; buf[0] = 2; yield buf; }
 * assert.deepEqual(collectBytes(reused()), new Uint8Array([1, 2]));
 * ```
 *
 * @param chunks The chunks, in order.
 * @returns Their bytes, joined.
 */
export function collectBytes(chunks: Iterable<Uint8Array>): Uint8Array {
  return concatBytes(Array.from(chunks, (c) => c.slice()));
}
