/**
 * The TUI's view model (pure): a {@linkcode Tracker} (last snapshot + poll
 * history) and the thresholds in, everything the screen and the headless
 * status line show out, including the job's health.
 *
 * Health, first match wins (`stalled` > `degraded` > `warming` > `drained` >
 * `healthy`); `unknown` until the first snapshot arrives:
 *
 * - `stalled`: the job is not drained, `active_leases > 0`, and neither
 *   `completed_samples` nor any live lease cursor has moved for at least
 *   `leaseStallMs` of coordinator time (since the TUI first saw the job).
 * - `degraded`: the job is not drained and some node is stale
 *   (`hb_age_ms > staleHeartbeatMs`, or departed) or reports
 *   `process_rss_bytes / max_process_rss_bytes ≥ rssWarnRatio` (0.9).
 * - `warming`: the membership barrier is not met (`job_ready = false`).
 * - `drained`: every range is completed. Agents exit after a drain, so their
 *   heartbeats age out; that alone does not make a drained job degraded.
 * - `healthy`: none of the above.
 *
 * `hb_age_ms = server_time_unix_ms − last_heartbeat_unix_time_ms`: both from
 * the coordinator's clock, so client clock skew never marks a node stale.
 *
 * @module
 */
import type {
  GetJobSnapshotResponse,
  NodeInfo,
} from "../gen/mx8/v1/coordinator_pb.ts";
import type { Tracker } from "./tracker.ts";

/** Health of a job, worst first (plus `unknown` before any snapshot). */
export type Health =
  | "unknown"
  | "stalled"
  | "degraded"
  | "warming"
  | "drained"
  | "healthy";

/** Thresholds of the health rules. */
export interface HealthOptions {
  /** A node whose `hb_age_ms` is above this is stale (default 5000). */
  staleHeartbeatMs: number;
  /** Active leases without progress for this long is a stall (default 10000). */
  leaseStallMs: number;
  /** RSS / cap at or above this marks memory pressure (default 0.9). */
  rssWarnRatio?: number;
}

/** Liveness of one node. */
export type NodeStatus = "ok" | "stale" | "departed";

/** One row of the nodes panel. */
export interface NodeView {
  /** Node id as registered (may contain any text: print with care). */
  nodeId: string;
  /** Rank, -1 before the barrier. */
  rank: number;
  /** Coordinator time since the node's last heartbeat. */
  hbAgeMs: number;
  /** ok, stale (`hb_age_ms` above the threshold) or departed. */
  status: NodeStatus;
  /** Whether the node has reported stats. */
  hasStats: boolean;
  /** Bytes reserved by the inflight semaphore. */
  inflightBytes: number;
  /** Inflight cap (stats, else declared caps); 0 when unknown. */
  inflightCapBytes: number;
  /** RAM high-water bytes. */
  ramHwmBytes: number;
  /** Last sampled RSS. */
  rssBytes: number;
  /** RSS cap (stats, else declared caps); 0 when unknown. */
  ramCapBytes: number;
  /** `rssBytes / ramCapBytes`, undefined when the cap is unknown. */
  rssRatio?: number;
  /** Whether `rssRatio ≥ rssWarnRatio`. */
  rssPressure: boolean;
  /** Effective lease demand. */
  want: number;
  /** Effective prefetch batches. */
  prefetch: number;
  /** Effective max queue batches. */
  queue: number;
  /** Autotune pressure in [0, 1]. */
  pressure: number;
  /** Whether autotune is on. */
  autotune: boolean;
  /** Last autotune decision, or "" when off. */
  decision: string;
  /** Samples the node delivered since it started. */
  deliveredSamples: number;
  /** When the node runs a mix: each source's target vs actual share. */
  mix: { name: string; target: number; actual: number; dropped: boolean }[];
}

/** One live lease. */
export interface LeaseView {
  /** Lease id. */
  leaseId: string;
  /** Holder. */
  nodeId: string;
  /** First sample id (inclusive). */
  start: number;
  /** End sample id (exclusive). */
  end: number;
  /** One past the last delivered sample. */
  cursor: number;
  /** Coordinator time since the cursor last moved (since first seen). */
  idleMs: number;
  /** Whether `idleMs ≥ leaseStallMs`. */
  stuck: boolean;
}

/** Coordinator counters as numbers. */
export interface CounterView {
  /** RegisterNode calls. */
  register: number;
  /** Heartbeat calls. */
  heartbeat: number;
  /** RequestLease calls. */
  requestLease: number;
  /** Leases granted. */
  leasesGranted: number;
  /** Leases expired. */
  leasesExpired: number;
  /** Ranges requeued. */
  rangesRequeued: number;
  /** ReportProgress calls. */
  progress: number;
}

