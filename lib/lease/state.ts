/**
 * The lease state machine of one job (spec §6), free of I/O and clocks.
 *
 * @module
 */

import { DEFAULT_BLOCK_SIZE, planRankQueues } from "./blocks.ts";
import { encodeCheckpoint } from "./checkpoint.ts";
import { LeaseError } from "./errors.ts";
import { checkRange, RangeSet, type SampleRange } from "./range_set.ts";
import {
  compareIds,
  requireCount,
  requireId,
  requireInt,
  requireTime,
} from "./_checks.ts";
import { assertLeaseInvariants } from "./_invariants.ts";
import { LiveIndex } from "./live_index.ts";
import {
  type CompletedLease,
  type DurableImage,
  type JobSnapshot,
  type Lease,
  type LeaseCounters,
  type LeaseEvent,
  type LeaseGrant,
  type LeaseStateImage,
  type NodeInfo,
  type ProgressResult,
  RECENT_COMPLETIONS,
  type RegisterResult,
} from "./types.ts";

/** Default `waitMs` answered when a lease request gets nothing. */
export const DEFAULT_RETRY_WAIT_MS = 500;

/** Options of {@linkcode LeaseState}. */
export interface LeaseStateOptions {
  /** Job id, non-empty. */
  jobId: string;
  /** Samples in the manifest; work is `[0, totalSamples)`. */
  totalSamples: number;
  /** Samples per block. Defaults to {@linkcode DEFAULT_BLOCK_SIZE}. */
  blockSize?: number;
  /** Nodes the barrier waits for. */
  worldSize: number;
  /**
   * When set, the barrier is met as soon as this many nodes registered
   * (`1 <= minWorldSize <= worldSize`); the membership then freezes with
   * exactly those nodes and later nodes are refused.
   */
  minWorldSize?: number;
  /** Lease lifetime without progress, and node silence before departure. */
  leaseTtlMs: number;
  /** Whether blocks are shuffled by seed and epoch before dealing. Defaults to `false`. */
  shuffle?: boolean;
  /** Job seed. */
  seed: bigint | number;
  /** Epoch. */
  epoch: number;
  /** Pinned manifest hash. */
  manifestHash: string;
  /** Ranges already completed (from a parsed resume checkpoint); they are never leased. */
  completed?: readonly SampleRange[];
  /** `waitMs` answered when a request gets nothing. Defaults to {@linkcode DEFAULT_RETRY_WAIT_MS}. */
  retryWaitMs?: number;
  /** Prefix of lease ids (pass something unique per coordinator run). Defaults to `"lease-"`. */
  leaseIdPrefix?: string;
  /** Check every invariant after each mutation (slow; for tests). Defaults to `false`. */
  checkInvariants?: boolean;
}

interface NodeRecord<Caps, Stats> {
  nodeId: string;
  rank: number;
  lastHeartbeatUnixTimeMs: number;
  caps: Caps;
  stats: Stats | undefined;
  departed: boolean;
  deliveredSamples: number;
  deliveredBytes: number;
  /** Last completed leases, oldest first (kept across a failover). */
  done: CompletedLease[];
}

interface LiveLease {
  leaseId: string;
  nodeId: string;
  startId: number;
  endId: number;
  cursor: number;
  expiresUnixTimeMs: number;
}

interface FinishedLease {
  nodeId: string;
  endId: number;
  outcome: "completed" | "expired";
}

type Counter = Exclude<
  keyof LeaseCounters,
  "active_leases" | "registered_nodes"
>;

