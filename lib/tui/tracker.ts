/**
 * What the TUI remembers between polls of `GetJobSnapshot` (pure): the last
 * snapshot, the last error, when progress last moved and a short history for
 * samples/s. Progress times use the coordinator's clock
 * (`server_time_unix_ms`) only; local time is used only for "last ok N s ago".
 *
 * @module
 */
import type {
  GetJobSnapshotResponse,
  Lease,
} from "../gen/mx8/v1/coordinator_pb.ts";

/** When a live lease's cursor last changed. */
export interface LeaseMark {
  /** Cursor seen at `sinceMs`. */
  cursor: number;
  /** Coordinator time the cursor was first seen at this value. */
  sinceMs: number;
}

/** One point of the progress history. */
export interface ProgressPoint {
  /** Coordinator time of the snapshot. */
  t: number;
  /** `completed_samples` at that time. */
  done: number;
}

/** Everything the TUI keeps across polls. Never mutated: each poll returns a new one. */
export interface Tracker {
  /** The last snapshot received, if any. */
  readonly snapshot?: GetJobSnapshotResponse;
  /** Polls attempted. */
  readonly polls: number;
  /** Polls that returned a snapshot. */
  readonly okPolls: number;
  /** Failed polls since the last success. */
  readonly consecutiveErrors: number;
  /** Whether the most recent poll succeeded. */
  readonly connected: boolean;
  /** The most recent poll error (kept after a later success, for the record). */
  readonly lastError?: string;
  /** Local clock of the last successful poll. */
  readonly lastOkLocalMs?: number;
  /** Coordinator time the progress measure last changed (or no lease was active). */
  readonly progressSinceMs?: number;
  /** The progress measure at `progressSinceMs` (see {@linkcode progressMeasure}). */
  readonly progressDone?: number;
  /** Progress points inside the rate window (oldest first). */
  readonly history: readonly ProgressPoint[];
  /** Live leases by id, with when their cursor last moved. */
  readonly leases: Readonly<Record<string, LeaseMark>>;
  /** Some snapshot had live leases, completed samples or a drained job. */
  readonly sawLease: boolean;
  /** Some snapshot had a node that reported stats. */
  readonly sawRuntime: boolean;
}

/** Options of {@linkcode trackSnapshot}. */
export interface TrackOptions {
  /** Window for samples/s, in coordinator milliseconds (default 10000). */
  rateWindowMs?: number;
}

/**
 * Returns the tracker before any poll.
 *
 * @returns An empty tracker.
 */
export function newTracker(): Tracker {
  return {
    polls: 0,
    okPolls: 0,
    consecutiveErrors: 0,
    connected: false,
    history: [],
    leases: {},
    sawLease: false,
    sawRuntime: false,
  };
}

/**
 * The number whose changes count as progress for stall detection:
 * `completed_samples` plus, for each live lease, the part below its cursor.
 * The MX8 coordinator already counts samples below reported cursors as
 * completed, so the second term only matters for a coordinator that completes
 * whole ranges; as a change detector, counting twice is harmless. A new lease
 * (cursor at its start) adds nothing; an expired one makes it change.
 *
 * @param snap A snapshot.
 * @returns The measure.
 */
export function progressMeasure(snap: GetJobSnapshotResponse): number {
  let done = Number(snap.completedSamples);
  for (const lease of snap.liveLeases) done += leaseDone(lease);
  return done;
}

function leaseDone(lease: Lease): number {
  const start = Number(lease.range?.startId ?? 0n);
  const end = Number(lease.range?.endId ?? 0n);
  const cursor = Math.min(Number(lease.cursor), end);
  return Math.max(0, cursor - start);
}

/**
 * Records a successful poll.
 *
 * @param prev The tracker so far.
 * @param snap The snapshot the coordinator returned.
 * @param localNowMs Local clock now (only for "last ok" display).
 * @param options Rate window.
 * @returns The new tracker.
 */
export function trackSnapshot(
  prev: Tracker,
  snap: GetJobSnapshotResponse,
  localNowMs: number,
  options: TrackOptions = {},
): Tracker {
  const windowMs = options.rateWindowMs ?? 10_000;
  const now = Number(snap.serverTimeUnixMs);
  const done = progressMeasure(snap);
  const completed = Number(snap.completedSamples);
  // A coordinator clock that went backwards (restart) resets the history.
  const restarted = prev.snapshot !== undefined &&
    now < Number(prev.snapshot.serverTimeUnixMs);

  let progressSinceMs = restarted ? undefined : prev.progressSinceMs;
  let progressDone = restarted ? undefined : prev.progressDone;
  if (
    progressSinceMs === undefined || progressDone !== done ||
    snap.activeLeases === 0
  ) {
    progressSinceMs = now;
    progressDone = done;
  }

  const kept = restarted ? [] : prev.history.filter((p) => p.t < now);
  kept.push({ t: now, done: completed });
  // Keep the newest point at or before the window start as the rate anchor.
  let first = 0;
  while (first + 1 < kept.length && kept[first + 1].t <= now - windowMs) {
    first++;
  }
  const history = kept.slice(first);

  const leases: Record<string, LeaseMark> = {};
  for (const lease of snap.liveLeases) {
    const cursor = Number(lease.cursor);
    const old = restarted ? undefined : prev.leases[lease.leaseId];
    leases[lease.leaseId] = old && old.cursor === cursor
      ? old
      : { cursor, sinceMs: now };
  }

  return {
    snapshot: snap,
    polls: prev.polls + 1,
    okPolls: prev.okPolls + 1,
    consecutiveErrors: 0,
    connected: true,
    lastError: prev.lastError,
    lastOkLocalMs: localNowMs,
    progressSinceMs,
    progressDone,
    history,
    leases,
    sawLease: prev.sawLease || snap.liveLeases.length > 0 ||
      snap.activeLeases > 0 || snap.completedSamples > 0n || snap.jobDrained,
    sawRuntime: prev.sawRuntime || snap.nodes.some((n) => n.stats),
  };
}

/**
 * Records a failed poll; the last snapshot stays on screen.
 *
 * @param prev The tracker so far.
 * @param message What failed (one line).
 * @returns The new tracker.
 */
export function trackError(prev: Tracker, message: string): Tracker {
  return {
    ...prev,
    polls: prev.polls + 1,
    consecutiveErrors: prev.consecutiveErrors + 1,
    connected: false,
    lastError: message,
  };
}
