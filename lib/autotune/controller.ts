/**
 * The autotune controller of spec §7 (AIMD + PID-like), as a pure step
 * function: one tick's signals and the previous state in, new knobs out.
 *
 * @module
 */

import { type AutotuneKnobs, clampKnobs, initialKnobs } from "./knobs.ts";
import {
  type AutotuneProfile,
  autotuneProfile,
  type AutotuneProfileName,
} from "./profiles.ts";

/** Constants of the autotune controller. */
export interface AutotuneTuning {
  /** EWMA smoothing factor of the wait ratio and the RSS ratio. */
  readonly ewmaAlpha: number;
  /** RSS ratio the PID steers the RSS EWMA toward. */
  readonly rssTarget: number;
  /** Proportional gain. */
  readonly kp: number;
  /** Integral gain. */
  readonly ki: number;
  /** Derivative gain. */
  readonly kd: number;
  /** Bound of the integral accumulator (±). */
  readonly integralLimit: number;
  /** Raw RSS ratio at or above which the controller cuts hard. */
  readonly hardCutRssRatio: number;
  /** Raw inflight ratio at or above which the controller cuts hard. */
  readonly hardCutInflightRatio: number;
  /** Pressure at or above which the controller cuts softly. */
  readonly softCutPressure: number;
  /** Wait EWMA above which the consumer is starving (increase wanted). */
  readonly increaseWaitEwma: number;
  /** Highest pressure that still allows an increase. */
  readonly increasePressure: number;
  /** Highest raw inflight ratio that still allows an increase. */
  readonly increaseInflightRatio: number;
  /** Ticks after a hard cut during which no increase happens. */
  readonly cooldownTicks: number;
}

/** Constants of the controller, exactly as in spec §7. */
export const AUTOTUNE_TUNING: AutotuneTuning = Object.freeze({
  ewmaAlpha: 0.2,
  rssTarget: 0.9,
  kp: 1.5,
  ki: 0.2,
  kd: 0.1,
  integralLimit: 0.5,
  hardCutRssRatio: 0.97,
  hardCutInflightRatio: 0.98,
  softCutPressure: 0.6,
  increaseWaitEwma: 0.05,
  increasePressure: 0.3,
  increaseInflightRatio: 0.85,
  cooldownTicks: 2,
});

/** One tick's measurements. */
export interface AutotuneSignals {
  /** Time the consumer was blocked waiting for a batch / tick length, in [0, 1]. */
  waitRatio: number;
  /** Process RSS now. */
  rssBytes: number;
  /** The RSS cap; `<= 0` means unknown (the RSS ratio is then 0). */
  rssCapBytes: number;
  /** Bytes held by the inflight semaphore now. */
  inflightBytes: number;
  /** The inflight cap; `<= 0` means unknown (the inflight ratio is then 0). */
  inflightCapBytes: number;
}

/** State of the PID on the RSS EWMA. */
export interface PidState {
  /** Last proportional term, `kp × error`. */
  p: number;
  /** Integral accumulator: sum of errors, clamped to ±`integralLimit`. */
  i: number;
  /** Last derivative term, `kd × (error − prevError)`. */
  d: number;
  /** Last error, `rssEwma − rssTarget`. */
  prevError: number;
}

/** The controller's memory between ticks. */
export interface AutotuneState {
  /** EWMA of the wait ratio. */
  waitEwma: number;
  /** EWMA of the RSS ratio. */
  rssEwma: number;
  /** PID state. */
  pid: PidState;
  /** Last pressure, in [0, 1]. */
  pressure: number;
  /** Ticks left during which increases are blocked. */
  cooldown: number;
  /** Increases since the last cut; `want` grows on every second one. */
  increases: number;
  /**
   * Ticks run so far. On the first tick (`0`) the EWMAs start at that tick's
   * measurement instead of 0, so a loader that starts under memory pressure
   * sees it at once. States without the field count as already running.
   */
  ticks?: number;
}

/** What the controller decided on a tick (first matching rule). */
export type AutotuneDecision = "hard_cut" | "soft_cut" | "increase" | "hold";

/** Inputs of {@linkcode autotuneStep} besides the signals. */
export interface AutotuneStepOptions {
  /** The profile (or its name) whose rails apply. */
  profile: AutotuneProfile | AutotuneProfileName;
  /** Current knobs. */
  knobs: AutotuneKnobs;
  /** Previous state; omitted means {@linkcode initialAutotuneState}. */
  state?: AutotuneState;
}

/** Output of one tick. */
export interface AutotuneStep {
  /** New knobs, always inside the profile's rails. */
  knobs: AutotuneKnobs;
  /** The rule that matched. */
  decision: AutotuneDecision;
  /** State to pass to the next tick. */
  state: AutotuneState;
  /** Raw RSS ratio of this tick (`rssBytes / rssCapBytes`). */
  rssRatio: number;
  /** Raw inflight ratio of this tick (`inflightBytes / inflightCapBytes`). */
  inflightRatio: number;
}