/**
 * The lease state machine of one job. Every method takes the server clock
 * `nowMs` explicitly; client clocks are never trusted.
 *
 * Rules chosen where the spec leaves room:
 * - Barrier: membership freezes as soon as `minWorldSize ?? worldSize` nodes
 *   are registered; ranks are indices in code-unit order of node ids.
 *   Before the barrier a node silent for a TTL is forgotten.
 * - `want` is the most live leases a node may hold at once: a request grants
 *   up to `want` minus the leases the node already holds, first from the
 *   front of the requeue pool, then from the node's own rank queue.
 * - Progress moves `[oldCursor, cursor)` into the completed set at once, so
 *   completed ranges, live remainders `[cursor, end)`, the pool and the rank
 *   queues always partition `[0, totalSamples)`.
 * - Leases expire only in {@linkcode LeaseState.prototype.tick}; any call
 *   from a node counts as a heartbeat. A departed node must register again
 *   (it gets its rank back; its old queue stays in the pool).
 *
 * @typeParam Caps What nodes declare at registration (opaque here).
 * @typeParam Stats What nodes report with heartbeats (opaque here).
 *
 * @example Two nodes drain a small job
 * ```ts
 * import assert from "node:assert/strict";
 * import { LeaseState } from "./state.ts";
 *
 * const state = new LeaseState({
 *   jobId: "j", totalSamples: 10, blockSize: 5, worldSize: 2,
 *   leaseTtlMs: 1000, seed: 0n, epoch: 0, manifestHash: "h",
 * });
 * state.register("b", {}, 0);
 * assert.equal(state.register("a", {}, 0).jobReady, true);
 * const [lease] = state.requestLease("a", 1, 1).leases;
 * assert.deepEqual([lease.startId, lease.endId], [0, 5]);
 * state.reportProgress("a", lease.leaseId, 5, 5, 500, 2);
 * const [other] = state.requestLease("b", 1, 3).leases;
 * state.reportProgress("b", other.leaseId, 10, 5, 500, 4);
 * assert.equal(state.jobDrained, true);
 * ```
 */
export class LeaseState<Caps = unknown, Stats = unknown> {
  /** Job id. */
  readonly jobId: string;
  /** Samples in the manifest. */
  readonly totalSamples: number;
  /** Samples per block. */
  readonly blockSize: number;
  /** Lease lifetime without progress (ms). */
  readonly leaseTtlMs: number;
  /** Whether blocks are shuffled before dealing. */
  readonly shuffle: boolean;
  /** Job seed. */
  readonly seed: bigint;
  /** Epoch. */
  readonly epoch: number;
  /** Pinned manifest hash. */
  readonly manifestHash: string;

