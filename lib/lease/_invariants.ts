// The lease state machine's invariants, checked from the outside (private).

import type { RangeSet, SampleRange } from "./range_set.ts";

/** A live lease as the invariant check needs it. */
export interface LiveRange extends SampleRange {
  /** Lease id, for messages. */
  readonly leaseId: string;
  /** One past the last delivered sample. */
  readonly cursor: number;
}

/** Where every sample of a job is at one moment. */
export interface WorkLayout {
  /** Samples in the job. */
  totalSamples: number;
  /** Live leases. */
  live: Iterable<LiveRange>;
  /** Completed samples. */
  completed: RangeSet;
  /** Requeue pool. */
  pool: readonly SampleRange[];
  /** Unissued rank queues. */
  queues: readonly (readonly SampleRange[])[];
  /** Whether blocks were dealt (barrier met); before that only completed ranges exist. */
  dealt: boolean;
}

/**
 * Throws unless live leases are pairwise disjoint, each live lease's
 * delivered prefix `[start, cursor)` is completed, and completed ranges, live
 * remainders `[cursor, end)`, pool and queues partition `[0, totalSamples)`
 * (once blocks are dealt).
 */
export function assertLeaseInvariants(layout: WorkLayout): void {
  const leases = [...layout.live].sort((a, b) => a.startId - b.startId);
  for (let i = 1; i < leases.length; i++) {
    if (leases[i].startId < leases[i - 1].endId) {
      throw new Error(
        `Lease invariant broken: live leases overlap: "${
          leases[i - 1].leaseId
        }" and "${leases[i].leaseId}"`,
      );
    }
  }
  for (const lease of leases) {
    const prefix = { startId: lease.startId, endId: lease.cursor };
    if (layout.completed.subtractFrom(prefix).length > 0) {
      throw new Error(
        `Lease invariant broken: delivered prefix not completed: "${lease.leaseId}"`,
      );
    }
  }
  const parts = [
    ...layout.completed.ranges(),
    ...leases.map((l) => ({ startId: l.cursor, endId: l.endId })),
    ...layout.pool,
    ...layout.queues.flat(),
  ].filter((r) => r.endId > r.startId).sort((a, b) => a.startId - b.startId);
  if (!layout.dealt) return;
  let at = 0;
  for (const part of parts) {
    if (part.startId !== at) {
      throw new Error(
        `Lease invariant broken: work does not partition the job at sample ${at}: next range starts at ${part.startId}`,
      );
    }
    at = part.endId;
  }
  if (at !== layout.totalSamples) {
    throw new Error(
      `Lease invariant broken: work ends at ${at}, not ${layout.totalSamples}`,
    );
  }
}
