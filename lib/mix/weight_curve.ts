/**
 * Mixture weights as piecewise-linear functions of the delivered-unit count,
 * and their exact integrals (the per-source targets of spec §10).
 *
 * @module
 */

/** The sources' weights from a delivered-unit count on. */
export interface WeightPoint {
  /** Delivered units where these weights hold (the first point is at 0). */
  at: number;
  /** One weight per source, normalized (they sum to 1). */
  weights: number[];
}

/**
 * Weights that vary linearly between points (constant after the last), and
 * `∫₀ˣ w_i`. Normalized points interpolate to normalized weights, so the
 * integrals of all sources sum to `x`.
 *
 * @example Two sources moving from 90/10 to 50/50 over 100 units
 * ```ts
 * import assert from "node:assert/strict";
 * import { WeightCurve } from "./weight_curve.ts";
 *
 * const c = new WeightCurve([
 *   { at: 0, weights: [0.9, 0.1] },
 *   { at: 100, weights: [0.5, 0.5] },
 * ]);
 * assert.equal(c.value(0, 50), 0.7);
 * assert.ok(Math.abs(c.integral(0, 100) - 70) < 1e-9);
 * assert.ok(Math.abs(c.integral(1, 200) - 80) < 1e-9);
 * ```
 */
export class WeightCurve {
  readonly #at: number[];
  readonly #w: number[][];
  readonly #cum: number[][];
  /** Number of sources. */
  readonly sources: number;

  /**
   * Creates a curve.
   *
   * @param points Points sorted by `at`, the first at 0, each with one
   *   normalized weight per source.
   * @throws {RangeError} When the points are not in that shape.
   */
  constructor(points: WeightPoint[]) {
    if (points.length === 0 || points[0].at !== 0) {
      throw new RangeError("a weight schedule must start at 0");
    }
    this.sources = points[0].weights.length;
    this.#at = points.map((p) => p.at);
    this.#w = points.map((p) => p.weights.slice());
    for (let p = 1; p < points.length; p++) {
      if (!(this.#at[p] > this.#at[p - 1])) {
        throw new RangeError(
          `schedule points must have increasing "at", got ${
            this.#at[p - 1]
          } then ${this.#at[p]}`,
        );
      }
    }
    this.#cum = [new Array(this.sources).fill(0)];
    for (let p = 1; p < points.length; p++) {
      const len = this.#at[p] - this.#at[p - 1];
      this.#cum.push(
        this.#cum[p - 1].map((c, i) =>
          c + len * (this.#w[p - 1][i] + this.#w[p][i]) / 2
        ),
      );
    }
  }

  /** The `at` of every point. */
  get breakpoints(): readonly number[] {
    return this.#at;
  }

  /** Whether the weights never change. */
  get constant(): boolean {
    return this.#at.length === 1;
  }

  #piece(x: number): number {
    let lo = 0, hi = this.#at.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#at[mid] <= x) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Weight of source `i` at `x` delivered units.
   *
   * @param i Source index.
   * @param x Delivered units (≥ 0).
   * @returns The weight.
   */
  value(i: number, x: number): number {
    const p = this.#piece(x);
    if (p === this.#at.length - 1) return this.#w[p][i];
    const f = (x - this.#at[p]) / (this.#at[p + 1] - this.#at[p]);
    return this.#w[p][i] + f * (this.#w[p + 1][i] - this.#w[p][i]);
  }

  /**
   * `∫₀ˣ w_i`: source `i`'s target after `x` delivered units.
   *
   * @param i Source index.
   * @param x Delivered units (≥ 0).
   * @returns The integral.
   */
  integral(i: number, x: number): number {
    const p = this.#piece(x);
    const dx = x - this.#at[p];
    return this.#cum[p][i] + dx * (this.#w[p][i] + this.value(i, x)) / 2;
  }
}

/**
 * Targets of one phase of a mix: from unit `start` on, the active sources
 * share all the weight (each in proportion to its own weight at every
 * point), starting from the counts they had at `start`. Closed form, so any
 * unit's target costs O(log points).
 */
export class PhaseTargets {
  readonly #curve: WeightCurve;
  readonly #start: number;
  readonly #base: readonly number[];
  readonly #active: readonly boolean[];
  readonly #all: boolean;
  /** Breakpoints from `start` on (the first is `start`). */
  readonly #xs: number[] = [];
  /** Per breakpoint: target minus base of each source. */
  readonly #cum: number[][] = [];

  /**
   * Creates the targets of a phase.
   *
   * @param curve The weights.
   * @param start First unit of the phase.
   * @param base Counts at `start`.
   * @param active Sources scheduled in this phase.
   */
  constructor(
    curve: WeightCurve,
    start: number,
    base: readonly number[],
    active: readonly boolean[],
  ) {
    this.#curve = curve;
    this.#start = start;
    this.#base = base;
    this.#active = active;
    this.#all = !active.includes(false);
    if (this.#all) return;
    const xs = [start, ...curve.breakpoints.filter((x) => x > start)];
    this.#xs = xs;
    const k = curve.sources;
    this.#cum = [new Array(k).fill(0)];
    for (let p = 1; p < xs.length; p++) {
      this.#cum.push(
        this.#cum[p - 1].map((c, i) => c + this.#ratio(i, xs[p - 1], xs[p])),
      );
    }
  }

  /** `∫ w_i / Σ_active w` over `[x0, x]`, with both linear on it. */
  #ratio(i: number, x0: number, x: number): number {
    if (!this.#active[i]) return 0;
    const c = this.#curve, h = x - x0;
    if (h <= 0) return 0;
    const k = c.sources;
    // At x0 and x (linear in between): w_i = a + b·y, S = s + d·y.
    const a = c.value(i, x0), b = (c.value(i, x) - a) / h;
    let s = 0, s1 = 0;
    for (let j = 0; j < k; j++) {
      if (!this.#active[j]) continue;
      s += c.value(j, x0);
      s1 += c.value(j, x);
    }
    if (!(s > 0) || !(s1 > 0)) {
      // No active weight left: share the slots equally.
      return h / this.#active.filter(Boolean).length;
    }
    const d = (s1 - s) / h, r = d / s;
    if (Math.abs(r * h) < 1e-4) {
      // Series of (a + b·y) / (s·(1 + r·y)), accurate where the log form cancels.
      return (a * h + (b - a * r) * h * h / 2 +
        (a * r * r - b * r) * h * h * h / 3 +
        (b * r * r - a * r * r * r) * h * h * h * h / 4) / s;
    }
    return (b / d) * h + ((a * d - b * s) / (d * d)) * Math.log1p(r * h);
  }

  /**
   * Target of source `i` after `x` delivered units (x ≥ start).
   *
   * @param i Source index.
   * @param x Delivered units.
   * @returns The target (an inactive source's stays at its base).
   */
  target(i: number, x: number): number {
    if (!this.#active[i]) return this.#base[i];
    const c = this.#curve;
    if (this.#all) {
      return this.#base[i] + c.integral(i, x) - c.integral(i, this.#start);
    }
    const xs = this.#xs;
    let lo = 0, hi = xs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (xs[mid] <= x) lo = mid;
      else hi = mid - 1;
    }
    return this.#base[i] + this.#cum[lo][i] + this.#ratio(i, xs[lo], x);
  }
}
