/**
 * One source of a mix as the mix tracks it (internal).
 *
 * @module
 */
import type { BaseLoader, MixSourceHooks } from "../loader/base_loader.ts";

/** Any loader made by `loader()` or the loader classes. */
// deno-lint-ignore no-explicit-any
export type MixSource = BaseLoader<any>;

/** One source as the mix tracks it. */
export interface Slot {
  /** Record key, or index as a string. */
  name: string;
  /** The current loader (a restarted one after `cycle`). */
  loader: MixSource;
  hooks: MixSourceHooks<{ release(): void }>;
  /** Epoch the user's loader was given (restarts count from it). */
  baseEpoch: number;
  repetitions: number;
  ranOut: boolean;
  dropped: boolean;
  manifestHash: string;
  units: number;
  samples: number;
  bytes: number;
  waitMs: number;
  /** The loader opened and started building (set once {@linkcode Slot.ready} resolved). */
  opened: boolean;
  /** Opens the source (once; the mix's lazy open along the plan). */
  ready: () => Promise<void>;
  /** Resume token for the source until it opens (`""`: from the start). */
  pendingToken: string;
  /** Pulls waiting for the source's next batch now. */
  pulling: number;
  /** Batches pulled from the source so far (all its loaders). */
  pulledBatches: number;
  /** Samples in them (an empty batch counts 1, as the budget counts it). */
  pulledSamples: number;
}

/**
 * Pulls a source's next batch, timing the wait.
 *
 * @param slot The source.
 * @returns Its next batch, or null when it ran out.
 */
export async function pull(
  slot: Slot,
): Promise<{ release(): void } | null> {
  const t0 = performance.now();
  slot.pulling++;
  try {
    await slot.ready();
    const b = await slot.loader.next() as
      | { release(): void; sampleIds?: ArrayLike<bigint> }
      | null;
    if (b) {
      slot.pulledBatches++;
      slot.pulledSamples += Math.max(1, b.sampleIds?.length ?? 0);
    }
    return b;
  } finally {
    slot.pulling--;
    slot.waitMs += performance.now() - t0;
  }
}
