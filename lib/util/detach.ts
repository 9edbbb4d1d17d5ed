/**
 * Frees a typed array's memory now instead of at some later garbage
 * collection.
 *
 * @module
 */

/**
 * Detaches the buffer under `view` (its memory is freed now; every view of
 * it reads as empty from then on). Only a view covering its whole
 * `ArrayBuffer`; anything else (a slice, a shared or non-detachable buffer)
 * is left to the garbage collector.
 *
 * @param view The array to free.
 * @returns Whether it was detached.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detachBuffer } from "./detach.ts";
 * const a = new Uint8Array(1024);
 * assert.equal(detachBuffer(a), true);
 * assert.equal(a.length, 0);
 * ```
 */
export function detachBuffer(view: ArrayBufferView): boolean {
  const buf = view.buffer;
  if (
    !(buf instanceof ArrayBuffer) || buf.detached || view.byteOffset !== 0 ||
    view.byteLength !== buf.byteLength
  ) return false;
  try {
    buf.transfer(0);
    return true;
  } catch {
    return false; // not detachable: left to the GC
  }
}
