/**
 * `mix()` options, their validation, and the normalized form the scheduler
 * and fingerprint use.
 *
 * @module
 */
import type { AutotuneProfileName } from "../autotune/profiles.ts";
import type { WeightPoint } from "./weight_curve.ts";

/** Weights given like the sources: an array (same order) or a record (same names). */
export type MixWeights = readonly number[] | Readonly<Record<string, number>>;

/** One point of a weight schedule. */
export interface MixSchedulePoint {
  /** Delivered samples where these weights hold (the first point is at 0). */
  atSamples: number;
  /** Weights there (≥ 0, not all 0; normalized by the mix). */
  weights: MixWeights;
}

/** Options of `mix()`. */
export interface MixOptions {
  /** Static weights (> 0; normalized). Default: equal. Not with `schedule`. */
  weights?: MixWeights;
  /**
   * Weights as piecewise-linear functions of the delivered-sample count
   * (constant after the last point). In `batch` granularity a batch counts
   * as `batchSizeSamples` samples.
   */
  schedule?: readonly MixSchedulePoint[];
  /** Interleaving seed (default 0). */
  seed?: number | bigint;
  /** Interleaving epoch (default 0); another epoch, another order. */
  epoch?: number;
  /**
   * `batch` (default): each batch comes whole from one source. `sample`:
   * every batch holds the sources' samples in ratio (image sources with one
   * `resizeHw` and dtype).
   */
  granularity?: "batch" | "sample";
  /** Samples per mixed batch in `sample` granularity (default: the first source's). */
  batchSizeSamples?: number;
  /**
   * When a source runs out: `error` (default) names it and its counts;
   * `allow` drains the rest (weights renormalized); `cycle` restarts it at
   * its next epoch until every source has run out once.
   */
  onSourceExhausted?: "error" | "allow" | "cycle";
  /** `cycle`: restarts per source at most (default unlimited); past it the source is dropped as in `allow`. */
  maxRepetitions?: number;
  /** Shared cap for all sources (effective: the min of this and the caps the sources were given). */
  maxInflightBytes?: number;
  /** RSS fail-fast cap for all sources (effective: the min with the sources'). */
  maxProcessRssBytes?: number;
  /**
   * One autotune controller for the whole mix (default: the first source's
   * `autotune` setting, if any): it reads the mix's consumer wait, the RSS
   * and the shared budget, and sets the same prefetch / queue / want on
   * every source; the sources run none of their own.
   */
  autotune?: boolean | { profile?: AutotuneProfileName; tickMs?: number };
  /** A token from a mix's `checkpoint()`. */
  resumeFrom?: string;
  /** Resume even when weights/schedule/seed/epoch changed: re-plan the rest from the recorded counts. */
  allowMixChange?: boolean;
  /** Structured event log (default: one JSON line per event on stderr). */
  log?: (event: string, fields: Record<string, unknown>) => void;
}

/**
 * Normalized weight points in samples (the fingerprint's form).
 *
 * @param names Source names, in order.
 * @param o Options.
 * @returns Points with `at` in samples and weights summing to 1.
 * @throws {TypeError} When weights do not match the sources or are not positive.
 */
export function weightPoints(
  names: readonly string[],
  o: Pick<MixOptions, "weights" | "schedule">,
): WeightPoint[] {
  if (o.weights !== undefined && o.schedule !== undefined) {
    throw new TypeError("mix: pass weights or schedule, not both");
  }
  if (o.schedule !== undefined) {
    if (o.schedule.length === 0) {
      throw new TypeError(
        "mix: schedule needs at least one point (atSamples: 0)",
      );
    }
    return o.schedule.map((p, idx) => {
      if (!Number.isFinite(p.atSamples) || p.atSamples < 0) {
        throw new TypeError(
          `mix: schedule[${idx}].atSamples must be a number >= 0, got ${p.atSamples}`,
        );
      }
      return {
        at: p.atSamples,
        weights: normalize(names, p.weights, `schedule[${idx}].weights`, true),
      };
    });
  }
  const w = o.weights ?? names.map(() => 1);
  return [{ at: 0, weights: normalize(names, w, "weights", false) }];
}

function normalize(
  names: readonly string[],
  w: MixWeights,
  what: string,
  zeroOk: boolean,
): number[] {
  let list: number[];
  if (Array.isArray(w)) {
    if (w.length !== names.length) {
      throw new TypeError(
        `mix: ${what} has ${w.length} entries for ${names.length} sources`,
      );
    }
    list = [...w];
  } else {
    const rec = w as Record<string, number>;
    for (const k of Object.keys(rec)) {
      if (!names.includes(k)) {
        throw new TypeError(
          `mix: ${what} names "${k}", which is not a source (sources: ${
            names.join(", ")
          })`,
        );
      }
    }
    list = names.map((n) => {
      if (!(n in rec)) {
        throw new TypeError(`mix: ${what} has no weight for source "${n}"`);
      }
      return rec[n];
    });
  }
  list.forEach((x, i) => {
    if (!Number.isFinite(x) || x < 0 || (!zeroOk && x === 0)) {
      throw new TypeError(
        `mix: ${what} of "${names[i]}" must be ${
          zeroOk ? ">= 0" : "> 0"
        }, got ${x}`,
      );
    }
  });
  const sum = list.reduce((a, b) => a + b, 0);
  if (!(sum > 0)) throw new TypeError(`mix: ${what} are all 0`);
  return list.map((x) => x / sum);
}

/**
 * Scales points from samples to scheduler units.
 *
 * @param points Points in samples.
 * @param samplesPerUnit 1 (sample granularity) or the batch size.
 * @returns Points in units.
 */
export function pointsInUnits(
  points: readonly WeightPoint[],
  samplesPerUnit: number,
): WeightPoint[] {
  return points.map((p) => ({ at: p.at / samplesPerUnit, weights: p.weights }));
}
