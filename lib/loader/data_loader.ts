/**
 * `DataLoader`: raw batches `{ sampleIds, offsets, payload, labelIds }`
 * under the memory contract.
 *
 * @module
 */
import { BaseLoader, type BuildContext } from "./base_loader.ts";
import type { Built } from "./pipeline.ts";

/** A batch of raw sample bytes. */
export interface RawBatch {
  /** Manifest sample id of each sample. */
  sampleIds: BigInt64Array;
  /** B+1 offsets into `payload`: sample `i` is `payload[offsets[i], offsets[i+1])`. */
  offsets: BigInt64Array;
  /** All samples' bytes back to back; freed (reads as empty) on release. */
  payload: Uint8Array;
  /** Label id of each sample (`-1` when unlabeled). */
  labelIds: BigInt64Array;
  /** Sample `i`'s bytes (a view into `payload`). */
  sample(i: number): Uint8Array;
  /**
   * Frees the payload and returns its bytes to the budget now (else on the
   * next iteration); copy what you keep longer. Idempotent.
   */
  release(): void;
}

/**
 * Reads a dataset as raw batches under a hard memory cap.
 *
 * @example Read every sample's bytes
 * ```ts ignore
 * import { DataLoader } from "@mx8/runtime";
 *
 * await using loader = new DataLoader("/data/train@refresh", {
 *   batchSizeSamples: 32,
 *   maxInflightBytes: 64 * 2 ** 20,
 * });
 * for await (const batch of loader) {
 *   for (let i = 0; i < batch.sampleIds.length; i++) console.log(batch.sample(i).length);
 * }
 * console.log(loader.stats().inflightHighWaterBytes);
 * ```
 */
export class DataLoader extends BaseLoader<RawBatch> {
  /** @inheritdoc */
  protected get decodeBackend(): string {
    return "none";
  }

  /** @inheritdoc */
  protected async buildBatch(ctx: BuildContext): Promise<Built<RawBatch>> {
    const f = await ctx.fetch(0);
    const offsets = BigInt64Array.from(f.offsets, BigInt);
    // Frees the payload now rather than at some later GC (it reads as
    // empty after release), then returns the bytes to the budget.
    const release = () => {
      f.freePayload();
      f.release();
    };
    const value: RawBatch = {
      sampleIds: BigInt64Array.from(ctx.ids, BigInt),
      offsets,
      payload: f.payload,
      labelIds: BigInt64Array.from(
        ctx.ids,
        (id) => BigInt(ctx.segment.label(id)),
      ),
      sample: (i) => f.payload.subarray(f.offsets[i], f.offsets[i + 1]),
      release,
    };
    return { value, release };
  }
}
