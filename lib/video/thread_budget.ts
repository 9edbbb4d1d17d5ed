/**
 * One decode-thread budget for the process: every video decode pass (of
 * every `VideoLoader`) takes its decoder threads from it, so passes at
 * once × threads per pass never exceed the cores.
 *
 * @module
 */

/** A counting semaphore of decoder threads. */
export class ThreadBudget {
  /** Threads in the budget. */
  readonly capacity: number;
  #used = 0;
  #waiting: { n: number; go: () => void }[] = [];

  /**
   * @param capacity Threads (at least 1).
   * @throws {RangeError} When `capacity` is not a positive integer.
   */
  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `A thread budget needs a positive integer: ${capacity}`,
      );
    }
    this.capacity = capacity;
  }

  /** Threads taken now. */
  get used(): number {
    return this.#used;
  }

  /**
   * Runs `fn` holding `n` threads (capped at the capacity), waiting in
   * order for them.
   *
   * @param n Threads wanted.
   * @param fn The work.
   * @returns What `fn` returns.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ThreadBudget } from "./thread_budget.ts";
   * const b = new ThreadBudget(2);
   * assert.equal(await b.run(1, () => Promise.resolve(b.used)), 1);
   * assert.equal(b.used, 0);
   * ```
   */
  async run<T>(n: number, fn: () => Promise<T>): Promise<T> {
    const take = Math.min(Math.max(1, n), this.capacity);
    if (this.#waiting.length > 0 || this.#used + take > this.capacity) {
      await new Promise<void>((go) => this.#waiting.push({ n: take, go }));
    } else {
      this.#used += take;
    }
    try {
      return await fn();
    } finally {
      this.#used -= take;
      while (
        this.#waiting.length > 0 &&
        this.#used + this.#waiting[0].n <= this.capacity
      ) {
        const w = this.#waiting.shift()!;
        this.#used += w.n;
        w.go();
      }
    }
  }
}

let processBudget: ThreadBudget | undefined;

/**
 * The process's decode-thread budget: `MX8_VIDEO_THREADS` threads, else
 * one per core.
 *
 * @returns The shared budget.
 *
 * @example
 * ```ts
 * import { decodeThreadBudget } from "./thread_budget.ts";
 * console.log(decodeThreadBudget().capacity); // the cores
 * ```
 */
export function decodeThreadBudget(): ThreadBudget {
  if (!processBudget) {
    let raw: string | undefined;
    try {
      raw = Deno.env.get("MX8_VIDEO_THREADS");
    } catch {
      raw = undefined; // no env permission: one thread per core
    }
    const env = Number(raw ?? "");
    const cores = Number.isSafeInteger(env) && env > 0
      ? env
      : Math.max(1, navigator.hardwareConcurrency || 1);
    processBudget = new ThreadBudget(cores);
  }
  return processBudget;
}
