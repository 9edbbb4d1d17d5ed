/**
 * The autotune profiles of spec §7: start values, rails and RSS cap fraction.
 *
 * @module
 */

/** Name of an autotune profile. */
export type AutotuneProfileName = "safe" | "balanced" | "throughput";

/** An inclusive integer range a knob must stay in. */
export interface Rail {
  /** Smallest allowed value. */
  readonly min: number;
  /** Largest allowed value. */
  readonly max: number;
}

/** Start values and rails of one profile. */
export interface AutotuneProfile {
  /** Profile name. */
  readonly name: AutotuneProfileName;
  /** Start `maxInflightBytes` (a hard cap: autotune never raises it). */
  readonly startMaxInflightBytes: number;
  /** Start `maxQueueBatches`. */
  readonly startMaxQueueBatches: number;
  /** Start `prefetchBatches`. */
  readonly startPrefetchBatches: number;
  /** Start `want`; the spec gives none, so it equals the start prefetch. */
  readonly startWant: number;
  /** Rail of `prefetchBatches`. */
  readonly prefetchRail: Rail;
  /** Rail of `maxQueueBatches`. */
  readonly queueRail: Rail;
  /** Rail of `want`. */
  readonly wantRail: Rail;
  /** Fraction of the machine/cgroup memory limit used as the default RSS cap. */
  readonly rssCapFraction: number;
}

const MIB = 1048576;

/**
 * The three profiles, exactly as in the spec table.
 *
 * @example Read the balanced profile
 * ```ts
 * import assert from "node:assert/strict";
 * import { AUTOTUNE_PROFILES } from "./profiles.ts";
 *
 * assert.equal(AUTOTUNE_PROFILES.balanced.startMaxQueueBatches, 64);
 * assert.deepEqual(AUTOTUNE_PROFILES.balanced.wantRail, { min: 1, max: 4 });
 * ```
 */
export const AUTOTUNE_PROFILES: Readonly<
  Record<AutotuneProfileName, AutotuneProfile>
> = Object.freeze({
  safe: Object.freeze({
    name: "safe",
    startMaxInflightBytes: 128 * MIB,
    startMaxQueueBatches: 32,
    startPrefetchBatches: 1,
    startWant: 1,
    prefetchRail: Object.freeze({ min: 1, max: 4 }),
    queueRail: Object.freeze({ min: 8, max: 64 }),
    wantRail: Object.freeze({ min: 1, max: 2 }),
    rssCapFraction: 0.6,
  }),
  balanced: Object.freeze({
    name: "balanced",
    startMaxInflightBytes: 256 * MIB,
    startMaxQueueBatches: 64,
    startPrefetchBatches: 2,
    startWant: 2,
    prefetchRail: Object.freeze({ min: 1, max: 8 }),
    queueRail: Object.freeze({ min: 16, max: 128 }),
    wantRail: Object.freeze({ min: 1, max: 4 }),
    rssCapFraction: 0.75,
  }),
  throughput: Object.freeze({
    name: "throughput",
    startMaxInflightBytes: 512 * MIB,
    startMaxQueueBatches: 128,
    startPrefetchBatches: 4,
    startWant: 4,
    prefetchRail: Object.freeze({ min: 2, max: 16 }),
    queueRail: Object.freeze({ min: 32, max: 256 }),
    wantRail: Object.freeze({ min: 1, max: 8 }),
    rssCapFraction: 0.85,
  }),
});

/** The profile used when none is named (`MX8_AUTOTUNE_PROFILE` unset). */
export const DEFAULT_AUTOTUNE_PROFILE: AutotuneProfileName = "balanced";

/**
 * Looks a profile up by name (e.g. from `MX8_AUTOTUNE_PROFILE`).
 *
 * @param name `safe`, `balanced` or `throughput`; empty or omitted means `balanced`.
 * @returns The profile.
 * @throws {RangeError} If the name is not a profile.
 *
 * @example Default and explicit profiles
 * ```ts
 * import assert from "node:assert/strict";
 * import { autotuneProfile } from "./profiles.ts";
 *
 * assert.equal(autotuneProfile().name, "balanced");
 * assert.equal(autotuneProfile("safe").rssCapFraction, 0.6);
 * assert.throws(() => autotuneProfile("turbo"), RangeError);
 * ```
 */
export function autotuneProfile(name?: string): AutotuneProfile {
  const key = name === undefined || name === ""
    ? DEFAULT_AUTOTUNE_PROFILE
    : name;
  if (!Object.hasOwn(AUTOTUNE_PROFILES, key)) {
    throw new RangeError(
      `Unknown autotune profile: "${name}" (expected safe, balanced or throughput)`,
    );
  }
  return AUTOTUNE_PROFILES[key as AutotuneProfileName];
}