/**
 * The state before the first tick: EWMAs, PID terms, pressure, cooldown and
 * increase count all zero (so the EWMAs warm up from 0).
 *
 * @returns A fresh state.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initialAutotuneState } from "./controller.ts";
 *
 * assert.equal(initialAutotuneState().pressure, 0);
 * ```
 */
export function initialAutotuneState(): AutotuneState {
  return {
    waitEwma: 0,
    rssEwma: 0,
    pid: { p: 0, i: 0, d: 0, prevError: 0 },
    pressure: 0,
    cooldown: 0,
    increases: 0,
    ticks: 0,
  };
}

/**
 * Runs one controller tick (spec §7, every 2 s):
 *
 * 1. `rssRatio = rssBytes / rssCapBytes`, `inflightRatio = inflightBytes /
 *    inflightCapBytes` (0 when the cap is `<= 0`); `waitRatio` is clamped to [0, 1].
 * 2. `waitEwma += 0.2 × (waitRatio − waitEwma)`, `rssEwma += 0.2 × (rssRatio − rssEwma)`;
 *    on the first tick both start at the measurement.
 * 3. PID: `e = (rssEwma − 0.90) / (1 − 0.90)` (0 at the target, 1 at the cap),
 *    `i = clamp(i + e, −0.5, 0.5)`, `p = 1.5 × e`, `d = 0.1 × (e − prevError)`,
 *    `pressure = clamp(p + 0.2 × i + d, 0, 1)`.
 * 4. First matching rule:
 *    - `hard_cut` if `rssRatio >= 0.97` or `inflightRatio >= 0.98`:
 *      `prefetch = floor(prefetch × 0.5)`, `queue = floor(queue × 0.7)`,
 *      `want = floor(want × 0.5)`, cooldown = 2, increases = 0;
 *    - `soft_cut` if `pressure >= 0.6`: prefetch − 1, queue − 2, increases = 0;
 *    - `increase` if cooldown is 0, `waitEwma > 0.05`, `pressure <= 0.3` and
 *      `inflightRatio <= 0.85`: prefetch + 1, queue + 2, increases + 1, and
 *      want + 1 when the new increase count is even;
 *    - `hold` otherwise.
 *    On every tick that is not a hard cut the cooldown then drops by one, so
 *    the two ticks after a hard cut never increase.
 * 5. Knobs are clamped to the profile's rails (also on `hold`). Hard caps are
 *    not knobs and are never changed.
 *
 * @param signals This tick's measurements.
 * @param options Profile, current knobs and previous state.
 * @returns New knobs, the decision and the next state.
 * @throws {RangeError} If a signal is negative or not finite, or the profile is unknown.
 *
 * @example Starving consumer, low memory: increase
 * ```ts
 * import assert from "node:assert/strict";
 * import { autotuneStep } from "./controller.ts";
 *
 * const step = autotuneStep(
 *   { waitRatio: 1, rssBytes: 1, rssCapBytes: 10, inflightBytes: 0, inflightCapBytes: 10 },
 *   { profile: "balanced", knobs: { prefetchBatches: 2, maxQueueBatches: 64, want: 2 } },
 * );
 * assert.equal(step.decision, "increase");
 * assert.deepEqual(step.knobs, { prefetchBatches: 3, maxQueueBatches: 66, want: 2 });
 * ```
 */