  #worldSize: number;
  #barrier: number;
  #retryWaitMs: number;
  #leaseIdPrefix: string;
  #paranoid: boolean;
  #nodes = new Map<string, NodeRecord<Caps, Stats>>();
  #ready = false;
  #queues: SampleRange[][] = [];
  #pool: SampleRange[] = [];
  #live = new Map<string, LiveLease>();
  /** The live leases by start and per node (O(log n) grants). */
  #index = new LiveIndex();
  #finished = new Map<string, FinishedLease>();
  #durableVersion = 0;
  #completed: RangeSet;
  #nextLease = 1;
  #drainReported = false;
  #pending: LeaseEvent[] = [];
  #counters: Record<Counter, number> = {
    register_total: 0,
    heartbeat_total: 0,
    request_lease_total: 0,
    leases_granted_total: 0,
    leases_expired_total: 0,
    ranges_requeued_total: 0,
    progress_total: 0,
  };

  /**
   * Creates the state of a job that has not met its barrier yet.
   *
   * @param options The job's configuration.
   * @throws {RangeError} If an option is out of bounds or a completed range
   * is malformed, overlaps another or lies outside `[0, totalSamples)`.
   */
  constructor(options: LeaseStateOptions) {
    const {
      jobId,
      totalSamples,
      blockSize = DEFAULT_BLOCK_SIZE,
      worldSize,
      minWorldSize,
      leaseTtlMs,
      epoch,
      manifestHash,
    } = options;
    if (typeof jobId !== "string" || jobId === "") {
      throw new RangeError("Job id must not be empty");
    }
    requireInt("Total samples", totalSamples, 0);
    requireInt("Block size", blockSize, 1);
    requireInt("World size", worldSize, 1);
    if (minWorldSize !== undefined) {
      requireInt("Min world size", minWorldSize, 1);
      if (minWorldSize > worldSize) {
        throw new RangeError(
          `Min world size exceeds world size: ${minWorldSize} > ${worldSize}`,
        );
      }
    }
    requireInt("Lease TTL", leaseTtlMs, 1);
    requireInt("Epoch", epoch, 0);
    this.#retryWaitMs = options.retryWaitMs ?? DEFAULT_RETRY_WAIT_MS;
    requireInt("Retry wait", this.#retryWaitMs, 1);
    this.jobId = jobId;
    this.totalSamples = totalSamples;
    this.blockSize = blockSize;
    this.leaseTtlMs = leaseTtlMs;
    this.shuffle = options.shuffle ?? false;
    this.seed = BigInt(options.seed);
    this.epoch = epoch;
    this.manifestHash = manifestHash;
    this.#worldSize = worldSize;
    this.#barrier = minWorldSize ?? worldSize;
    this.#leaseIdPrefix = options.leaseIdPrefix ?? "lease-";
    this.#paranoid = options.checkInvariants ?? false;
    this.#completed = new RangeSet();
    for (const range of options.completed ?? []) {
      checkRange(range);
      if (range.endId > totalSamples) {
        throw new RangeError(
          `Completed range exceeds the job: [${range.startId}, ${range.endId}) with ${totalSamples} samples`,
        );
      }
      this.#completed.add(range);
    }
  }

  /** Whether the barrier is met (membership frozen). */
  get jobReady(): boolean {
    return this.#ready;
  }

  /**
   * Counts the changes a failover must not lose — membership, caps,
   * barrier, grants, completions, expiries and departures — but not
   * heartbeats or cursor progress inside a lease; also answers that
   * acknowledge a completion without changing anything (a resent final
   * report). An HA leader commits to etcd before answering only when it
   * moved, and then waits for every durable write planned before
   * (lib/coordinator/ha.ts).
   */
  get durableVersion(): number {
    return this.#durableVersion;
  }

  /** Whether every sample of `[0, totalSamples)` is completed. */
  get jobDrained(): boolean {
    return this.#completed.size === this.totalSamples;
  }

  /** Configured world size before the barrier; frozen member count after. */
  get worldSize(): number {
    return this.#worldSize;
  }

  /** Counters and gauges, keyed by metric name. */
  get counters(): LeaseCounters {
    let registered = 0;
    for (const node of this.#nodes.values()) if (!node.departed) registered++;
    return {
      ...this.#counters,
      active_leases: this.#live.size,
      registered_nodes: registered,
    };
  }

  /**
   * Registers a node, or refreshes it (same rank, new caps, heartbeat).
   * Before the barrier any new node joins; the registration that reaches
   * `minWorldSize ?? worldSize` nodes freezes the membership and deals the
   * blocks. After that only members may register; a departed member rejoins
   * its rank.
   *
   * @param nodeId Node id, non-empty.
   * @param caps Resources the node declares.
   * @param nowMs Server clock.
   * @returns The node's rank and the barrier state.
   * @throws {LeaseError} `invalid_argument` for an empty id;
   * `failed_precondition` for a new node after the membership froze.
   */
  register(nodeId: string, caps: Caps, nowMs: number): RegisterResult {
    requireId("Node id", nodeId);
    requireTime(nowMs);
    let node = this.#nodes.get(nodeId);
    if (node === undefined) {
      if (this.#ready) {
        const members = [...this.#nodes.keys()].sort(compareIds);
        const shown = members.slice(0, 8).map((m) => `"${m}"`).join(", ") +
          (members.length > 8 ? `, … (${members.length - 8} more)` : "");
        throw new LeaseError(
          "failed_precondition",
          `Membership is frozen: node "${nodeId}" is not one of the ${this.#worldSize} members (${shown}); ` +
            `a member restarted after a crash must register with its old node id`,
        );
      }
      node = {
        nodeId,
        rank: -1,
        lastHeartbeatUnixTimeMs: nowMs,
        caps,
        stats: undefined,
        departed: false,
        deliveredSamples: 0,
        deliveredBytes: 0,
        done: [],
      };
      this.#nodes.set(nodeId, node);
    }
    node.caps = caps;
    node.lastHeartbeatUnixTimeMs = nowMs;
    if (node.departed) {
      node.departed = false;
      this.#pending.push({ type: "node_rejoined", nodeId, rank: node.rank });
    }
    this.#counters.register_total++;
    this.#durableVersion++;
    if (!this.#ready && this.#nodes.size >= this.#barrier) this.#freeze();
    this.#afterMutation();
    return {
      assignedRank: node.rank,
      worldSize: this.#worldSize,
      registeredNodes: this.counters.registered_nodes,
      jobReady: this.#ready,
    };
  }

  /**
   * Records a heartbeat and the node's latest statistics.
   *
   * @param nodeId A registered, not departed node.
   * @param stats The node's statistics.
   * @param nowMs Server clock.
   * @throws {LeaseError} `invalid_argument` for an empty id;
   * `failed_precondition` for an unknown or departed node.
   */
  heartbeat(nodeId: string, stats: Stats, nowMs: number): void {
    requireId("Node id", nodeId);
    requireTime(nowMs);
    const node = this.#member(nodeId);
    node.stats = stats;
    node.lastHeartbeatUnixTimeMs = nowMs;
    this.#counters.heartbeat_total++;
  }

  /**
   * Grants up to `want` minus the node's live leases: first from the front
   * of the requeue pool, then from the node's rank queue.
   *
   * @param nodeId A registered, not departed node.
   * @param want Most live leases the node wants to hold, a positive integer.
   * @param nowMs Server clock.
   * @returns The new leases, a wait hint and whether the job is drained.
   * @throws {LeaseError} `invalid_argument` for an empty id or `want` < 1;
   * `failed_precondition` for an unknown or departed node or before the barrier.
   */
  requestLease(nodeId: string, want: number, nowMs: number): LeaseGrant {
    requireId("Node id", nodeId);
    requireTime(nowMs);
    if (!Number.isSafeInteger(want) || want < 1) {
      throw new LeaseError(
        "invalid_argument",
        `Want must be a positive integer: ${want}`,
      );
    }
    const node = this.#member(nodeId);
    if (!this.#ready) {
      throw new LeaseError(
        "failed_precondition",
        `Membership barrier not met: ${this.#nodes.size} of ${this.#barrier} nodes registered`,
      );
    }
    node.lastHeartbeatUnixTimeMs = nowMs;
    this.#counters.request_lease_total++;
    const held = this.#index.heldBy(nodeId);
    const queue = this.#queues[node.rank];
    const leases: Lease[] = [];
    while (held + leases.length < want) {
      const range = this.#pool.shift() ?? queue.shift();
      if (range === undefined) break;
      leases.push(this.#grant(nodeId, range, nowMs));
    }
    const jobDrained = this.jobDrained;
    this.#afterMutation();
    return {
      leases,
      waitMs: leases.length === 0 && !jobDrained ? this.#retryWaitMs : 0,
      jobDrained,
    };
  }

  /**
   * Advances a lease's cursor (one past the last delivered sample) and renews
   * its expiry; the newly delivered samples become completed, and a cursor
   * at the end completes the lease. Repeating the final report of a lease
   * the caller completed is accepted as a no-op.
   *
   * @param nodeId The lease holder.
   * @param leaseId The lease.
   * @param cursor New cursor, in `[startId, endId]` and not below the current one.
   * @param deliveredSamples Samples delivered since the last report (for stats).
   * @param deliveredBytes Bytes delivered since the last report (for stats).
   * @param nowMs Server clock.
   * @returns Whether the lease and the job are complete.
   * @throws {LeaseError} `invalid_argument` for empty ids, negative counts or
   * a cursor outside the lease; `failed_precondition` for an unknown or
   * departed node, a lease held by another node or a cursor moving
   * backwards; `not_found` for an unknown, expired or completed lease.
   */
  reportProgress(
    nodeId: string,
    leaseId: string,
    cursor: number,
    deliveredSamples: number,
    deliveredBytes: number,
    nowMs: number,
  ): ProgressResult {
    requireId("Node id", nodeId);
    requireId("Lease id", leaseId);
    requireTime(nowMs);
    requireCount("Cursor", cursor);
    requireCount("Delivered samples", deliveredSamples);
    requireCount("Delivered bytes", deliveredBytes);
    const node = this.#member(nodeId);
    const lease = this.#live.get(leaseId);
    if (lease === undefined) {
      const finished = this.#finished.get(leaseId);
      if (
        finished?.outcome === "completed" && finished.nodeId === nodeId &&
        cursor === finished.endId
      ) {
        node.lastHeartbeatUnixTimeMs = nowMs;
        // No change, but the answer acknowledges a completion: an HA leader
        // answers it once every durable change so far is in etcd (the
        // completion may still be on its way).
        this.#durableVersion++;
        return { leaseCompleted: true, jobDrained: this.jobDrained };
      }
      throw new LeaseError(
        "not_found",
        `Lease not found: "${leaseId}"${
          finished ? ` (${finished.outcome})` : ""
        }`,
      );
    }
    if (lease.nodeId !== nodeId) {
      throw new LeaseError(
        "failed_precondition",
        `Lease is not yours: "${leaseId}" is held by "${lease.nodeId}", not "${nodeId}"`,
      );
    }
    if (cursor < lease.startId || cursor > lease.endId) {
      throw new LeaseError(
        "invalid_argument",
        `Cursor outside the lease: ${cursor} not in [${lease.startId}, ${lease.endId}]`,
      );
    }
    if (cursor < lease.cursor) {
      throw new LeaseError(
        "failed_precondition",
        `Cursor moved backwards: ${cursor} < ${lease.cursor}`,
      );
    }
    node.lastHeartbeatUnixTimeMs = nowMs;
    node.deliveredSamples += deliveredSamples;
    node.deliveredBytes += deliveredBytes;
    this.#counters.progress_total++;
    this.#completed.add({ startId: lease.cursor, endId: cursor });
    lease.cursor = cursor;
    lease.expiresUnixTimeMs = nowMs + this.leaseTtlMs;
    const leaseCompleted = cursor === lease.endId;
    if (leaseCompleted) {
      this.#durableVersion++;
      this.#live.delete(leaseId);
      this.#index.remove(lease);
      node.done.push({ leaseId, endId: lease.endId });
      if (node.done.length > RECENT_COMPLETIONS) node.done.shift();
      this.#finished.set(leaseId, {
        nodeId,
        endId: lease.endId,
        outcome: "completed",
      });
      this.#pending.push({
        type: "lease_completed",
        leaseId,
        nodeId,
        startId: lease.startId,
        endId: lease.endId,
      });
    }
    this.#afterMutation();
    return { leaseCompleted, jobDrained: this.jobDrained };
  }

  /**
   * The maintenance tick (call at least once a second): expires leases whose
   * expiry is at or before `nowMs` and puts their remainders `[cursor, end)`
   * at the front of the pool (earliest granted first); departs members
   * silent for a lease TTL and moves their unissued queues to the back of the
   * pool. Before the barrier, silent nodes are forgotten instead.
   *
   * @param nowMs Server clock.
   * @returns What happened since the previous tick, including events of
   * other calls (`job_ready`, `lease_completed`, `node_rejoined`).
   */
  tick(nowMs: number): LeaseEvent[] {
    requireTime(nowMs);
    const events = this.#pending.splice(0);
    if (!this.#ready) {
      for (const node of [...this.#nodes.values()]) {
        if (nowMs - node.lastHeartbeatUnixTimeMs >= this.leaseTtlMs) {
          this.#nodes.delete(node.nodeId);
          events.push({
            type: "node_departed",
            nodeId: node.nodeId,
            rank: -1,
            requeuedRanges: 0,
            requeuedSamples: 0,
          });
          this.#durableVersion++;
        }
      }
      return events;
    }
    const remainders: SampleRange[] = [];
    for (const lease of [...this.#live.values()]) {
      if (lease.expiresUnixTimeMs > nowMs) continue;
      this.#live.delete(lease.leaseId);
      this.#index.remove(lease);
      this.#finished.set(lease.leaseId, {
        nodeId: lease.nodeId,
        endId: lease.endId,
        outcome: "expired",
      });
      this.#counters.leases_expired_total++;
      this.#counters.ranges_requeued_total++;
      remainders.push({ startId: lease.cursor, endId: lease.endId });
      const { leaseId, nodeId, startId, endId, cursor } = lease;
      events.push({
        type: "lease_expired",
        leaseId,
        nodeId,
        startId,
        endId,
        cursor,
      });
      events.push({
        type: "range_requeued",
        startId: cursor,
        endId,
        leaseId,
        nodeId,
      });
    }
    this.#pool.unshift(...remainders);
    for (const node of this.#nodes.values()) {
      if (
        node.departed ||
        nowMs - node.lastHeartbeatUnixTimeMs < this.leaseTtlMs
      ) continue;
      node.departed = true;
      const queue = this.#queues[node.rank].splice(0);
      this.#pool.push(...queue);
      this.#counters.ranges_requeued_total += queue.length;
      events.push({
        type: "node_departed",
        nodeId: node.nodeId,
        rank: node.rank,
        requeuedRanges: queue.length,
        requeuedSamples: queue.reduce((n, r) => n + r.endId - r.startId, 0),
      });
    }
    if (
      remainders.length > 0 || events.some((e) => e.type === "node_departed")
    ) {
      this.#durableVersion++;
    }
    if (!this.#drainReported && this.jobDrained) {
      this.#drainReported = true;
      events.push({
        type: "job_drained",
        completedSamples: this.#completed.size,
      });
    }
    this.#afterMutation();
    return events;
  }

  /**
   * Everything GetJobSnapshot reports.
   *
   * @param nowMs Server clock, echoed as `serverTimeUnixMs`.
   * @returns A snapshot that shares no mutable state with the machine.
   */
  snapshot(nowMs: number): JobSnapshot<Caps, Stats> {
    const nodes: NodeInfo<Caps, Stats>[] = [...this.#nodes.values()]
      .sort((a, b) => compareIds(a.nodeId, b.nodeId))
      .map(({ done: _done, ...node }) => ({ ...node }));
    const queued = this.#queues.reduce((n, q) => n + q.length, 0);
    const counters = this.counters;
    return {
      jobId: this.jobId,
      manifestHash: this.manifestHash,
      worldSize: this.#worldSize,
      registeredNodes: counters.registered_nodes,
      jobReady: this.#ready,
      jobDrained: this.jobDrained,
      activeLeases: this.#live.size,
      availableRanges: this.#pool.length + queued,
      requeuedRanges: this.#pool.length,
      nodes,
      liveLeases: this.liveLeases(),
      counters,
      totalSamples: this.totalSamples,
      completedSamples: this.#completed.size,
      serverTimeUnixMs: nowMs,
    };
  }

  /**
   * The live leases, in grant order.
   *
   * @returns Copies of the live leases.
   */
  liveLeases(): Lease[] {
    return [...this.#live.values()].map((lease) => this.#toLease(lease));
  }

  /**
   * The completed samples, sorted and merged.
   *
   * @returns Copies of the completed ranges.
   */
  completedRanges(): SampleRange[] {
    return this.#completed.ranges();
  }

  /**
   * A resume token: completed ranges, manifest hash, epoch, seed and size.
   * Construct a new state with `completed` from
   * {@linkcode parseCheckpoint} of this token to skip those samples.
   *
   * @returns The token.
   */
  checkpoint(): string {
    return encodeCheckpoint({
      manifestHash: this.manifestHash,
      epoch: this.epoch,
      seed: this.seed,
      totalSamples: this.totalSamples,
      completed: this.#completed.ranges(),
    });
  }

  /**
   * What must survive a coordinator failover: membership, live leases,
   * pool, queues and completed samples (see {@linkcode LeaseStateImage}).
   *
   * @returns A copy that shares no mutable state with the machine.
   */
  image(): LeaseStateImage<Caps> {
    const d = this.durableImage();
    return {
      ready: d.ready,
      worldSize: d.worldSize,
      nodes: d.nodes,
      live: d.live,
      pool: d.pool,
      queues: this.#queues.map((q) => q.map((r) => ({ ...r }))),
      completed: d.completed,
    };
  }

  /**
   * The image without its unissued rank queues: what the job's etcd keys
   * hold, copied on every durable change (the queues are the bulk of an
   * image early in a job and never change what a commit writes).
   *
   * @returns A copy that shares no mutable state with the machine.
   */
  durableImage(): DurableImage<Caps> {
    return {
      ready: this.#ready,
      worldSize: this.#worldSize,
      nodes: [...this.#nodes.values()].map((n) => ({
        nodeId: n.nodeId,
        rank: n.rank,
        departed: n.departed,
        caps: n.caps,
        ...(n.done.length > 0 ? { done: n.done.map((d) => ({ ...d })) } : {}),
      })),
      live: [...this.#live.values()].map((l) => ({
        leaseId: l.leaseId,
        nodeId: l.nodeId,
        startId: l.startId,
        endId: l.endId,
        cursor: l.cursor,
      })),
      pool: this.#pool.map((r) => ({ ...r })),
      completed: this.#completed.ranges(),
    };
  }

  /**
   * Rebuilds a job's state from an image (a new leader after failover):
   * every live lease gets a fresh deadline `nowMs + leaseTtlMs` and every
   * node counts as heard from at `nowMs`, on this process's clock.
   *
   * @param options The job's configuration (its `completed` is ignored).
   * @param image The state to restore.
   * @param nowMs Server clock.
   * @returns The restored state; its invariants are checked.
   * @throws {Error} If the image breaks an invariant (overlapping leases,
   *   samples lost or counted twice).
   */
  static restore<C, S>(
    options: LeaseStateOptions,
    image: LeaseStateImage<C>,
    nowMs: number,
  ): LeaseState<C, S> {
    requireTime(nowMs);
    const state = new LeaseState<C, S>({ ...options, completed: [] });
    state.#ready = image.ready;
    state.#worldSize = image.worldSize;
    for (const n of image.nodes) {
      state.#nodes.set(n.nodeId, {
        nodeId: n.nodeId,
        rank: n.rank,
        lastHeartbeatUnixTimeMs: nowMs,
        caps: n.caps,
        stats: undefined,
        departed: n.departed,
        deliveredSamples: 0,
        deliveredBytes: 0,
        done: (n.done ?? []).map((d) => ({ ...d })),
      });
      // A final report of these, resent after the failover, answers OK.
      for (const d of n.done ?? []) {
        state.#finished.set(d.leaseId, {
          nodeId: n.nodeId,
          endId: d.endId,
          outcome: "completed",
        });
      }
    }
    for (const l of image.live) {
      // Never hand out a restored lease's id again.
      if (l.leaseId.startsWith(state.#leaseIdPrefix)) {
        const n = Number(l.leaseId.slice(state.#leaseIdPrefix.length));
        if (Number.isSafeInteger(n) && n >= state.#nextLease) {
          state.#nextLease = n + 1;
        }
      }
      const lease = { ...l, expiresUnixTimeMs: nowMs + state.leaseTtlMs };
      state.#live.set(l.leaseId, lease);
      state.#index.add(lease);
    }
    state.#pool = image.pool.map((r) => ({ ...r }));
    state.#queues = image.queues.map((q) => q.map((r) => ({ ...r })));
    state.#completed = new RangeSet(image.completed);
    state.#drainReported = state.jobDrained;
    state.assertInvariants();
    return state;
  }

  /**
   * Checks every invariant: live leases never overlap; each live lease's
   * delivered prefix is completed; completed ranges, live remainders, the
   * pool and the rank queues partition `[0, totalSamples)` once the barrier
   * is met (so no sample is lost or completed twice).
   *
   * @throws {Error} If an invariant is broken (a bug in this module).
   */
  assertInvariants(): void {
    if (this.#index.size !== this.#live.size) {
      throw new Error(
        `Lease invariant broken: ${this.#index.size} indexed of ${this.#live.size} live leases`,
      );
    }
    assertLeaseInvariants({
      totalSamples: this.totalSamples,
      live: this.#live.values(),
      completed: this.#completed,
      pool: this.#pool,
      queues: this.#queues,
      dealt: this.#ready,
    });
  }

  #member(nodeId: string): NodeRecord<Caps, Stats> {
    const node = this.#nodes.get(nodeId);
    if (node === undefined) {
      throw new LeaseError(
        "failed_precondition",
        `Node is not registered: "${nodeId}"`,
      );
    }
    if (node.departed) {
      throw new LeaseError(
        "failed_precondition",
        `Node departed: "${nodeId}": register again`,
      );
    }
    return node;
  }

  #freeze(): void {
    const members = [...this.#nodes.keys()].sort(compareIds);
    members.forEach((id, rank) => this.#nodes.get(id)!.rank = rank);
    this.#worldSize = members.length;
    this.#queues = planRankQueues({
      totalSamples: this.totalSamples,
      blockSize: this.blockSize,
      worldSize: members.length,
      shuffle: this.shuffle,
      seed: this.seed,
      epoch: this.epoch,
      completed: this.#completed,
    });
    this.#ready = true;
    this.#pending.push({
      type: "job_ready",
      worldSize: members.length,
      members,
    });
  }

  #grant(nodeId: string, range: SampleRange, nowMs: number): Lease {
    const other = this.#index.overlapping(range);
    if (other !== undefined) {
      throw new Error(
        `Lease invariant broken: [${range.startId}, ${range.endId}) overlaps live lease "${other.leaseId}"`,
      );
    }
    if (this.#completed.overlaps(range)) {
      throw new Error(
        `Lease invariant broken: [${range.startId}, ${range.endId}) is already completed`,
      );
    }
    const lease: LiveLease = {
      leaseId: `${this.#leaseIdPrefix}${this.#nextLease++}`,
      nodeId,
      startId: range.startId,
      endId: range.endId,
      cursor: range.startId,
      expiresUnixTimeMs: nowMs + this.leaseTtlMs,
    };
    this.#live.set(lease.leaseId, lease);
    this.#index.add(lease);
    this.#counters.leases_granted_total++;
    this.#durableVersion++;
    return this.#toLease(lease);
  }

  #toLease(lease: LiveLease): Lease {
    return {
      leaseId: lease.leaseId,
      nodeId: lease.nodeId,
      startId: lease.startId,
      endId: lease.endId,
      epoch: this.epoch,
      seed: this.seed,
      cursor: lease.cursor,
      expiresUnixTimeMs: lease.expiresUnixTimeMs,
    };
  }

  #afterMutation(): void {
    if (this.#paranoid) this.assertInvariants();
  }
}
