/**
 * The statistics of a mix (spec §10): the loader fields over all sources,
 * plus one entry per source.
 *
 * @module
 */
import type { LoaderStats } from "../loader/stats.ts";

/** One source of a mix, as seen by the mix. */
export interface MixSourceStats {
  /** Source name (record key, or its index as a string). */
  name: string;
  /** Its pinned manifest hash (empty until opened). */
  manifestHash: string;
  /** Units (batches, or samples) the mix delivered from it. */
  deliveredUnits: number;
  /** Samples the mix delivered from it. */
  deliveredSamples: number;
  /** Bytes of those samples (decoded tensor, or raw payload). */
  deliveredBytes: number;
  /** Its target share of the units delivered so far (the weights' integral / n). */
  targetShare: number;
  /** Its actual share of the units delivered so far. */
  actualShare: number;
  /** Restarts at its next epoch (`cycle`). */
  repetitions: number;
  /** Whether it has run out (at least once, with `cycle`). */
  ranOut: boolean;
  /** Whether the mix stopped scheduling it (`allow`, or `cycle` past `maxRepetitions`). */
  dropped: boolean;
  /** Seconds the mix waited for its batches. */
  waitSeconds: number;
  /** Whether the source is open (sources open when the plan first reaches them). */
  opened: boolean;
}

/** A snapshot of a mix: the loader fields (summed or shared) plus per-source entries. */
export interface MixStats extends LoaderStats {
  /** `batch` or `sample`. */
  mixGranularity: "batch" | "sample";
  /** Units (batches, or samples) delivered. */
  mixUnitsDelivered: number;
  /** Whether the plan was re-computed on resume (`allowMixChange`). */
  mixReplanned: boolean;
  /** Per source. */
  mixSources: MixSourceStats[];
  /** Decode threads the image sources share (one budget for the mix; 0: no image source). */
  mixDecodeThreadBudget: number;
  /** Most decode threads in use at once so far (never above the budget). */
  mixDecodeThreadsHighWater: number;
  /** Capacity of the one native pool the image sources decode into (0: none). */
  mixDecodePoolBytes: number;
  /**
   * How `sample` batches are made (empty for `batch`): `direct` — the mix
   * decodes each mixed batch's samples in one call straight into its tensor;
   * `copy` — each source decodes its own batches and the mix copies their
   * samples (when a source skips bad images, or sources decode differently).
   */
  mixSampleAssembly: "direct" | "copy" | "";
}

/**
 * Folds the sources' own stats into the loader fields of a mix: counts and
 * depths summed, the autotune view of the first source that has one.
 *
 * @param all The sources' stats.
 * @returns Fields of {@linkcode LoaderStats} that the mix does not own.
 */
export function foldSourceStats(
  all: LoaderStats[],
): Pick<
  LoaderStats,
  | "effectivePrefetchBatches"
  | "effectiveMaxQueueBatches"
  | "effectiveWant"
  | "autotuneEnabled"
  | "autotuneProfile"
  | "autotunePressure"
  | "autotuneLastDecision"
  | "autotuneAdjustmentsTotal"
  | "decodeBackend"
  | "decodeErrorsSkippedTotal"
  | "fetchRetriesTotal"
  | "queueDepthBatches"
  | "prefetchDepthBatches"
> {
  const sum = (f: (s: LoaderStats) => number) =>
    all.reduce((a, s) => a + f(s), 0);
  const tuned = all.find((s) => s.autotuneEnabled);
  return {
    effectivePrefetchBatches: sum((s) => s.effectivePrefetchBatches),
    effectiveMaxQueueBatches: sum((s) => s.effectiveMaxQueueBatches),
    effectiveWant: sum((s) => s.effectiveWant),
    autotuneEnabled: tuned !== undefined,
    autotuneProfile: tuned?.autotuneProfile ?? "",
    autotunePressure: Math.max(0, ...all.map((s) => s.autotunePressure)),
    autotuneLastDecision: tuned?.autotuneLastDecision ?? "",
    autotuneAdjustmentsTotal: sum((s) => s.autotuneAdjustmentsTotal),
    decodeBackend: [...new Set(all.map((s) => s.decodeBackend))].filter(
      Boolean,
    ).join(","),
    decodeErrorsSkippedTotal: sum((s) => s.decodeErrorsSkippedTotal),
    fetchRetriesTotal: sum((s) => s.fetchRetriesTotal),
    queueDepthBatches: sum((s) => s.queueDepthBatches),
    prefetchDepthBatches: sum((s) => s.prefetchDepthBatches),
  };
}
