/**
 * What `scripts/bench/coordinator.ts` and its client processes
 * (`_coord_worker.ts`) share.
 *
 * @module
 */

/** Job id the driver's coordinator serves. */
export const JOB = "bench";
/** Samples per progress report. */
export const STEP = 10;
/** Latency histogram resolution: 0.05 ms buckets. */
export const BUCKET_MS = 0.05;

/** What one client process reports. */
export interface WorkerReport {
  /** Bucket index → count, for every RPC started inside the window. */
  hist: Record<string, number>;
  /** RPCs per method inside the window. */
  calls: Record<string, number>;
  /** Failed RPCs inside the window. */
  errors: number;
  /** First error message, if any. */
  firstError?: string;
  /** CPU seconds the process itself used over the window, when it measures it. */
  cpuSeconds?: number;
  /**
   * Per-bin view of the window (native simulator, `--timeline-ms`): for each
   * `binMs` bin by start time, `[heartbeats, request_leases, progress
   * reports, RPCs slower than 5 ms, slowest ms]`.
   */
  timeline?: { binMs: number; bins: number[][] };
  /** RPCs started per 10 ms of the window (native simulator). */
  starts10?: number[];
  /** Runtime that ran the simulator, e.g. `node v20.20.2`. */
  runtime?: string;
}