/** Everything the screen shows about the job. */
export interface JobView {
  /** Job health. */
  health: Health;
  /** Why the health is what it is, one short line each (empty when healthy). */
  reasons: string[];
  /** Whether the last poll succeeded. */
  connected: boolean;
  /** The last poll error, if any. */
  lastError?: string;
  /** Failed polls in a row. */
  consecutiveErrors: number;
  /** Local time since the last successful poll. */
  sinceOkMs?: number;
  /** Whether any snapshot was received. */
  hasSnapshot: boolean;
  /** Job id reported by the coordinator. */
  jobId: string;
  /** Pinned manifest hash. */
  manifestHash: string;
  /** Barrier met. */
  ready: boolean;
  /** Every range completed. */
  drained: boolean;
  /** Nodes registered. */
  registeredNodes: number;
  /** Configured world size. */
  worldSize: number;
  /** Live leases. */
  activeLeases: number;
  /** Ranges not yet leased (pool). */
  availableRanges: number;
  /** Ranges in the requeue pool. */
  requeuedRanges: number;
  /** Stale or departed nodes. */
  staleNodes: number;
  /** Largest `hb_age_ms` over all nodes (0 without nodes). */
  maxHbAgeMs: number;
  /** Counters, when the snapshot had them. */
  counters?: CounterView;
  /** Live leases, by lease id. */
  leases: LeaseView[];
  /** Nodes by rank then id. */
  nodes: NodeView[];
  /** Samples in the manifest. */
  totalSamples: number;
  /** Samples the coordinator counts as completed (delivered below a reported cursor). */
  completedSamples: number;
  /** Completed samples per second over the rate window, when measurable. */
  samplesPerSec?: number;
  /** Estimated time to drain, when the rate is positive. */
  etaMs?: number;
  /** Coordinator time without progress while leases are active (0 otherwise). */
  noProgressMs: number;
  /** Coordinator clock of the snapshot. */
  serverTimeMs: number;
  /** The thresholds used. */
  thresholds: Required<HealthOptions>;
  /**
   * HA (`--ha-etcd`), when the coordinator runs it: the leader's URL (""
   * while none is known), its term and the job's failovers so far.
   */
  ha?: { leaderUrl: string; term: number; failovers: number };
}

function nodeView(
  n: NodeInfo,
  serverMs: number,
  opts: Required<HealthOptions>,
): NodeView {
  const s = n.stats;
  const hbAgeMs = Math.max(0, serverMs - Number(n.lastHeartbeatUnixTimeMs));
  const inflightCap = Number(
    s?.maxInflightBytes || n.caps?.maxInflightBytes || 0n,
  );
  const ramCap = Number(s?.maxProcessRssBytes || n.caps?.maxRamBytes || 0n);
  const rss = Number(s?.processRssBytes ?? 0n);
  const rssRatio = s && ramCap > 0 ? rss / ramCap : undefined;
  return {
    nodeId: n.nodeId,
    rank: n.rank,
    hbAgeMs,
    status: n.departed
      ? "departed"
      : hbAgeMs > opts.staleHeartbeatMs
      ? "stale"
      : "ok",
    hasStats: s !== undefined,
    inflightBytes: Number(s?.inflightBytes ?? 0n),
    inflightCapBytes: inflightCap,
    ramHwmBytes: Number(s?.ramHighWaterBytes ?? 0n),
    rssBytes: rss,
    ramCapBytes: ramCap,
    rssRatio,
    rssPressure: rssRatio !== undefined && rssRatio >= opts.rssWarnRatio,
    want: s?.effectiveWant ?? 0,
    prefetch: s?.effectivePrefetchBatches ?? 0,
    queue: s?.effectiveMaxQueueBatches ?? 0,
    pressure: s?.autotunePressure ?? 0,
    autotune: s?.autotuneEnabled ?? false,
    decision: s?.autotuneLastDecision ?? "",
    deliveredSamples: Number(s?.deliveredSamplesTotal ?? 0n),
    mix: (s?.mixSources ?? []).map((m) => ({
      name: m.name,
      target: m.targetShare,
      actual: m.actualShare,
      dropped: m.dropped,
    })),
  };
}

function byRankThenId(a: NodeView, b: NodeView): number {
  const ra = a.rank < 0 ? Number.MAX_SAFE_INTEGER : a.rank;
  const rb = b.rank < 0 ? Number.MAX_SAFE_INTEGER : b.rank;
  if (ra !== rb) return ra - rb;
  return a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0;
}

function rateOf(t: Tracker): number | undefined {
  const h = t.history;
  if (h.length < 2) return undefined;
  const a = h[0];
  const b = h[h.length - 1];
  const dt = b.t - a.t;
  if (dt <= 0) return undefined;
  return Math.max(0, (b.done - a.done) * 1000 / dt);
}

/**
 * Builds the view model.
 *
 * @example Health of an empty tracker
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildView } from "./model.ts";
 * import { newTracker } from "./tracker.ts";
 * const view = buildView(newTracker(), { staleHeartbeatMs: 5000, leaseStallMs: 10000 }, 0);
 * assert.equal(view.health, "unknown");
 * ```
 *
 * @param t The tracker (last snapshot and history).
 * @param options Health thresholds.
 * @param localNowMs Local clock now (only for "last ok N s ago").
 * @returns The view.
 */
