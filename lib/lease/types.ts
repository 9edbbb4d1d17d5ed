/**
 * Data types of the lease state machine: leases, events, counters, snapshots.
 *
 * @module
 */

/** A time-limited grant of a half-open sample range `[startId, endId)` to one node. */
export interface Lease {
  /** Unique id of the lease within the job. */
  leaseId: string;
  /** Node that holds the lease. */
  nodeId: string;
  /** First sample id (inclusive). */
  startId: number;
  /** One past the last sample id (exclusive). */
  endId: number;
  /** Epoch of the range. */
  epoch: number;
  /** Job seed. */
  seed: bigint;
  /** One past the last sample the holder reported delivered. */
  cursor: number;
  /** When the lease expires unless renewed by progress (server clock, Unix ms). */
  expiresUnixTimeMs: number;
}

/** Result of {@linkcode LeaseState.prototype.register}. */
export interface RegisterResult {
  /** Rank of the node in the frozen membership, `-1` until the job is ready. */
  assignedRank: number;
  /** Configured world size before the barrier; frozen member count after. */
  worldSize: number;
  /** Nodes registered (and not departed) right now. */
  registeredNodes: number;
  /** Whether the barrier is met and leases can be requested. */
  jobReady: boolean;
}

/** Result of {@linkcode LeaseState.prototype.requestLease}. */
export interface LeaseGrant {
  /** Newly granted leases, possibly none. */
  leases: Lease[];
  /** How long to wait before asking again; `> 0` iff nothing was granted and the job is not drained. */
  waitMs: number;
  /** Whether every sample of the job is completed. */
  jobDrained: boolean;
}

/** Result of {@linkcode LeaseState.prototype.reportProgress}. */
export interface ProgressResult {
  /** Whether the report completed the lease (cursor reached its end). */
  leaseCompleted: boolean;
  /** Whether every sample of the job is completed. */
  jobDrained: boolean;
}

/** Something the state machine did, for logs; returned by {@linkcode LeaseState.prototype.tick}. */
export type LeaseEvent =
  | {
    /** The barrier was met and membership froze. */
    type: "job_ready";
    /** Frozen member count. */
    worldSize: number;
    /** Member node ids in rank order. */
    members: string[];
  }
  | {
    /** A lease's cursor reached its end. */
    type: "lease_completed";
    /** The lease. */
    leaseId: string;
    /** Its holder. */
    nodeId: string;
    /** Range start. */
    startId: number;
    /** Range end. */
    endId: number;
  }
  | {
    /** A lease passed its expiry without completing. */
    type: "lease_expired";
    /** The lease. */
    leaseId: string;
    /** Its holder. */
    nodeId: string;
    /** Range start. */
    startId: number;
    /** Range end. */
    endId: number;
    /** Last reported cursor. */
    cursor: number;
  }
  | {
    /** The remainder `[cursor, end)` of an expired lease went to the front of the pool. */
    type: "range_requeued";
    /** Remainder start (the expired lease's cursor). */
    startId: number;
    /** Remainder end. */
    endId: number;
    /** The expired lease. */
    leaseId: string;
    /** Its former holder. */
    nodeId: string;
  }
  | {
    /** A node was silent for a lease TTL; its unissued queue went to the back of the pool. */
    type: "node_departed";
    /** The node. */
    nodeId: string;
    /** Its rank, `-1` when it departed before the barrier (it is then forgotten). */
    rank: number;
    /** Ranges moved from its queue to the pool. */
    requeuedRanges: number;
    /** Samples in those ranges. */
    requeuedSamples: number;
  }
  | {
    /** A departed member registered again and took back its rank. */
    type: "node_rejoined";
    /** The node. */
    nodeId: string;
    /** Its rank. */
    rank: number;
  }
  | {
    /** Every sample of the job is completed (reported once). */
    type: "job_drained";
    /** Samples completed. */
    completedSamples: number;
  };

/** Coordinator counters and gauges, keyed by their metric names. */
export interface LeaseCounters {
  /** RegisterNode calls accepted. */
  register_total: number;
  /** Heartbeat calls accepted. */
  heartbeat_total: number;
  /** RequestLease calls accepted. */
  request_lease_total: number;
  /** Leases granted. */
  leases_granted_total: number;
  /** Leases that expired without completing. */
  leases_expired_total: number;
  /** Ranges put in the requeue pool (expired remainders and departed nodes' queues). */
  ranges_requeued_total: number;
  /** ReportProgress calls accepted. */
  progress_total: number;
  /** Live leases (gauge). */
  active_leases: number;
  /** Registered, not departed nodes (gauge). */
  registered_nodes: number;
}

