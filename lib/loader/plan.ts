/**
 * Batch planner (pure): the deterministic order in which a loader delivers
 * sample ids, and how that order is cut into batches.
 *
 * Order: ids `[startId, endId)`; with `shuffle`, cut into blocks of
 * `blockSize`, shuffle the blocks, then shuffle inside each block, all with
 * one generator seeded by `(seed, epoch)`. Same manifest + seed + epoch gives
 * the same order; another epoch gives another.
 *
 * @module
 */
import { cutBlocks } from "../lease/blocks.ts";
import { Prng } from "../lease/prng.ts";

/** Inputs of {@linkcode planOrder}. */
export interface PlanOptions {
  /** First sample id (inclusive). */
  startId: number;
  /** One past the last sample id. */
  endId: number;
  /** Shuffle (by block, then within block). */
  shuffle: boolean;
  /** Shuffle seed. */
  seed: bigint | number;
  /** Epoch (selects the generator stream). */
  epoch: number;
  /** Samples per shuffle block (default 65536). */
  blockSize?: number;
}

/**
 * Returns the delivery order of sample ids.
 *
 * @example Same seed and epoch, same order
 * ```ts
 * import assert from "node:assert/strict";
 * import { planOrder } from "./plan.ts";
 * const opts = { startId: 0, endId: 100, shuffle: true, seed: 7, epoch: 0, blockSize: 16 };
 * assert.deepEqual(planOrder(opts), planOrder(opts));
 * ```
 *
 * @param options Range, shuffle, seed, epoch, block size.
 * @returns Sample ids in delivery order.
 */
export function planOrder(options: PlanOptions): Float64Array {
  const { startId, endId } = options;
  const n = Math.max(0, endId - startId);
  const order = new Float64Array(n);
  if (!options.shuffle) {
    for (let i = 0; i < n; i++) order[i] = startId + i;
    return order;
  }
  const prng = new Prng(options.seed, options.epoch);
  const blocks = prng.shuffle(cutBlocks(n, options.blockSize ?? 65536));
  let k = 0;
  for (const b of blocks) {
    const ids = Array.from(
      { length: b.endId - b.startId },
      (_, i) => startId + b.startId + i,
    );
    for (const id of prng.shuffle(ids)) order[k++] = id;
  }
  return order;
}

/**
 * Cuts an order into batches of `batchSize` (the last may be shorter),
 * starting at `position` samples into the order.
 *
 * @param order Sample ids in delivery order.
 * @param batchSize Samples per batch (≥ 1).
 * @param position Samples of the order already delivered.
 * @returns Batches as sub-arrays of `order`.
 */
export function cutBatches(
  order: Float64Array,
  batchSize: number,
  position = 0,
): Float64Array[] {
  const out: Float64Array[] = [];
  for (let i = position; i < order.length; i += batchSize) {
    out.push(order.subarray(i, Math.min(i + batchSize, order.length)));
  }
  return out;
}
