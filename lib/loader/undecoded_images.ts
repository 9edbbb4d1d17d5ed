/**
 * An image loader's batch delivered undecoded, for a mix that decodes the
 * samples of several sources straight into its mixed batches (internal).
 *
 * @module
 */

/**
 * The compressed samples of one image batch, with the reservation a decoded
 * batch would hold: payload, output tensor and decode working memory.
 */
export interface UndecodedImageBatch {
  /** Marks the batch as undecoded. */
  readonly undecoded: true;
  /** Compressed bytes per sample (views of one payload). */
  images: Uint8Array[];
  /** Per sample: the most pixels its reservation assumed (see `DecodeOptions.pixelLimits`). */
  pixelLimits: number[];
  /** Images decoded at once so the batch's working memory fits its reservation. */
  concurrency: number;
  /** Label id per sample (`-1` when unlabeled). */
  labels: BigInt64Array;
  /** Manifest sample id per sample. */
  sampleIds: BigInt64Array;
  /** Where sample `k`'s bytes came from (for error messages). */
  location(k: number): string;
  /**
   * Every sample is decoded: frees the payload and returns the decode
   * working memory's reservation (the tensor's stays until `release`).
   * Idempotent.
   */
  decoded(): void;
  /** Returns the whole reservation. Idempotent. */
  release(): void;
}

/**
 * Whether a batch is an {@linkcode UndecodedImageBatch}.
 *
 * @param b Any batch.
 * @returns True for an undecoded image batch.
 */
export function isUndecoded(b: unknown): b is UndecodedImageBatch {
  return (b as { undecoded?: unknown } | null)?.undecoded === true;
}
