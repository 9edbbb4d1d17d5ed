/**
 * The loader statistics of spec §4.
 *
 * @module
 */

/** A snapshot of a loader's counters and gauges. */
export interface LoaderStats {
  /** Batches handed to the consumer. */
  deliveredBatchesTotal: number;
  /** Samples handed to the consumer. */
  deliveredSamplesTotal: number;
  /** Bytes reserved now by batches being built or held. */
  inflightBytes: number;
  /** Highest `inflightBytes` so far. */
  inflightHighWaterBytes: number;
  /** Last sampled process RSS. */
  processRssBytes: number;
  /** Max over time of max(inflight, sampled RSS). */
  ramHighWaterBytes: number;
  /** The inflight cap. */
  maxInflightBytes: number;
  /** The RSS cap. */
  maxProcessRssBytes: number;
  /** Current prefetch depth. */
  effectivePrefetchBatches: number;
  /** Current ready-queue bound. */
  effectiveMaxQueueBatches: number;
  /** Current lease demand (distributed mode; 0 otherwise). */
  effectiveWant: number;
  /** Whether autotune drives the knobs. */
  autotuneEnabled: boolean;
  /** Autotune profile (empty when off). */
  autotuneProfile: string;
  /** Autotune memory pressure in [0, 1]. */
  autotunePressure: number;
  /** Last autotune decision (`hard_cut`, `soft_cut`, `increase`, `hold`, or empty). */
  autotuneLastDecision: string;
  /** Knob changes made by autotune. */
  autotuneAdjustmentsTotal: number;
  /** Seconds since the loader started. */
  elapsedSeconds: number;
  /** Seconds the consumer spent waiting for batches. */
  consumerWaitSeconds: number;
  /** Decoder backend (`native`, `sharp`) or `none` for raw batches. */
  decodeBackend: string;
  /** Samples skipped for decode errors (`onDecodeError: "skip"`). */
  decodeErrorsSkippedTotal: number;
  /** Storage requests retried after a transient failure. */
  fetchRetriesTotal: number;
  /** Batches ready and waiting now. */
  queueDepthBatches: number;
  /** Batches being built now. */
  prefetchDepthBatches: number;
}
