/**
 * One byte budget for every source of a mix, granted in the order the mix
 * will consume batches (spec §10). Each source's batches reserve in the
 * plan's order: a batch is granted only when no other source's next batch
 * comes earlier in the plan. So the bytes held are always for batches the
 * consumer reaches first, a slow consumer throttles every source, a source
 * needed later never takes the bytes of one needed sooner (no deadlock), and
 * a slow source's batches are reserved (and fetched) as early as its turn.
 *
 * @module
 */
import { BatchTooLargeError, ByteBudget } from "../loader/byte_budget.ts";
import type { MixScheduler } from "./scheduler.ts";

interface Waiter {
  bytes: number;
  units: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Look-ahead never runs further than this many units past the consumer. */
const MAX_LOOKAHEAD_UNITS = 1 << 24;

/** The shared budget and the plan it grants by. */
export class SharedBudget {
  /** The effective cap. */
  readonly capBytes: number;
  readonly #perSample: boolean;
  #used = 0;
  #highWater = 0;
  /** Grants and releases so far (a stall check compares it over time). */
  #activity = 0;
  /** Per source: units the plan had consumed when the budget was made. */
  #startGranted: number[];
  /** Look-ahead copy of the consumer's scheduler and the units it produced. */
  #ahead!: MixScheduler;
  #picks: number[] = [];
  /** Absolute unit index of `#picks[#pickOff]`. */
  #base = 0;
  #pickOff = 0;
  /** Per source: units granted (its batches' units, summed). */
  #granted: number[];
  /** Per source: plan position of its next ungranted batch (cached). */
  #nextPos: number[];
  #waiters: Waiter[][];
  #closedSlots: boolean[];
  /** The source whose last granted batch may still top up (−1: none). */
  #turn = -1;
  /** The turn holder's pending top-up. */
  #topUp?: Waiter;
  /** Called (once per source) when the plan's next batch is a source's that asked for nothing yet. */
  #onNeed?: (i: number) => void;
  #needed: boolean[];

  /**
   * Creates the budget.
   *
   * @param capBytes The effective cap.
   * @param plan The consumer's scheduler (copied, not advanced).
   * @param perSample True when units are samples (a batch is as many units
   *   as it has samples), false when a batch is one unit.
   */
  constructor(capBytes: number, plan: MixScheduler, perSample: boolean) {
    if (!(capBytes > 0)) {
      throw new RangeError(`max_inflight_bytes must be > 0, got ${capBytes}`);
    }
    this.capBytes = capBytes;
    this.#perSample = perSample;
    const k = plan.sources;
    this.#granted = new Array(k).fill(0);
    this.#nextPos = new Array(k).fill(NaN);
    this.#waiters = Array.from({ length: k }, () => []);
    this.#closedSlots = new Array(k).fill(false);
    this.#needed = new Array(k).fill(false);
    for (let i = 0; i < k; i++) this.#granted[i] = plan.count(i);
    this.#startGranted = [...this.#granted];
    this.replan(plan);
  }

  /**
   * Starts calling `onNeed(i)` (once per source, in a microtask) when the
   * earliest batch in the plan is source `i`'s and it has not asked for it:
   * the mix opens and primes its sources along the plan, not all at once.
   *
   * @param onNeed Opens and primes source `i`.
   */
  start(onNeed: (i: number) => void): void {
    this.#onNeed = onNeed;
    this.#drain();
  }

  /** Bytes reserved now (all sources). */
  get usedBytes(): number {
    return this.#used;
  }

  /** Highest `usedBytes` so far. */
  get highWaterBytes(): number {
    return this.#highWater;
  }

  /** Counts every grant and release: unchanged means nothing moved. */
  get activity(): number {
    return this.#activity;
  }

