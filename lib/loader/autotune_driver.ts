/**
 * Runs the pure autotune controller against a live loader every tick:
 * measures consumer wait, RSS and inflight bytes, applies the new
 * prefetch/queue/want, and logs each change (`autotune_adjustment`).
 * Hard caps (`maxInflightBytes`, the RSS cap) are never touched.
 *
 * @module
 */
import {
  AutotuneController,
  type AutotuneDecision,
} from "../autotune/controller.ts";
import type { AutotuneKnobs } from "../autotune/knobs.ts";
import {
  autotuneProfile,
  type AutotuneProfileName,
} from "../autotune/profiles.ts";

/** Live measurements the driver reads each tick. */
export interface AutotuneProbe {
  /** Total consumer wait so far, in ms (monotonic). */
  consumerWaitMs(): number;
  /** Current RSS in bytes. */
  rssBytes(): number;
  /** RSS cap. */
  rssCapBytes(): number;
  /** Inflight bytes now. */
  inflightBytes(): number;
  /** Inflight cap. */
  inflightCapBytes(): number;
}

/** Structured event log. */
export type LoaderLog = (
  event: string,
  fields: Record<string, unknown>,
) => void;

/** Drives knobs from the controller on a timer. */
export class AutotuneDriver {
  #controller: AutotuneController;
  #probe: AutotuneProbe;
  #apply: (k: AutotuneKnobs) => void;
  #log: LoaderLog;
  #tickMs: number;
  #timer?: ReturnType<typeof setInterval>;
  #lastWait = 0;
  #lastAt = 0;
  /** Knob changes made so far. */
  adjustments = 0;
  /** Last decision (empty before the first tick). */
  lastDecision: AutotuneDecision | "" = "";
  /** Last pressure. */
  pressure = 0;

  /**
   * Creates a driver.
   *
   * @param profile Profile name.
   * @param start Start knobs (clamped to the rails).
   * @param probe Live measurements.
   * @param apply Applies new knobs to the pipeline.
   * @param log Event log.
   * @param tickMs Tick period (spec: 2000).
   */
  constructor(
    profile: AutotuneProfileName,
    start: AutotuneKnobs,
    probe: AutotuneProbe,
    apply: (k: AutotuneKnobs) => void,
    log: LoaderLog,
    tickMs = 2000,
  ) {
    this.#controller = new AutotuneController(profile, start);
    this.#probe = probe;
    this.#apply = apply;
    this.#log = log;
    this.#tickMs = tickMs;
    apply(this.#controller.knobs);
  }

  /** The profile name. */
  get profile(): string {
    return this.#controller.profile.name;
  }

  /** Current knobs. */
  get knobs(): AutotuneKnobs {
    return this.#controller.knobs;
  }

  /** Starts ticking. */
  start(): void {
    this.#lastAt = performance.now();
    this.#lastWait = this.#probe.consumerWaitMs();
    this.#timer = setInterval(() => this.tick(), this.#tickMs);
    Deno.unrefTimer(this.#timer);
  }

  /** Runs one tick now. */
  tick(): void {
    const now = performance.now();
    const wait = this.#probe.consumerWaitMs();
    const elapsed = Math.max(1, now - this.#lastAt);
    const waitRatio = Math.min(
      1,
      Math.max(0, (wait - this.#lastWait) / elapsed),
    );
    this.#lastAt = now;
    this.#lastWait = wait;
    const before = this.#controller.knobs;
    const step = this.#controller.step({
      waitRatio,
      rssBytes: this.#probe.rssBytes(),
      rssCapBytes: this.#probe.rssCapBytes(),
      inflightBytes: this.#probe.inflightBytes(),
      inflightCapBytes: this.#probe.inflightCapBytes(),
    });
    this.lastDecision = step.decision;
    this.pressure = step.state.pressure;
    const after = step.knobs;
    if (
      after.prefetchBatches !== before.prefetchBatches ||
      after.maxQueueBatches !== before.maxQueueBatches ||
      after.want !== before.want
    ) {
      this.adjustments++;
      this.#apply(after);
      this.#log("autotune_adjustment", {
        profile: this.profile,
        decision: step.decision,
        before,
        after,
        wait_ratio: Number(waitRatio.toFixed(3)),
        rss_ratio: Number(step.rssRatio.toFixed(3)),
        inflight_ratio: Number(step.inflightRatio.toFixed(3)),
        pressure: Number(step.state.pressure.toFixed(3)),
      });
    }
  }

  /** Stops ticking. */
  stop(): void {
    clearInterval(this.#timer);
  }
}

/**
 * Resolves the `autotune` option and env (`MX8_AUTOTUNE=1`, `MX8_AUTOTUNE_PROFILE`).
 *
 * @param option The loader option.
 * @returns The profile name when autotune is on, else undefined.
 * @throws {RangeError} On an unknown profile name.
 */
export function autotuneSetting(
  option:
    | boolean
    | { profile?: AutotuneProfileName; tickMs?: number }
    | undefined,
): { profile: AutotuneProfileName; tickMs: number } | undefined {
  const envOn = Deno.env.get("MX8_AUTOTUNE") === "1";
  const on = option === undefined ? envOn : option !== false;
  if (!on) return undefined;
  const name = (typeof option === "object" ? option.profile : undefined) ??
    Deno.env.get("MX8_AUTOTUNE_PROFILE") ?? "balanced";
  const profile = autotuneProfile(name).name;
  const tickMs = typeof option === "object" && option.tickMs
    ? option.tickMs
    : 2000;
  return { profile, tickMs };
}
