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
 * ```ts
 * import { DataLoader, openManifestStore } from "jsr:@mx8/runtime";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/train`);
 * for (let i = 0; i < 5; i++) {
 *   await Deno.writeFile(`${dir}/train/${i}.bin`, new Uint8Array(i + 1));
 * }
 * await using loader = new DataLoader(`${dir}/train@refresh`, {
 *   batchSizeSamples: 2,
 *   maxInflightBytes: 2 ** 20,
 *   manifestStore: openManifestStore(`${dir}/store`),
 *   log: () => {},
 * });
 * const lengths: number[] = [];
 * for await (const batch of loader) {
 *   for (let i = 0; i < batch.sampleIds.length; i++) lengths.push(batch.sample(i).length);
 * }
 * assert.deepEqual(lengths, [1, 2, 3, 4, 5]);
 * assert.ok(loader.stats().inflightHighWaterBytes <= 2 ** 20);
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
