/**
 * The knobs autotune adjusts, and clamping them to a profile's rails.
 *
 * @module
 */

import type { AutotuneProfile, Rail } from "./profiles.ts";

/**
 * The soft knobs autotune may move. Hard caps (`maxInflightBytes`, the RSS
 * cap) are deliberately not knobs: autotune never changes them.
 */
export interface AutotuneKnobs {
  /** Batches being built at once. */
  prefetchBatches: number;
  /** Ready batches the queue may hold. */
  maxQueueBatches: number;
  /** Live leases a distributed node asks for. */
  want: number;
}

/**
 * The profile's start knobs.
 *
 * @param profile The profile.
 * @returns Fresh start knobs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initialKnobs } from "./knobs.ts";
 * import { AUTOTUNE_PROFILES } from "./profiles.ts";
 *
 * assert.deepEqual(initialKnobs(AUTOTUNE_PROFILES.safe), {
 *   prefetchBatches: 1, maxQueueBatches: 32, want: 1,
 * });
 * ```
 */
export function initialKnobs(profile: AutotuneProfile): AutotuneKnobs {
  return {
    prefetchBatches: profile.startPrefetchBatches,
    maxQueueBatches: profile.startMaxQueueBatches,
    want: profile.startWant,
  };
}

/**
 * Rounds each knob down to an integer and clamps it to the profile's rail.
 *
 * @param knobs Knobs, possibly out of the rails.
 * @param profile The profile whose rails apply.
 * @returns New knobs inside the rails.
 * @throws {RangeError} If a knob is not a finite number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clampKnobs } from "./knobs.ts";
 * import { AUTOTUNE_PROFILES } from "./profiles.ts";
 *
 * const knobs = { prefetchBatches: 0, maxQueueBatches: 999, want: 2.7 };
 * assert.deepEqual(clampKnobs(knobs, AUTOTUNE_PROFILES.balanced), {
 *   prefetchBatches: 1, maxQueueBatches: 128, want: 2,
 * });
 * ```
 */
export function clampKnobs(
  knobs: AutotuneKnobs,
  profile: AutotuneProfile,
): AutotuneKnobs {
  return {
    prefetchBatches: clamp(
      "prefetchBatches",
      knobs.prefetchBatches,
      profile.prefetchRail,
    ),
    maxQueueBatches: clamp(
      "maxQueueBatches",
      knobs.maxQueueBatches,
      profile.queueRail,
    ),
    want: clamp("want", knobs.want, profile.wantRail),
  };
}

/**
 * Whether every knob is an integer inside the profile's rails.
 *
 * @param knobs Knobs to test.
 * @param profile The profile whose rails apply.
 * @returns `true` if all knobs are on their rails.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { knobsWithinRails } from "./knobs.ts";
 * import { AUTOTUNE_PROFILES } from "./profiles.ts";
 *
 * const knobs = { prefetchBatches: 9, maxQueueBatches: 64, want: 1 };
 * assert.equal(knobsWithinRails(knobs, AUTOTUNE_PROFILES.balanced), false);
 * ```
 */
export function knobsWithinRails(
  knobs: AutotuneKnobs,
  profile: AutotuneProfile,
): boolean {
  const on = (value: number, rail: Rail) =>
    Number.isInteger(value) && value >= rail.min && value <= rail.max;
  return on(knobs.prefetchBatches, profile.prefetchRail) &&
    on(knobs.maxQueueBatches, profile.queueRail) &&
    on(knobs.want, profile.wantRail);
}

function clamp(what: string, value: number, rail: Rail): number {
  if (!Number.isFinite(value)) {
    throw new RangeError(`Knob must be a finite number: ${what} is ${value}`);
  }
  return Math.min(rail.max, Math.max(rail.min, Math.floor(value)));
}
