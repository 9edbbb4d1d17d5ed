/**
 * De-synchronization for agents, so that nodes which met the barrier
 * together do not call the coordinator together: a random first phase for
 * timers, periods drawn a little below the nominal one (never above it, so a
 * heartbeat is never later than the coordinator asked for), and a random
 * point of each lease at which the next one is prefetched.
 *
 * @module
 */

/** Shortest period drawn by {@linkcode jitteredPeriodMs}, as a fraction of the nominal one. */
export const MIN_PERIOD_FRACTION = 0.9;

/**
 * A random phase in `[0, periodMs)`: the delay before a timer's first tick.
 *
 * @param periodMs The timer's period.
 * @param random Uniform source in `[0, 1)` (default `Math.random`).
 * @returns The delay in ms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomPhaseMs } from "./jitter.ts";
 *
 * assert.equal(randomPhaseMs(1000, () => 0.25), 250);
 * ```
 */
export function randomPhaseMs(
  periodMs: number,
  random: () => number = Math.random,
): number {
  return random() * periodMs;
}

/**
 * A period in `(MIN_PERIOD_FRACTION · periodMs, periodMs]`: timers that
 * happen to tick together drift apart instead of staying in step.
 *
 * @param periodMs The nominal period.
 * @param random Uniform source in `[0, 1)` (default `Math.random`).
 * @returns The period in ms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jitteredPeriodMs } from "./jitter.ts";
 *
 * assert.equal(jitteredPeriodMs(1000, () => 0), 1000);
 * assert.ok(jitteredPeriodMs(1000, () => 0.999) > 900);
 * ```
 */
export function jitteredPeriodMs(
  periodMs: number,
  random: () => number = Math.random,
): number {
  return periodMs * (1 - (1 - MIN_PERIOD_FRACTION) * random());
}

/** Earliest point of a lease, as a fraction of it, at which the next one is prefetched. */
export const PREFETCH_FROM = 0.5;
/** Latest such point (exclusive). */
export const PREFETCH_TO = 0.9;

/**
 * Where in `[startId, endId)` an agent prefetches its next lease: a random
 * point in `[PREFETCH_FROM, PREFETCH_TO)` of the range. Agents fed at the
 * same rate (data-parallel training steps in lock step) finish their leases
 * together; requesting the next one at a random point instead of at the end
 * spreads those requests over 40 % of a lease, and the next lease is ready
 * when the current one ends.
 *
 * @param startId First sample of the lease still to deliver.
 * @param endId One past the lease's last sample.
 * @param random Uniform source in `[0, 1)` (default `Math.random`).
 * @returns The cursor from which to prefetch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prefetchPoint } from "./jitter.ts";
 *
 * assert.equal(prefetchPoint(100, 200, () => 0), 150);
 * assert.equal(prefetchPoint(100, 200, () => 0.5), 170);
 * ```
 */
export function prefetchPoint(
  startId: number,
  endId: number,
  random: () => number = Math.random,
): number {
  const fraction = PREFETCH_FROM + (PREFETCH_TO - PREFETCH_FROM) * random();
  return startId + Math.ceil((endId - startId) * fraction);
}
