/**
 * The mix scheduler (spec §10): which source the next unit (batch, or
 * sample) comes from. Pure, O(sources) state, computed as it goes.
 *
 * Each block of `blockUnits` units is first filled earliest-deadline-first:
 * of the sources that may take the slot (`count_i + 1 ≤ target_i(n+1) + 1`),
 * the one that would first fall more than 1 behind its target gets it (ties:
 * the largest shortfall `target_i(n+1) − count_i`), which keeps every prefix
 * within ±1 even while scheduled weights move; the block is then shuffled by seeded adjacent swaps, each kept only when every prefix
 * still satisfies `|count_i − target_i(n)| ≤ 1`. So every seed gives an
 * equally exact order, and another seed (or epoch) another order.
 *
 * @module
 */
import { Prng } from "../lease/prng.ts";
import { PhaseTargets, WeightCurve, type WeightPoint } from "./weight_curve.ts";

/** Tolerance of the ±1 prefix bound for floating-point targets. */
export const PREFIX_EPSILON = 1e-9;

/** Units per shuffled block (default). */
export const DEFAULT_BLOCK_UNITS = 16;

/** What fixes a schedule. */
export interface SchedulerConfig {
  /** Weights over delivered units (see {@linkcode WeightCurve}). */
  points: WeightPoint[];
  /** Interleaving seed. */
  seed: bigint;
  /** Interleaving epoch (another epoch, another order). */
  epoch: number;
  /** Units per shuffled block (default 16). */
  blockUnits?: number;
}

/** The scheduler's position: enough to continue exactly (checkpoint field). */
export interface SchedulerState {
  /** Units delivered. */
  n: number;
  /** Unit where the current phase (weights, active sources) began. */
  phaseStart: number;
  /** Counts at the phase start. */
  phaseBase: number[];
  /** Sources still scheduled. */
  active: boolean[];
  /** Unit where the current block began. */
  blockStart: number;
  /** Counts at the block start. */
  blockCounts: number[];
}

/** The deterministic, exact mix scheduler. */
export class MixScheduler {
  readonly #config: SchedulerConfig;
  readonly #curve: WeightCurve;
  readonly #seed: bigint;
  readonly #epoch: number;
  readonly #L: number;
  readonly #k: number;
  #s: SchedulerState;
  #phase!: PhaseTargets;
  /** Deadline cache: the count it was computed for, and the unit. */
  #dlCount: Float64Array;
  #dl: Float64Array;
  /** Sources of the block's units. */
  #block: Int32Array;
  /** Absolute counts after u units of the block: `[u * k + i]`. */
  #pc: Float64Array;
  /** Targets after u units of the block: `[u * k + i]`. */
  #tt: Float64Array;

