/**
 * Coalescing byte ranges of one object into fewer, larger reads (pure).
 *
 * @module
 */

/** One sample's range inside an object. */
export interface RangeRequest {
  /** Caller's index of the sample (e.g. position in the batch). */
  index: number;
  /** Start offset in the object. */
  offset: number;
  /** Length in bytes. */
  length: number;
}

/** One read covering several neighbouring ranges. */
export interface CoalescedRead {
  /** Start offset of the read. */
  offset: number;
  /** Length of the read. */
  length: number;
  /** The ranges it covers, by offset. */
  parts: RangeRequest[];
}

/** Limits of {@linkcode coalesceRanges}. */
export interface CoalesceOptions {
  /** Largest hole between two ranges that is still read through (default 64 KiB). */
  maxGapBytes?: number;
  /** Largest single read (default 8 MiB). */
  maxReadBytes?: number;
}

/**
 * Merges ranges whose gaps are small into single reads.
 *
 * @example Two neighbours merge, a far one does not
 * ```ts
 * import assert from "node:assert/strict";
 * import { coalesceRanges } from "./coalesce.ts";
 * const reads = coalesceRanges([
 *   { index: 0, offset: 512, length: 100 },
 *   { index: 1, offset: 1024, length: 100 },
 *   { index: 2, offset: 10_000_000, length: 5 },
 * ]);
 * assert.equal(reads.length, 2);
 * assert.deepEqual([reads[0].offset, reads[0].length], [512, 612]);
 * ```
 *
 * @param ranges Ranges of one object, any order.
 * @param options Gap and size limits.
 * @returns Reads sorted by offset.
 */
export function coalesceRanges(
  ranges: readonly RangeRequest[],
  options: CoalesceOptions = {},
): CoalescedRead[] {
  const maxGap = options.maxGapBytes ?? 64 * 1024;
  const maxRead = options.maxReadBytes ?? 8 * 1024 * 1024;
  const sorted = [...ranges].sort((a, b) => a.offset - b.offset);
  const reads: CoalescedRead[] = [];
  let cur: CoalescedRead | undefined;
  for (const r of sorted) {
    const end = r.offset + r.length;
    if (cur) {
      const curEnd = cur.offset + cur.length;
      const newEnd = Math.max(curEnd, end);
      if (r.offset - curEnd <= maxGap && newEnd - cur.offset <= maxRead) {
        cur.length = newEnd - cur.offset;
        cur.parts.push(r);
        continue;
      }
    }
    cur = { offset: r.offset, length: r.length, parts: [r] };
    reads.push(cur);
  }
  return reads;
}
