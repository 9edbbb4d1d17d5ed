/**
 * Coarse deadlines for the hot path: one shared interval timer (running only
 * while something is watched) fires every deadline that has passed, instead
 * of a `setTimeout` + `clearTimeout` pair per request, which costs a few
 * microseconds each on Deno. Deadlines fire up to {@linkcode TICK_MS} late.
 *
 * @module
 */

/** How often passed deadlines are looked for (ms). */
export const TICK_MS = 250;

/** A watched deadline. */
export interface Deadline {
  /** `performance.now()` ms at which it fires. */
  readonly at: number;
  /** Called once when it passed (unless cancelled before). */
  readonly late: () => void;
}

const watched = new Set<Deadline>();
let ticker: ReturnType<typeof setInterval> | undefined;

function tick(): void {
  const now = performance.now();
  for (const d of watched) {
    if (now >= d.at) {
      watched.delete(d);
      d.late();
    }
  }
  if (watched.size === 0) {
    clearInterval(ticker);
    ticker = undefined;
  }
}

/**
 * Calls `late` once `ms` have passed, unless {@linkcode unwatch} is called
 * first. The timer does not keep the process alive.
 *
 * @param ms Milliseconds from now.
 * @param late What to do then.
 * @returns The deadline, for {@linkcode unwatch}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unwatch, watch } from "./deadlines.ts";
 * let fired = false;
 * const d = watch(0, () => fired = true);
 * unwatch(d);
 * await new Promise((r) => setTimeout(r, 300));
 * assert.equal(fired, false);
 * ```
 */
export function watch(ms: number, late: () => void): Deadline {
  const d = { at: performance.now() + ms, late };
  watched.add(d);
  if (ticker === undefined) {
    ticker = setInterval(tick, TICK_MS);
    Deno.unrefTimer(ticker as unknown as number);
  }
  return d;
}

/**
 * Stops watching a deadline (idempotent).
 *
 * @param d The deadline.
 */
export function unwatch(d: Deadline): void {
  watched.delete(d);
}