/** What the coordinator knows about one node. */
export interface NodeInfo<Caps = unknown, Stats = unknown> {
  /** Node id. */
  nodeId: string;
  /** Rank in the frozen membership, `-1` before the barrier. */
  rank: number;
  /** Last call from the node (server clock, Unix ms). */
  lastHeartbeatUnixTimeMs: number;
  /** Resources the node declared at (re-)registration. */
  caps: Caps;
  /** Last statistics from a heartbeat, `undefined` before the first. */
  stats: Stats | undefined;
  /** Whether the node was silent for a lease TTL and has not re-registered. */
  departed: boolean;
  /** Sum of `deliveredSamples` over the node's progress reports. */
  deliveredSamples: number;
  /** Sum of `deliveredBytes` over the node's progress reports. */
  deliveredBytes: number;
}

/** Everything GetJobSnapshot reports. */
export interface JobSnapshot<Caps = unknown, Stats = unknown> {
  /** Job id. */
  jobId: string;
  /** Pinned manifest hash. */
  manifestHash: string;
  /** Configured world size before the barrier; frozen member count after. */
  worldSize: number;
  /** Registered, not departed nodes. */
  registeredNodes: number;
  /** Whether the barrier is met. */
  jobReady: boolean;
  /** Whether every sample is completed. */
  jobDrained: boolean;
  /** Live leases. */
  activeLeases: number;
  /** Ranges not leased yet: requeue pool plus unissued rank queues. */
  availableRanges: number;
  /** Ranges in the requeue pool. */
  requeuedRanges: number;
  /** Every known node, sorted by id. */
  nodes: NodeInfo<Caps, Stats>[];
  /** Every live lease, in grant order. */
  liveLeases: Lease[];
  /** Counters and gauges. */
  counters: LeaseCounters;
  /** Samples in the manifest. */
  totalSamples: number;
  /** Samples in completed ranges (including reported prefixes of live leases). */
  completedSamples: number;
  /** The `nowMs` the snapshot was taken at. */
  serverTimeUnixMs: number;
}

/** A completed lease as remembered for resent final reports. */
export interface CompletedLease {
  /** Lease id (one grant of one range: a requeue grants a new id). */
  leaseId: string;
  /** One past its last id (the final report's cursor). */
  endId: number;
}

/**
 * The part of a {@linkcode LeaseStateImage} its etcd keys hold: all but the
 * unissued rank queues, which a new leader re-deals from `meta` (what a
 * leader plans each commit from: lib/ha/view.ts).
 */
export type DurableImage<Caps = unknown> = Omit<
  LeaseStateImage<Caps>,
  "queues"
>;

/** Completed leases remembered per node (see {@linkcode LeaseStateImage}). */
export const RECENT_COMPLETIONS = 8;

/**
 * Everything a {@linkcode LeaseState} must keep across a coordinator
 * failover (spec §12): membership, where each range is, completed samples.
 * Clocks are not part of it: a restored state gives leases and nodes fresh
 * deadlines on the new leader's clock.
 */
export interface LeaseStateImage<Caps = unknown> {
  /** Whether the barrier was met. */
  ready: boolean;
  /** Configured world size before the barrier; frozen member count after. */
  worldSize: number;
  /**
   * Known nodes (rank `-1` before the barrier). `done`: the node's last
   * completed leases (at most {@linkcode RECENT_COMPLETIONS}, oldest
   * first; absent when none), so a final report resent after a failover is
   * answered OK by the new leader (completions are idempotent per lease,
   * i.e. per range and epoch).
   */
  nodes: {
    nodeId: string;
    rank: number;
    departed: boolean;
    caps: Caps;
    done?: CompletedLease[];
  }[];
  /** Live leases: `[startId, cursor)` delivered, `[cursor, endId)` to go. */
  live: {
    leaseId: string;
    nodeId: string;
    startId: number;
    endId: number;
    cursor: number;
  }[];
  /** Requeue pool, front first. */
  pool: { startId: number; endId: number }[];
  /** Unissued rank queues, by rank. */
  queues: { startId: number; endId: number }[][];
  /** Completed samples, sorted and merged. */
  completed: { startId: number; endId: number }[];
}