export function buildView(
  t: Tracker,
  options: HealthOptions,
  localNowMs: number,
): JobView {
  const opts: Required<HealthOptions> = {
    rssWarnRatio: 0.9,
    ...options,
  };
  const snap: GetJobSnapshotResponse | undefined = t.snapshot;
  const serverMs = Number(snap?.serverTimeUnixMs ?? 0n);
  const nodes = (snap?.nodes ?? []).map((n) => nodeView(n, serverMs, opts))
    .sort(byRankThenId);
  const leases: LeaseView[] = (snap?.liveLeases ?? []).map((l) => {
    const mark = t.leases[l.leaseId];
    const idleMs = mark ? Math.max(0, serverMs - mark.sinceMs) : 0;
    return {
      leaseId: l.leaseId,
      nodeId: l.nodeId,
      start: Number(l.range?.startId ?? 0n),
      end: Number(l.range?.endId ?? 0n),
      cursor: Number(l.cursor),
      idleMs,
      stuck: idleMs >= opts.leaseStallMs,
    };
  }).sort((a, b) => a.leaseId < b.leaseId ? -1 : a.leaseId > b.leaseId ? 1 : 0);
  const c = snap?.counters;
  const total = Number(snap?.totalSamples ?? 0n);
  const completed = Number(snap?.completedSamples ?? 0n);
  const samplesPerSec = rateOf(t);
  const drained = snap?.jobDrained ?? false;
  const activeLeases = snap?.activeLeases ?? 0;
  const noProgressMs = activeLeases > 0 && t.progressSinceMs !== undefined
    ? Math.max(0, serverMs - t.progressSinceMs)
    : 0;

  const view: JobView = {
    health: "unknown",
    reasons: [],
    connected: t.connected,
    lastError: t.lastError,
    consecutiveErrors: t.consecutiveErrors,
    sinceOkMs: t.lastOkLocalMs === undefined
      ? undefined
      : Math.max(0, localNowMs - t.lastOkLocalMs),
    hasSnapshot: snap !== undefined,
    jobId: snap?.jobId ?? "",
    manifestHash: snap?.manifestHash ?? "",
    ...(snap !== undefined && snap.haTerm > 0n
      ? {
        ha: {
          leaderUrl: snap.haLeaderUrl,
          term: Number(snap.haTerm),
          failovers: snap.haFailovers,
        },
      }
      : {}),
    ready: snap?.jobReady ?? false,
    drained,
    registeredNodes: snap?.registeredNodes ?? 0,
    worldSize: snap?.worldSize ?? 0,
    activeLeases,
    availableRanges: snap?.availableRanges ?? 0,
    requeuedRanges: snap?.requeuedRanges ?? 0,
    staleNodes: nodes.filter((n) => n.status !== "ok").length,
    maxHbAgeMs: nodes.reduce((m, n) => Math.max(m, n.hbAgeMs), 0),
    counters: c && {
      register: Number(c.registerTotal),
      heartbeat: Number(c.heartbeatTotal),
      requestLease: Number(c.requestLeaseTotal),
      leasesGranted: Number(c.leasesGrantedTotal),
      leasesExpired: Number(c.leasesExpiredTotal),
      rangesRequeued: Number(c.rangesRequeuedTotal),
      progress: Number(c.progressTotal),
    },
    leases,
    nodes,
    totalSamples: total,
    completedSamples: completed,
    samplesPerSec,
    etaMs: drained
      ? 0
      : samplesPerSec && samplesPerSec > 0 && total > 0
      ? Math.max(0, total - completed) * 1000 / samplesPerSec
      : undefined,
    noProgressMs,
    serverTimeMs: serverMs,
    thresholds: opts,
  };
  if (snap) [view.health, view.reasons] = health(view);
  return view;
}

/**
 * Applies the health rules (see the module doc) to a view whose other fields
 * are filled in.
 *
 * @param v The view.
 * @returns The health and the reasons for it.
 */
export function health(v: JobView): [Health, string[]] {
  const th = v.thresholds;
  if (!v.drained && v.activeLeases > 0 && v.noProgressMs >= th.leaseStallMs) {
    return ["stalled", [
      `no progress for ${v.noProgressMs} ms with ${v.activeLeases} active lease(s) (lease stall after ${th.leaseStallMs} ms)`,
    ]];
  }
  if (!v.drained) {
    const why: string[] = [];
    for (const n of v.nodes) {
      if (n.status === "departed") {
        why.push(`node ${n.nodeId} departed (its work was requeued)`);
      } else if (n.status === "stale") {
        why.push(
          `node ${n.nodeId} stale: hb_age_ms ${n.hbAgeMs} > ${th.staleHeartbeatMs}`,
        );
      }
      if (n.rssPressure) {
        why.push(
          `node ${n.nodeId} rss ${
            Math.round((n.rssRatio ?? 0) * 100)
          }% of max_process_rss_bytes (≥ ${
            Math.round(th.rssWarnRatio * 100)
          }%)`,
        );
      }
    }
    if (why.length > 0) return ["degraded", why];
  }
  if (!v.ready) {
    return ["warming", [
      `membership barrier: ${v.registeredNodes}/${v.worldSize} nodes registered`,
    ]];
  }
  if (v.drained) return ["drained", ["every range is completed"]];
  return ["healthy", []];
}
