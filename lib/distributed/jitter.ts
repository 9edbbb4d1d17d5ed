/**
 * Timer jitter for agents, so that nodes which met the barrier together do
 * not call the coordinator together: a random first phase and periods drawn
 * a little below the nominal one (never above it, so a heartbeat is never
 * later than the coordinator asked for).
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
