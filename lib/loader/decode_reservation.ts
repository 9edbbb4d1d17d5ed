/**
 * How much decode working memory a batch reserves, and which samples cannot
 * be decoded under the cap at all (pure).
 *
 * A decoder works on at most `concurrency` images of a batch at once, so
 * the batch needs the sum of its `concurrency` largest per-image needs. A
 * sample whose need alone does not fit next to its batch's payload and
 * tensor is refused; when the largest needs together do not fit, the batch
 * decodes fewer images at once instead.
 *
 * @module
 */

/** The plan for one batch. */
export interface DecodeReservation {
  /** Bytes to reserve for decoding (released after the decode). */
  bytes: number;
  /** Images the decoder may work on at once (≥ 1). */
  concurrency: number;
  /** Indices of samples that cannot be decoded within the cap. */
  refused: number[];
}

/** Inputs of {@linkcode planDecodeReservation}. */
export interface DecodeReservationInput {
  /** Per-sample working memory bounds. */
  needs: readonly number[];
  /** What the batch already holds (payload + tensor). */
  heldBytes: number;
  /** `maxInflightBytes`. */
  capBytes: number;
  /** The decoder's concurrency (≥ 1). */
  concurrency: number;
}

/**
 * Plans a batch's decode working memory.
 *
 * @param input Needs, held bytes, cap and decoder concurrency.
 * @returns Bytes to reserve, concurrency, refused samples.
 *
 * @example Two threads, one image too big for the cap
 * ```ts
 * import { planDecodeReservation } from "./decode_reservation.ts";
 * import assert from "node:assert/strict";
 * const plan = planDecodeReservation({ needs: [5, 500, 7, 6], heldBytes: 40, capBytes: 100, concurrency: 2 });
 * assert.deepEqual(plan, { bytes: 13, concurrency: 2, refused: [1] });
 * ```
 */
export function planDecodeReservation(
  input: DecodeReservationInput,
): DecodeReservation {
  const room = input.capBytes - input.heldBytes;
  const refused: number[] = [];
  const ok: number[] = [];
  input.needs.forEach((n, i) => (n > room ? refused : ok).push(i));
  const largest = ok.map((i) => input.needs[i]).sort((a, b) => b - a);
  let concurrency = Math.max(1, Math.min(input.concurrency, largest.length));
  const sum = (k: number) => largest.slice(0, k).reduce((a, b) => a + b, 0);
  while (concurrency > 1 && sum(concurrency) > room) concurrency--;
  return { bytes: sum(concurrency), concurrency, refused };
}
