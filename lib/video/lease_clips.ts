/**
 * Clip batches of a leased range of manifest rows (pure): how a lease's
 * clips are cut into batches, and how far the lease's cursor may move once
 * each batch was handed over, so that progress never claims a video whose
 * clips are not all delivered (at-least-once).
 *
 * @module
 */

/** One batch of a lease's clips. */
export interface LeaseClipBatch {
  /** First position in the lease's clip plan. */
  from: number;
  /** One past the last. */
  to: number;
  /**
   * The cursor to report once this batch (and every earlier one) was handed
   * over: every row below it has no clip left to deliver.
   */
  cursor: number;
}

/** A lease's clip batches and where its cursor starts. */
export interface LeaseClipBatches {
  /**
   * The cursor that may be reported before any batch: the rows from the
   * lease's start up to the first row with a clip have none (not videos,
   * too short, unreadable and skipped). `end` when the lease has no clip.
   */
  cursor: number;
  /** The batches, in delivery order; cursors never decrease. */
  batches: LeaseClipBatch[];
}

/**
 * Cuts the clips of a leased range `[start, end)` of manifest rows into
 * batches of at most `batchSize` clips, in the plan's delivery order, and
 * gives each batch the cursor its delivery allows: the first row at or
 * after the previous cursor that still has a clip in a later batch (or
 * `end`). Rows without clips are passed over as soon as every row before
 * them is delivered. Works for any clip order (a shuffled plan moves the
 * cursor only when every clip of the rows before it is out).
 *
 * @param start First row id of the lease (its cursor when granted).
 * @param end One past its last row id.
 * @param clipRows Row (sample) id of each clip, in delivery order; every id in `[start, end)`.
 * @param batchSize Clips per batch (≥ 1).
 * @returns The batches and the starting cursor.
 * @throws {RangeError} For a row id outside the lease or a bad `batchSize`.
 *
 * @example Rows 10–13: row 10 is not a video, 11 has 3 clips, 12 none, 13 has 2
 * ```ts
 * import assert from "node:assert/strict";
 * import { leaseClipBatches } from "./lease_clips.ts";
 *
 * const plan = leaseClipBatches(10, 14, [11, 11, 11, 13, 13], 2);
 * assert.equal(plan.cursor, 11);
 * assert.deepEqual(plan.batches, [
 *   { from: 0, to: 2, cursor: 11 }, // row 11 still has a clip to go
 *   { from: 2, to: 4, cursor: 13 }, // 11 done, 12 has none, 13 has one left
 *   { from: 4, to: 5, cursor: 14 }, // the lease is complete
 * ]);
 * ```
 */
export function leaseClipBatches(
  start: number,
  end: number,
  clipRows: ArrayLike<number>,
  batchSize: number,
): LeaseClipBatches {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer: ${batchSize}`);
  }
  // The batch that delivers each row's last clip.
  const lastBatch = new Map<number, number>();
  for (let i = 0; i < clipRows.length; i++) {
    const id = clipRows[i];
    if (!Number.isSafeInteger(id) || id < start || id >= end) {
      throw new RangeError(
        `clip ${i} belongs to row ${id}, outside the lease [${start}, ${end})`,
      );
    }
    lastBatch.set(id, Math.floor(i / batchSize));
  }
  const rows = [...lastBatch.keys()].sort((a, b) => a - b);
  let next = 0;
  const cursorAt = () => next < rows.length ? rows[next] : end;
  const cursor = cursorAt();
  const batches: LeaseClipBatch[] = [];
  for (let from = 0, k = 0; from < clipRows.length; from += batchSize, k++) {
    while (next < rows.length && lastBatch.get(rows[next])! <= k) next++;
    batches.push({
      from,
      to: Math.min(from + batchSize, clipRows.length),
      cursor: cursorAt(),
    });
  }
  return { cursor, batches };
}
