/**
 * Cutting `[0, N)` into blocks and dealing them to ranks.
 *
 * @module
 */

import { Prng } from "./prng.ts";
import type { RangeSet, SampleRange } from "./range_set.ts";

/** The default block size in samples (`--block-size`). */
export const DEFAULT_BLOCK_SIZE = 65536;

/**
 * Cuts `[0, totalSamples)` into consecutive blocks of `blockSize` samples;
 * the last block may be shorter.
 *
 * @param totalSamples Number of samples, a non-negative safe integer.
 * @param blockSize Samples per block, a positive safe integer.
 * @returns The blocks in id order.
 * @throws {RangeError} If an argument is out of bounds.
 *
 * @example Cut ten samples into blocks of four
 * ```ts
 * import assert from "node:assert/strict";
 * import { cutBlocks } from "./blocks.ts";
 *
 * assert.deepEqual(cutBlocks(10, 4), [
 *   { startId: 0, endId: 4 },
 *   { startId: 4, endId: 8 },
 *   { startId: 8, endId: 10 },
 * ]);
 * ```
 */
export function cutBlocks(
  totalSamples: number,
  blockSize: number,
): SampleRange[] {
  if (!Number.isSafeInteger(totalSamples) || totalSamples < 0) {
    throw new RangeError(
      `Total samples must be a non-negative integer: ${totalSamples}`,
    );
  }
  if (!Number.isSafeInteger(blockSize) || blockSize < 1) {
    throw new RangeError(`Block size must be a positive integer: ${blockSize}`);
  }
  const blocks: SampleRange[] = [];
  for (let startId = 0; startId < totalSamples; startId += blockSize) {
    blocks.push({
      startId,
      endId: Math.min(startId + blockSize, totalSamples),
    });
  }
  return blocks;
}

/**
 * Shuffles blocks deterministically: the same seed and epoch give the same
 * order, another epoch gives another order.
 *
 * @param blocks Blocks to shuffle; not modified.
 * @param seed The job seed.
 * @param epoch The epoch, used as the generator's stream.
 * @returns A new array with the blocks in shuffled order.
 *
 * @example Shuffle is a permutation and repeatable
 * ```ts
 * import assert from "node:assert/strict";
 * import { cutBlocks, shuffleBlocks } from "./blocks.ts";
 *
 * const blocks = cutBlocks(100, 10);
 * const once = shuffleBlocks(blocks, 7n, 0);
 * assert.deepEqual(once, shuffleBlocks(blocks, 7n, 0));
 * assert.equal(once.length, blocks.length);
 * ```
 */
export function shuffleBlocks(
  blocks: readonly SampleRange[],
  seed: bigint | number,
  epoch: number,
): SampleRange[] {
  return new Prng(seed, epoch).shuffle([...blocks]);
}

/**
 * Deals blocks round-robin: block `i` goes to rank `i % worldSize`.
 *
 * @param blocks Blocks in dealing order.
 * @param worldSize Number of ranks, a positive integer.
 * @returns One queue per rank, each in dealing order.
 * @throws {RangeError} If `worldSize` is not a positive integer.
 *
 * @example Deal five blocks to two ranks
 * ```ts
 * import assert from "node:assert/strict";
 * import { cutBlocks, dealBlocks } from "./blocks.ts";
 *
 * const queues = dealBlocks(cutBlocks(5, 1), 2);
 * assert.deepEqual(queues.map((q) => q.map((b) => b.startId)), [[0, 2, 4], [1, 3]]);
 * ```
 */
export function dealBlocks(
  blocks: readonly SampleRange[],
  worldSize: number,
): SampleRange[][] {
  if (!Number.isSafeInteger(worldSize) || worldSize < 1) {
    throw new RangeError(`World size must be a positive integer: ${worldSize}`);
  }
  const queues: SampleRange[][] = Array.from({ length: worldSize }, () => []);
  blocks.forEach((block, i) => queues[i % worldSize].push(block));
  return queues;
}

/** Options of {@linkcode planRankQueues}. */
export interface PlanRankQueuesOptions {
  /** Samples in the job. */
  totalSamples: number;
  /** Samples per block. */
  blockSize: number;
  /** Number of ranks. */
  worldSize: number;
  /** Whether to shuffle blocks by seed and epoch before dealing. */
  shuffle: boolean;
  /** The job seed. */
  seed: bigint | number;
  /** The epoch. */
  epoch: number;
  /** Samples already completed (from a resume checkpoint); they are skipped. */
  completed?: RangeSet;
}

/**
 * Cuts, optionally shuffles, and deals blocks to ranks, then removes samples
 * that are already completed. The deal ignores completion, so each rank gets
 * the same blocks on a resume as on the first run; a partly completed block
 * becomes its remaining pieces.
 *
 * @param options What to plan.
 * @returns One queue of ranges per rank.
 * @throws {RangeError} If an option is out of bounds.
 *
 * @example Plan two ranks, skipping a completed prefix
 * ```ts
 * import assert from "node:assert/strict";
 * import { planRankQueues } from "./blocks.ts";
 * import { RangeSet } from "./range_set.ts";
 *
 * const queues = planRankQueues({
 *   totalSamples: 8, blockSize: 2, worldSize: 2, shuffle: false, seed: 0n,
 *   epoch: 0, completed: new RangeSet([{ startId: 0, endId: 3 }]),
 * });
 * assert.deepEqual(queues, [
 *   [{ startId: 4, endId: 6 }],
 *   [{ startId: 3, endId: 4 }, { startId: 6, endId: 8 }],
 * ]);
 * ```
 */
export function planRankQueues(
  options: PlanRankQueuesOptions,
): SampleRange[][] {
  const { totalSamples, blockSize, worldSize, seed, epoch, completed } =
    options;
  let blocks = cutBlocks(totalSamples, blockSize);
  if (options.shuffle) blocks = shuffleBlocks(blocks, seed, epoch);
  const queues = dealBlocks(blocks, worldSize);
  if (completed === undefined || completed.size === 0) return queues;
  return queues.map((queue) =>
    queue.flatMap((block) => completed.subtractFrom(block))
  );
}
