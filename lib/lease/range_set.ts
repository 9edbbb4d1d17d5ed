/**
 * Half-open sample ranges and a set of disjoint ones.
 *
 * @module
 */

/** A half-open range of sample ids, `[startId, endId)`. */
export interface SampleRange {
  /** First sample id (inclusive). */
  readonly startId: number;
  /** One past the last sample id (exclusive). */
  readonly endId: number;
}

/**
 * A set of samples kept as sorted, disjoint, merged half-open ranges. Adding
 * a sample that is already present throws: the lease state machine uses this
 * to prove that every sample is completed exactly once.
 *
 * @example Add ranges; adjacent ones merge
 * ```ts
 * import assert from "node:assert/strict";
 * import { RangeSet } from "./range_set.ts";
 *
 * const set = new RangeSet();
 * set.add({ startId: 10, endId: 20 });
 * set.add({ startId: 0, endId: 10 });
 * assert.deepEqual(set.ranges(), [{ startId: 0, endId: 20 }]);
 * assert.equal(set.size, 20);
 * assert.deepEqual(set.subtractFrom({ startId: 15, endId: 30 }), [
 *   { startId: 20, endId: 30 },
 * ]);
 * ```
 */
export class RangeSet {
  #ranges: { startId: number; endId: number }[] = [];
  #size = 0;

  /**
   * Creates a set holding the given disjoint ranges.
   *
   * @param ranges Ranges to add; they must not overlap.
   * @throws {RangeError} If a range is malformed or two ranges overlap.
   */
  constructor(ranges: Iterable<SampleRange> = []) {
    for (const range of ranges) this.add(range);
  }

  /** Number of samples in the set. */
  get size(): number {
    return this.#size;
  }

  /** Number of disjoint ranges the set is made of. */
  get rangeCount(): number {
    return this.#ranges.length;
  }

  /**
   * Adds a range; an empty range is a no-op.
   *
   * @param range The range to add.
   * @throws {RangeError} If the range is malformed or overlaps the set.
   */
  add(range: SampleRange): void {
    const { startId, endId } = range;
    checkRange(range);
    if (startId === endId) return;
    const ranges = this.#ranges;
    const i = this.#firstEndingAfter(startId);
    if (i < ranges.length && ranges[i].startId < endId) {
      throw new RangeError(
        `Range overlaps the set: [${startId}, ${endId}) meets [${
          ranges[i].startId
        }, ${ranges[i].endId})`,
      );
    }
    const joinsLeft = i > 0 && ranges[i - 1].endId === startId;
    const joinsRight = i < ranges.length && ranges[i].startId === endId;
    if (joinsLeft && joinsRight) {
      ranges[i - 1].endId = ranges[i].endId;
      ranges.splice(i, 1);
    } else if (joinsLeft) {
      ranges[i - 1].endId = endId;
    } else if (joinsRight) {
      ranges[i].startId = startId;
    } else {
      ranges.splice(i, 0, { startId, endId });
    }
    this.#size += endId - startId;
  }

  /**
   * Whether any sample of the range is in the set.
   *
   * @param range The range to test.
   * @returns `true` if the range and the set share a sample.
   */
  overlaps(range: SampleRange): boolean {
    const i = this.#firstEndingAfter(range.startId);
    return i < this.#ranges.length && this.#ranges[i].startId < range.endId &&
      range.startId < range.endId;
  }

  /**
   * The parts of a range that are not in the set, in order.
   *
   * @param range The range to subtract the set from.
   * @returns Disjoint sub-ranges of `range` absent from the set.
   */
  subtractFrom(range: SampleRange): SampleRange[] {
    checkRange(range);
    const out: SampleRange[] = [];
    let at = range.startId;
    const ranges = this.#ranges;
    for (
      let i = this.#firstEndingAfter(at);
      i < ranges.length && ranges[i].startId < range.endId;
      i++
    ) {
      if (ranges[i].startId > at) {
        out.push({ startId: at, endId: ranges[i].startId });
      }
      at = ranges[i].endId;
    }
    if (at < range.endId) out.push({ startId: at, endId: range.endId });
    return out;
  }

  /**
   * The set's ranges, sorted and merged.
   *
   * @returns Copies of the ranges.
   */
  ranges(): SampleRange[] {
    return this.#ranges.map(({ startId, endId }) => ({ startId, endId }));
  }

  #firstEndingAfter(id: number): number {
    let lo = 0;
    let hi = this.#ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#ranges[mid].endId > id) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/**
 * Checks that a range has safe-integer bounds with `0 <= startId <= endId`.
 *
 * @param range The range to check.
 * @throws {RangeError} If the range is malformed.
 */
export function checkRange(range: SampleRange): void {
  const { startId, endId } = range;
  if (
    !Number.isSafeInteger(startId) || !Number.isSafeInteger(endId) ||
    startId < 0 || endId < startId
  ) {
    throw new RangeError(`Invalid sample range: [${startId}, ${endId})`);
  }
}
