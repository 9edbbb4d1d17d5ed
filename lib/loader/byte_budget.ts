/**
 * A byte semaphore: the hard cap behind `maxInflightBytes` (spec §5).
 * Reservations wait in FIFO order; a request larger than the cap fails.
 *
 * @module
 */
import { Mx8Error } from "../errors.ts";

/** Thrown when one batch needs more bytes than the whole cap. */
export class BatchTooLargeError extends Mx8Error {
  /** Bytes the batch needs. */
  readonly bytes: number;
  /** The cap. */
  readonly capBytes: number;

  /**
   * Creates the error with the spec's text.
   *
   * @param bytes Bytes the batch needs.
   * @param capBytes The cap.
   */
  constructor(bytes: number, capBytes: number) {
    super(
      `batch payload bytes ${bytes} exceeds max_inflight_bytes ${capBytes}: ` +
        `raise maxInflightBytes or lower batchSizeSamples`,
    );
    this.name = "BatchTooLargeError";
    this.bytes = bytes;
    this.capBytes = capBytes;
  }
}

interface Waiter {
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** A FIFO byte semaphore with high-water tracking. */
export class ByteBudget {
  /** The cap in bytes. */
  readonly capBytes: number;
  #used = 0;
  #highWater = 0;
  #waiters: Waiter[] = [];

  /**
   * Creates a budget.
   *
   * @param capBytes The cap (> 0).
   */
  constructor(capBytes: number) {
    if (!(capBytes > 0)) {
      throw new RangeError(`max_inflight_bytes must be > 0, got ${capBytes}`);
    }
    this.capBytes = capBytes;
  }

  /** Bytes reserved now. */
  get usedBytes(): number {
    return this.#used;
  }

  /** Highest `usedBytes` ever. */
  get highWaterBytes(): number {
    return this.#highWater;
  }

  /**
   * Reserves bytes, waiting (FIFO) until they are free.
   *
   * @param bytes Bytes to reserve.
   * @param signal Aborts the wait.
   * @param _units Samples the bytes are for (a mix's shared budget grants by
   *   them; `0` marks a top-up for the batch whose turn it is; ignored here).
   * @throws {BatchTooLargeError} When `bytes` exceeds the cap.
   */
  acquire(
    bytes: number,
    signal?: AbortSignal,
    _units?: number,
  ): Promise<void> {
    if (bytes > this.capBytes) {
      return Promise.reject(new BatchTooLargeError(bytes, this.capBytes));
    }
    if (this.#waiters.length === 0 && this.#used + bytes <= this.capBytes) {
      this.#take(bytes);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { bytes, resolve, reject };
      this.#waiters.push(waiter);
      signal?.addEventListener("abort", () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) {
          this.#waiters.splice(i, 1);
          reject(signal.reason);
          this.#drain();
        }
      }, { once: true });
    });
  }

  /**
   * Ends the reservations of the batch that was granted last: a batch may
   * top up (`units` 0) until it calls this. A mix's shared budget grants no
   * other batch in between, so a top-up never waits behind younger batches
   * (no deadlock); a plain budget needs nothing here (the loader already
   * orders its own batches).
   */
  endTurn(): void {}

  /**
   * Returns bytes to the budget and wakes waiters that now fit.
   *
   * @param bytes Bytes to release.
   */
  release(bytes: number): void {
    this.#used -= bytes;
    if (this.#used < 0) {
      throw new Error(`ByteBudget released more than reserved (${this.#used})`);
    }
    this.#drain();
  }

  #take(bytes: number): void {
    this.#used += bytes;
    if (this.#used > this.#highWater) this.#highWater = this.#used;
  }

  #drain(): void {
    while (
      this.#waiters.length > 0 &&
      this.#used + this.#waiters[0].bytes <= this.capBytes
    ) {
      const w = this.#waiters.shift()!;
      this.#take(w.bytes);
      w.resolve();
    }
  }
}
