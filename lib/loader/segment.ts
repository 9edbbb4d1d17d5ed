/**
 * Segments: the runs of batches a loader works through. Alone, a loader has
 * one segment (its whole planned epoch); in distributed mode each lease is a
 * segment.
 *
 * @module
 */
import type { ManifestRow } from "../manifest/row.ts";
import type { LoaderStats } from "./stats.ts";

/** A run of batches over rows the loader can read. */
export interface Segment {
  /** Sample ids of each batch, in delivery order. */
  batches: Float64Array[];
  /** The manifest row of a sample id in this segment. */
  row(id: number): ManifestRow;
  /** The label id of a sample id (`-1` = none). */
  label(id: number): number;
  /** Called in order when batch `index` is handed to the consumer. */
  delivered?(index: number, ids: Float64Array): void;
  /** Called in order when the consumer is done with batch `index` (next iteration or release). */
  done?(index: number, ids: Float64Array, bytes: number): void;
  /**
   * Reports progress directly (a lease's segments): every sample id below
   * `cursor` was delivered, `samples` of them since the last report. For
   * loaders whose batches are not runs of sample ids (video clips). Calls
   * must come in order with a cursor that never moves backwards (an equal
   * one renews the lease).
   */
  progress?(cursor: number, samples: number, bytes: number): void;
}

/** What every segment of a loader shares. */
export interface SourceInfo {
  /** The pinned manifest hash. */
  manifestHash: string;
  /** Root relative locations resolve against. */
  root: string;
  /** Class names (`classes[labelId]`). */
  classes: string[];
  /**
   * Called after each local shard file is opened (see the sample reader's
   * `checkOpen`): throws when the dataset was repacked since it was
   * resolved. Absent when there is nothing to check.
   */
  checkOpen?: (path: string) => Promise<void>;
}

/** Where a loader's segments come from. */
export interface SegmentSource {
  /** Dataset facts (valid after the first {@linkcode next}). */
  readonly info: SourceInfo;
  /** The next segment, or `null` when there is no more work. */
  next(signal: AbortSignal): Promise<Segment | null>;
  /** Current lease demand (distributed mode), else 0. */
  readonly want: number;
  /** Changes the lease demand (distributed mode; autotune). */
  setWant?(want: number): void;
  /** Stops background work (heartbeats, renewals). */
  close(): Promise<void>;
  /** Gives the source the loader's live stats (for heartbeats). */
  attachStats?(stats: () => LoaderStats): void;
}