export function autotuneStep(
  signals: AutotuneSignals,
  options: AutotuneStepOptions,
): AutotuneStep {
  const profile = typeof options.profile === "string"
    ? autotuneProfile(options.profile)
    : options.profile;
  const prev = options.state ?? initialAutotuneState();
  for (const [name, value] of Object.entries(signals)) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(
        `Signal must be a non-negative number: ${name} is ${value}`,
      );
    }
  }
  const t = AUTOTUNE_TUNING;
  const waitRatio = Math.min(1, signals.waitRatio);
  const rssRatio = ratio(signals.rssBytes, signals.rssCapBytes);
  const inflightRatio = ratio(signals.inflightBytes, signals.inflightCapBytes);
  const first = prev.ticks === 0;
  const waitEwma = first
    ? waitRatio
    : prev.waitEwma + t.ewmaAlpha * (waitRatio - prev.waitEwma);
  const rssEwma = first
    ? rssRatio
    : prev.rssEwma + t.ewmaAlpha * (rssRatio - prev.rssEwma);

  // Error normalized by the headroom above the target: 0 at the target,
  // 1 at the cap. (A raw `rssEwma − 0.90` never exceeds 0.10, so with
  // Kp 1.5 the pressure could not reach the 0.6 soft-cut line before the
  // 0.97 hard cut — the controller kept increasing at 96 % of the cap.)
  const error = (rssEwma - t.rssTarget) / (1 - t.rssTarget);
  const pid: PidState = {
    p: t.kp * error,
    i: clamp(prev.pid.i + error, -t.integralLimit, t.integralLimit),
    d: t.kd * (error - prev.pid.prevError),
    prevError: error,
  };
  const pressure = clamp(pid.p + t.ki * pid.i + pid.d, 0, 1);

  const k = options.knobs;
  let knobs: AutotuneKnobs = { ...k };
  let decision: AutotuneDecision;
  let cooldown = Math.max(0, prev.cooldown - 1);
  let increases = prev.increases;
  if (
    rssRatio >= t.hardCutRssRatio || inflightRatio >= t.hardCutInflightRatio
  ) {
    decision = "hard_cut";
    knobs = {
      prefetchBatches: Math.floor(k.prefetchBatches * 0.5),
      maxQueueBatches: Math.floor(k.maxQueueBatches * 0.7),
      want: Math.floor(k.want * 0.5),
    };
    cooldown = t.cooldownTicks;
    increases = 0;
  } else if (pressure >= t.softCutPressure) {
    decision = "soft_cut";
    knobs = {
      prefetchBatches: k.prefetchBatches - 1,
      maxQueueBatches: k.maxQueueBatches - 2,
      want: k.want,
    };
    increases = 0;
  } else if (
    prev.cooldown === 0 && waitEwma > t.increaseWaitEwma &&
    pressure <= t.increasePressure && inflightRatio <= t.increaseInflightRatio
  ) {
    decision = "increase";
    increases++;
    knobs = {
      prefetchBatches: k.prefetchBatches + 1,
      maxQueueBatches: k.maxQueueBatches + 2,
      want: k.want + (increases % 2 === 0 ? 1 : 0),
    };
  } else {
    decision = "hold";
  }
  return {
    knobs: clampKnobs(knobs, profile),
    decision,
    state: {
      waitEwma,
      rssEwma,
      pid,
      pressure,
      cooldown,
      increases,
      ticks: (prev.ticks ?? 1) + 1,
    },
    rssRatio,
    inflightRatio,
  };
}

/**
 * A stateful wrapper around {@linkcode autotuneStep} for one loader: it
 * keeps the knobs and state between ticks. Still pure (no clock, no I/O).
 *
 * @example Memory pressure cuts the knobs
 * ```ts
 * import assert from "node:assert/strict";
 * import { AutotuneController } from "./controller.ts";
 *
 * const tuner = new AutotuneController("balanced");
 * const step = tuner.step({
 *   waitRatio: 0, rssBytes: 99, rssCapBytes: 100, inflightBytes: 0, inflightCapBytes: 1,
 * });
 * assert.equal(step.decision, "hard_cut");
 * assert.deepEqual(tuner.knobs, { prefetchBatches: 1, maxQueueBatches: 44, want: 1 });
 * ```
 */
export class AutotuneController {
  /** The profile whose rails apply. */
  readonly profile: AutotuneProfile;
  #knobs: AutotuneKnobs;
  #state: AutotuneState = initialAutotuneState();
  #last: AutotuneDecision = "hold";

  /**
   * Creates a controller.
   *
   * @param profile A profile or its name.
   * @param knobs Start knobs (clamped to the rails); defaults to the profile's start values.
   * @throws {RangeError} If the profile is unknown or a knob is not finite.
   */
  constructor(
    profile: AutotuneProfile | AutotuneProfileName,
    knobs?: AutotuneKnobs,
  ) {
    this.profile = typeof profile === "string"
      ? autotuneProfile(profile)
      : profile;
    this.#knobs = clampKnobs(knobs ?? initialKnobs(this.profile), this.profile);
  }

  /** Current knobs (a copy). */
  get knobs(): AutotuneKnobs {
    return { ...this.#knobs };
  }

  /** Current state (a copy). */
  get state(): AutotuneState {
    return { ...this.#state, pid: { ...this.#state.pid } };
  }

  /** The last decision (`hold` before the first tick). */
  get lastDecision(): AutotuneDecision {
    return this.#last;
  }

  /**
   * Runs one tick and keeps its knobs and state.
   *
   * @param signals This tick's measurements.
   * @returns The tick's output.
   * @throws {RangeError} If a signal is negative or not finite.
   */
  step(signals: AutotuneSignals): AutotuneStep {
    const step = autotuneStep(signals, {
      profile: this.profile,
      knobs: this.#knobs,
      state: this.#state,
    });
    this.#knobs = step.knobs;
    this.#state = step.state;
    this.#last = step.decision;
    return { ...step, knobs: { ...step.knobs } };
  }
}

function ratio(value: number, cap: number): number {
  return cap > 0 ? value / cap : 0;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