  /**
   * The bytes source `i`'s next batch waits for, when only a release can
   * grant them: its pending top-up (it holds the turn), or its first request
   * when that is the plan's next batch, every unit granted to the source was
   * already pulled (so the batch a pull waits for is this one) and it does
   * not fit beside what is reserved.
   *
   * @param i Source index.
   * @param pulledUnits Units pulled from source `i` since the budget was
   *   made (samples under sample units, else batches).
   * @returns The bytes it waits for, or undefined when it is not blocked.
   */
  blockedBytes(i: number, pulledUnits: number): number | undefined {
    const t = this.#topUp;
    if (this.#turn >= 0) {
      return this.#turn === i && t && this.#used + t.bytes > this.capBytes
        ? t.bytes
        : undefined;
    }
    const w = this.#waiters[i][0];
    if (!w || this.#used + w.bytes <= this.capBytes) return undefined;
    if (this.#granted[i] - this.#startGranted[i] > pulledUnits) {
      return undefined;
    }
    const pos = this.#position(i);
    for (let j = 0; j < this.#granted.length; j++) {
      if (j !== i && !this.#closedSlots[j] && this.#position(j) < pos) {
        return undefined;
      }
    }
    return w.bytes;
  }

  /**
   * Restarts the look-ahead from the consumer's scheduler (after a source
   * ran out and the rest was re-planned).
   *
   * @param plan The consumer's scheduler (copied).
   */
  replan(plan: MixScheduler): void {
    this.#ahead = plan.clone();
    this.#picks = [];
    this.#pickOff = 0;
    this.#base = plan.n;
    this.#nextPos.fill(NaN);
    this.#drain();
  }

  /**
   * The consumer delivered `n` units in all (look-ahead before it is dropped).
   *
   * @param n Units delivered.
   */
  consumed(n: number): void {
    while (this.#base < n && this.#pickOff < this.#picks.length) {
      this.#base++;
      this.#pickOff++;
    }
    if (this.#pickOff > 4096 && this.#pickOff * 2 > this.#picks.length) {
      this.#picks = this.#picks.slice(this.#pickOff);
      this.#pickOff = 0;
    }
  }

  /**
   * Source `i` will not reserve again for this plan (it ran out); the
   * others' batches no longer wait for its turn.
   *
   * @param i Source index.
   */
  closeSlot(i: number): void {
    this.#closedSlots[i] = true;
    if (this.#turn === i) this.#turn = -1;
    this.#drain();
  }

  /**
   * Source `i` reserves again (a restarted source in `cycle`).
   *
   * @param i Source index.
   */
  reopenSlot(i: number): void {
    this.#closedSlots[i] = false;
    this.#drain();
  }

  /**
   * Reserves bytes outside the plan (the mix's own output buffer), now.
   *
   * @param bytes Bytes.
   * @throws {BatchTooLargeError} When they do not fit.
   */
  reserveNow(bytes: number): void {
    if (this.#used + bytes > this.capBytes) {
      throw new BatchTooLargeError(this.#used + bytes, this.capBytes);
    }
    this.#take(bytes);
  }

  /**
   * A budget view for source `i` to use as its own.
   *
   * @param i Source index.
   * @returns The view.
   */
  forSource(i: number): ByteBudget {
    return new SourceBudget(this, i);
  }

  /**
   * Reserves `bytes` for source `i`'s next batch of `units` units.
   *
   * @param i Source index.
   * @param bytes Bytes.
   * @param units Units (samples) of the batch.
   * @param signal Aborts the wait.
   * @returns Resolves when granted.
   */
  acquire(
    i: number,
    bytes: number,
    units: number,
    signal?: AbortSignal,
  ): Promise<void> {
    if (bytes > this.capBytes) {
      return Promise.reject(new BatchTooLargeError(bytes, this.capBytes));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (units === 0 && this.#turn !== i) {
      return Promise.reject(
        new Error(`mix budget: source ${i} topped up outside its turn`),
      );
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        bytes,
        units: units === 0 ? 0 : this.#perSample ? Math.max(1, units) : 1,
        resolve,
        reject,
      };
      if (w.units === 0) this.#topUp = w;
      else this.#waiters[i].push(w);
      signal?.addEventListener("abort", () => {
        if (this.#topUp === w) {
          this.#topUp = undefined;
          reject(signal.reason);
          return;
        }
        const q = this.#waiters[i], at = q.indexOf(w);
        if (at >= 0) {
          q.splice(at, 1);
          reject(signal.reason);
          this.#drain();
        }
      }, { once: true });
      this.#drain();
    });
  }

  /**
   * Source `i`'s granted batch reserved all it needs: other batches may be
   * granted again.
   *
   * @param i Source index.
   */
  endTurn(i: number): void {
    if (this.#turn !== i) return;
    this.#turn = -1;
    this.#drain();
  }

  /**
   * Returns bytes and grants what now fits.
   *
   * @param bytes Bytes.
   */
  release(bytes: number): void {
    this.#activity++;
    this.#used -= bytes;
    if (this.#used < 0) {
      throw new Error(`mix budget released more than reserved (${this.#used})`);
    }
    this.#drain();
  }

  #take(bytes: number): void {
    this.#activity++;
    this.#used += bytes;
    if (this.#used > this.#highWater) this.#highWater = this.#used;
  }

  /** Plan position (absolute unit) of source `i`'s next ungranted unit. */
  #position(i: number): number {
    const cached = this.#nextPos[i];
    if (!Number.isNaN(cached)) return cached;
    const want = this.#granted[i] + 1;
    const a = this.#ahead;
    const limit = this.#base + MAX_LOOKAHEAD_UNITS;
    while (a.count(i) < want) {
      if (!a.active(i) || a.n >= limit || a.peek() < 0) {
        return this.#nextPos[i] = Infinity;
      }
      this.#picks.push(a.next());
    }
    // Walk back from the look-ahead's end to the unit that made count = want.
    let c = a.count(i);
    let u = this.#picks.length - 1;
    for (; u >= this.#pickOff; u--) {
      if (this.#picks[u] === i) {
        if (c === want) break;
        c--;
      }
    }
    // Before the consumer's position (u < pickOff): needed now.
    const pos = this.#base + (u - this.#pickOff);
    return this.#nextPos[i] = pos;
  }

  #drain(): void {
    // The turn holder's top-up goes first, and nothing else is granted while
    // its batch may still top up: a top-up then only waits for older batches,
    // which the consumer releases (no deadlock).
    const t = this.#topUp;
    if (t && this.#used + t.bytes <= this.capBytes) {
      this.#topUp = undefined;
      this.#take(t.bytes);
      t.resolve();
    }
    if (this.#turn >= 0) return;
    for (;;) {
      let best = -1, bestPos = Infinity;
      for (let i = 0; i < this.#granted.length; i++) {
        if (this.#closedSlots[i]) continue;
        const p = this.#position(i);
        if (p < bestPos) (best = i, bestPos = p);
      }
      if (best < 0) {
        // Nothing left in the plan (all out): grant in arrival order.
        best = this.#waiters.findIndex((q) => q.length > 0);
        if (best < 0) return;
      }
      const w = this.#waiters[best][0];
      if (!w) {
        const cb = this.#onNeed;
        if (cb && !this.#needed[best] && bestPos < Infinity) {
          this.#needed[best] = true;
          queueMicrotask(() => cb(best));
        }
        return;
      }
      if (this.#used + w.bytes > this.capBytes) return;
      this.#waiters[best].shift();
      this.#take(w.bytes);
      this.#granted[best] += w.units;
      this.#nextPos[best] = NaN;
      this.#turn = best;
      w.resolve();
      return;
    }
  }
}

/** Source `i`'s view of the shared budget (what its loader reserves through). */
class SourceBudget extends ByteBudget {
  readonly #shared: SharedBudget;
  readonly #slot: number;

  constructor(shared: SharedBudget, slot: number) {
    super(shared.capBytes);
    this.#shared = shared;
    this.#slot = slot;
  }

  override get usedBytes(): number {
    return this.#shared.usedBytes;
  }

  override get highWaterBytes(): number {
    return this.#shared.highWaterBytes;
  }

  override acquire(
    bytes: number,
    signal?: AbortSignal,
    units = 1,
  ): Promise<void> {
    return this.#shared.acquire(this.#slot, bytes, units, signal);
  }

  override release(bytes: number): void {
    this.#shared.release(bytes);
  }

  override endTurn(): void {
    this.#shared.endTurn(this.#slot);
  }
}
