/**
 * Capped exponential backoff with jitter for retry loops against the coordinator.
 *
 * @module
 */

/** A backoff sequence: 100 ms, 200 ms, … up to `maxMs`, each with ±50 % jitter. */
export class Backoff {
  #attempt = 0;
  #baseMs: number;
  #maxMs: number;

  /**
   * Creates a backoff.
   *
   * @param baseMs First delay.
   * @param maxMs Largest delay.
   */
  constructor(baseMs = 100, maxMs = 2000) {
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
  }

  /** Delay before the next attempt, in ms. */
  nextDelayMs(): number {
    const d = Math.min(this.#maxMs, this.#baseMs * 2 ** this.#attempt++);
    return d * (0.5 + Math.random() / 2);
  }

  /** Starts over after a success. */
  reset(): void {
    this.#attempt = 0;
  }
}

/**
 * Sleeps, waking early (and rejecting) when the signal aborts.
 *
 * @param ms Milliseconds.
 * @param signal Abort signal.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