  /**
   * Creates a scheduler at unit 0, or at `state`.
   *
   * @param config Weights, seed, epoch.
   * @param state A state from {@linkcode state} (default: the start).
   * @throws {RangeError} When the state does not fit the config.
   */
  constructor(config: SchedulerConfig, state?: SchedulerState) {
    this.#config = config;
    this.#curve = new WeightCurve(config.points);
    this.#seed = config.seed;
    this.#epoch = config.epoch;
    this.#L = config.blockUnits ?? DEFAULT_BLOCK_UNITS;
    if (!Number.isSafeInteger(this.#L) || this.#L < 2) {
      throw new RangeError(
        `blockUnits must be an integer >= 2, got ${this.#L}`,
      );
    }
    const k = this.#k = this.#curve.sources;
    this.#block = new Int32Array(this.#L);
    this.#pc = new Float64Array((this.#L + 1) * k);
    this.#tt = new Float64Array((this.#L + 1) * k);
    this.#dlCount = new Float64Array(k).fill(-1);
    this.#dl = new Float64Array(k);
    const zeros = new Array<number>(k).fill(0);
    this.#s = state ? structuredClone(state) : {
      n: 0,
      phaseStart: 0,
      phaseBase: zeros.slice(),
      active: new Array<boolean>(k).fill(true),
      blockStart: 0,
      blockCounts: zeros.slice(),
    };
    for (
      const a of [this.#s.phaseBase, this.#s.active, this.#s.blockCounts]
    ) {
      if (a.length !== k) {
        throw new RangeError(
          `scheduler state has ${a.length} sources, the mix has ${k}`,
        );
      }
    }
    this.#startPhase();
  }

  /** Number of sources. */
  get sources(): number {
    return this.#k;
  }

  /** Units delivered so far. */
  get n(): number {
    return this.#s.n;
  }

  /**
   * A copy of the state (JSON-safe).
   *
   * @returns The state.
   */
  state(): SchedulerState {
    return structuredClone(this.#s);
  }

  /**
   * Units of source `i` so far.
   *
   * @param i Source index.
   * @returns The count.
   */
  count(i: number): number {
    return this.#pc[(this.#s.n - this.#s.blockStart) * this.#k + i];
  }

  /**
   * Source `i`'s target after the units delivered so far.
   *
   * @param i Source index.
   * @returns The target.
   */
  target(i: number): number {
    return this.#tt[(this.#s.n - this.#s.blockStart) * this.#k + i];
  }

  /**
   * Whether source `i` is still scheduled.
   *
   * @param i Source index.
   * @returns True while active.
   */
  active(i: number): boolean {
    return this.#s.active[i];
  }

  /**
   * The source of the next unit, or -1 when no source is active.
   *
   * @returns The source index.
   */
  peek(): number {
    if (!this.#s.active.includes(true)) return -1;
    if (this.#s.n - this.#s.blockStart === this.#L) this.#nextBlock();
    return this.#block[this.#s.n - this.#s.blockStart];
  }

  /**
   * Delivers the next unit and returns its source (-1: none left).
   *
   * @returns The source index.
   */
  next(): number {
    const i = this.peek();
    if (i >= 0) this.#s.n++;
    return i;
  }

  /**
   * Stops scheduling source `i` from now on; the others' remaining weights
   * are renormalized from their current counts (a new phase).
   *
   * @param i Source index.
   */
  exhaust(i: number): void {
    this.#s.active[i] = false;
    this.#newPhase();
  }

  /**
   * A copy that continues independently (for look-ahead).
   *
   * @returns The copy.
   */
  clone(): MixScheduler {
    return new MixScheduler(this.#config, this.#s);
  }

  /**
   * Restarts the targets from the current counts with new weights/seed
   * (resume with `allowMixChange`).
   *
   * @param config The new configuration.
   * @returns A scheduler at the same position under `config`.
   */
  rephased(config: SchedulerConfig): MixScheduler {
    const s = this.state();
    const counts = Array.from({ length: this.#k }, (_, i) => this.count(i));
    const state: SchedulerState = {
      ...s,
      phaseStart: s.n,
      phaseBase: counts,
      blockStart: s.n,
      blockCounts: counts.slice(),
    };
    return new MixScheduler(config, state);
  }

  #newPhase(): void {
    const s = this.#s;
    const counts = Array.from({ length: this.#k }, (_, i) => this.count(i));
    s.phaseStart = s.n;
    s.phaseBase = counts;
    s.blockStart = s.n;
    s.blockCounts = counts.slice();
    this.#startPhase();
  }

  #startPhase(): void {
    const s = this.#s;
    this.#phase = new PhaseTargets(
      this.#curve,
      s.phaseStart,
      s.phaseBase,
      s.active,
    );
    this.#dlCount.fill(-1);
    this.#fillBlock();
  }

  #nextBlock(): void {
    const s = this.#s, k = this.#k, off = this.#L * k;
    s.blockStart = s.n;
    s.blockCounts = Array.from(this.#pc.subarray(off, off + k));
    this.#fillBlock();
  }

  /**
   * The first unit count at which source `i`, holding `c` units, would be
   * more than 1 behind its target (Infinity: never).
   */
  #deadline(i: number, c: number, from: number): number {
    if (this.#dlCount[i] === c) return this.#dl[i];
    const limit = c + 1 + PREFIX_EPSILON;
    const t = (x: number) => this.#phase.target(i, x);
    let lo = from, hi = from;
    let dl = Infinity;
    if (t(hi) > limit) dl = hi;
    else {
      for (let step = 1; step < 2 ** 50; step *= 2) {
        lo = hi;
        hi = lo + step;
        if (t(hi) > limit) break;
      }
      if (t(hi) > limit) {
        // t(lo) <= limit < t(hi): the first unit past the limit is in (lo, hi].
        while (hi - lo > 1) {
          const mid = Math.floor((lo + hi) / 2);
          if (t(mid) > limit) hi = mid;
          else lo = mid;
        }
        dl = hi;
      }
    }
    this.#dlCount[i] = c;
    this.#dl[i] = dl;
    return dl;
  }

  #fillBlock(): void {
    const s = this.#s, k = this.#k, L = this.#L;
    const pc = this.#pc, tt = this.#tt, block = this.#block;
    for (let u = 0; u <= L; u++) {
      for (let i = 0; i < k; i++) {
        tt[u * k + i] = this.#phase.target(i, s.blockStart + u);
      }
    }
    for (let i = 0; i < k; i++) pc[i] = s.blockCounts[i];
    if (!s.active.includes(true)) return;
    for (let u = 0; u < L; u++) {
      const n = s.blockStart + u, r = u * k, r1 = r + k;
      let best = -1, bestDl = Infinity, bestGap = -Infinity;
      for (let i = 0; i < k; i++) {
        if (!s.active[i]) continue;
        const c = pc[r + i], gap = tt[r1 + i] - c;
        // May take the slot: count + 1 stays within target + 1.
        if (gap < -PREFIX_EPSILON) continue;
        const dl = this.#deadline(i, c, n + 1);
        if (
          best < 0 || dl < bestDl || (dl === bestDl && gap > bestGap)
        ) (best = i, bestDl = dl, bestGap = gap);
      }
      if (best < 0) {
        // Unreachable while targets sum to n; the largest shortfall is safe.
        for (let i = 0; i < k; i++) {
          const gap = tt[r1 + i] - pc[r + i];
          if (s.active[i] && gap > bestGap) (best = i, bestGap = gap);
        }
      }
      block[u] = best;
      for (let i = 0; i < k; i++) pc[r1 + i] = pc[r + i];
      pc[r1 + best]++;
    }
    this.#shuffle();
  }

  /** Seeded adjacent swaps that keep every prefix within ±1 of its target. */
  #shuffle(): void {
    const s = this.#s, k = this.#k, L = this.#L;
    const pc = this.#pc, tt = this.#tt, block = this.#block;
    const prng = new Prng(
      this.#seed,
      (BigInt(this.#epoch) << 48n) ^ BigInt(s.blockStart),
    );
    const ok = (v: number) => Math.abs(v) <= 1 + PREFIX_EPSILON;
    for (let t = 0; t < 2 * L; t++) {
      const j = prng.nextBelow(L - 1);
      const a = block[j], b = block[j + 1];
      if (a === b) continue;
      // Swapping units j and j+1 only changes the counts after j+1 units.
      const r = (j + 1) * k;
      if (
        ok(pc[r + a] - 1 - tt[r + a]) && ok(pc[r + b] + 1 - tt[r + b])
      ) {
        block[j] = b;
        block[j + 1] = a;
        pc[r + a]--;
        pc[r + b]++;
      }
    }
  }
}
