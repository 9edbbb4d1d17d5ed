/**
 * One running job on the coordinator: the pinned dataset facts, the lease
 * state machine, the server clock, the maintenance tick and the event log.
 * The RPC service is a thin adapter over this class.
 *
 * @module
 */
import { parseCheckpoint } from "../lease/checkpoint.ts";
import { LeaseError } from "../lease/errors.ts";
import { RangeSet, type SampleRange } from "../lease/range_set.ts";
import { LeaseState } from "../lease/state.ts";
import type {
  DurableImage,
  JobSnapshot,
  Lease,
  LeaseEvent,
  LeaseGrant,
  LeaseStateImage,
  ProgressResult,
  RegisterResult,
} from "../lease/types.ts";
import type { NodeCaps, NodeStats } from "../gen/mx8/v1/coordinator_pb.ts";
import { type EventSink, fromLeaseEvent } from "./events.ts";
import type { HaMetrics } from "./metrics.ts";

/** Options of {@linkcode CoordinatorJob}. */
export interface CoordinatorJobOptions {
  /** Job id agents must present. */
  jobId: string;
  /** Pinned manifest hash. */
  manifestHash: string;
  /** Canonical manifest bytes (header included). */
  manifestBytes: Uint8Array;
  /** Samples in the manifest. */
  totalSamples: number;
  /** Root relative manifest locations resolve against. */
  datasetRoot: string;
  /** Class names, index = label id; empty when unlabeled. */
  classes: readonly string[];
  /** Nodes the barrier waits for. */
  worldSize: number;
  /** Start as soon as this many nodes registered. */
  minWorldSize?: number;
  /** Samples per block (default 65536). */
  blockSize?: number;
  /** Lease lifetime without progress, and node silence before departure (ms). */
  leaseTtlMs: number;
  /** Heartbeat interval agents are told to use (ms). */
  heartbeatIntervalMs: number;
  /** Deal blocks in a seeded order. */
  shuffle?: boolean;
  /** Job seed (default 0). */
  seed?: bigint | number;
  /** Epoch (default 0). */
  epoch?: number;
  /** Resume checkpoint token: its completed ranges are never leased. */
  resumeFrom?: string;
  /** Server clock (default `Date.now`). */
  now?: () => number;
  /** Where events go (default: nowhere). */
  onEvent?: EventSink;
  /** Maintenance tick period in ms (default `min(1000, leaseTtlMs / 4)`, at least 10). */
  tickMs?: number;
  /** Check every lease invariant after each mutation (slow; tests). */
  checkInvariants?: boolean;
}

/**
 * What the service asks of an HA replica (lib/coordinator/ha.ts) around
 * each RPC; absent without `--ha-etcd`.
 */
export interface HaGate {
  /** Throws the RPC error when this replica may not serve a mutating call now. */
  gateWrite(): void;
  /** Called before a read a follower serves (refreshes its view of the state). */
  beforeRead(): Promise<void>;
  /**
   * Makes the state's changes durable (fenced etcd txn) before the RPC
   * answers; the service calls it only after an RPC that moved
   * `durableVersion`.
   */
  commit(): Promise<void>;
  /** Gauges and counters for `/metrics`. */
  metrics(): HaMetrics;
  /** The leader's URL as last seen, if any. */
  readonly leaderUrl: string | undefined;
}

/**
 * A job the coordinator serves. Methods take plain values and throw
 * {@linkcode LeaseError} for refused calls; events go to `onEvent`.
 *
 * @example Two nodes, one lease
 * ```ts
 * import assert from "node:assert/strict";
 * import { CoordinatorJob } from "./job.ts";
 *
 * const events: string[] = [];
 * using job = new CoordinatorJob({
 *   jobId: "j", manifestHash: "h", manifestBytes: new Uint8Array(), totalSamples: 8,
 *   datasetRoot: "/data", classes: [], worldSize: 2, blockSize: 4,
 *   leaseTtlMs: 1000, heartbeatIntervalMs: 100, onEvent: (e) => events.push(e.event),
 * });
 * job.register("a", undefined);
 * job.register("b", undefined);
 * const [lease] = job.requestLease("a", 1).leases;
 * job.reportProgress("a", lease.leaseId, lease.endId, 4, 40);
 * assert.deepEqual(events, [
 *   "node_registered", "node_registered", "job_ready", "lease_granted", "lease_completed",
 * ]);
 * ```
 */
export class CoordinatorJob implements Disposable {
  /** Job id. */
  readonly jobId: string;
  /** Pinned manifest hash. */
  readonly manifestHash: string;
  /** Canonical manifest bytes. */
  readonly manifestBytes: Uint8Array;
  /** Samples in the manifest. */
  readonly totalSamples: number;
  /** Root relative locations resolve against. */
  readonly datasetRoot: string;
  /** Class names. */
  readonly classes: readonly string[];
  /** Heartbeat interval agents are told to use (ms). */
  readonly heartbeatIntervalMs: number;
  /** Lease TTL (ms). */
  readonly leaseTtlMs: number;
  /** Maintenance tick period (ms). */
  readonly tickMs: number;
  /** When the job was created (server clock). */
  readonly startedAtMs: number;

  /** The HA replica guarding this job, when the coordinator runs with `--ha-etcd`. */
  ha: HaGate | undefined;

  #options: CoordinatorJobOptions;
  #state: LeaseState<NodeCaps | undefined, NodeStats | undefined>;
  #versionBase = 0;
  #resumed: RangeSet;
  #now: () => number;
  #emit: EventSink;
  #known = new Set<string>();
  #live = new Map<string, SampleRange>();
  #ready = false;
  #drained = false;
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * Creates the job (barrier not met yet); call {@linkcode start} to run the
   * maintenance tick.
   *
   * @param options Dataset facts and lease settings.
   * @throws {LeaseError} If `resumeFrom` is malformed or belongs to another manifest, epoch, seed or size.
   * @throws {RangeError} If a lease setting is out of bounds.
   */
  constructor(options: CoordinatorJobOptions) {
    this.jobId = options.jobId;
    this.manifestHash = options.manifestHash;
    this.manifestBytes = options.manifestBytes;
    this.totalSamples = options.totalSamples;
    this.datasetRoot = options.datasetRoot;
    this.classes = options.classes;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs;
    this.leaseTtlMs = options.leaseTtlMs;
    this.tickMs = options.tickMs ??
      Math.max(10, Math.min(1000, Math.floor(options.leaseTtlMs / 4)));
    this.#now = options.now ?? Date.now;
    this.#emit = options.onEvent ?? (() => {});
    this.startedAtMs = this.#now();
    const seed = BigInt(options.seed ?? 0);
    const epoch = options.epoch ?? 0;
    let completed: SampleRange[] = [];
    if (options.resumeFrom !== undefined) {
      completed = parseCheckpoint(options.resumeFrom, {
        manifestHash: options.manifestHash,
        epoch,
        seed,
        totalSamples: options.totalSamples,
      }).completed;
    }
    this.#resumed = new RangeSet(completed);
    this.#options = options;
    this.#state = new LeaseState({
      jobId: options.jobId,
      totalSamples: options.totalSamples,
      blockSize: options.blockSize,
      worldSize: options.worldSize,
      minWorldSize: options.minWorldSize,
      leaseTtlMs: options.leaseTtlMs,
      shuffle: options.shuffle,
      seed,
      epoch,
      manifestHash: options.manifestHash,
      completed,
      leaseIdPrefix: `lease-${this.startedAtMs.toString(36)}-`,
      checkInvariants: options.checkInvariants,
    });
  }

  /**
   * Moves with every change a failover must not lose (see
   * `LeaseState.durableVersion`), across restores too; heartbeats and
   * cursor progress leave it alone.
   */
  get durableVersion(): number {
    return this.#versionBase + this.#state.durableVersion;
  }

  /** The server clock (Unix ms). */
  now(): number {
    return this.#now();
  }

  /** Whether the barrier is met. */
  get jobReady(): boolean {
    return this.#state.jobReady;
  }

  /** Whether every sample is completed. */
  get jobDrained(): boolean {
    return this.#state.jobDrained;
  }

  /** Configured world size before the barrier; frozen member count after. */
  get worldSize(): number {
    return this.#state.worldSize;
  }

  /** Job seed. */
  get seed(): bigint {
    return this.#state.seed;
  }

  /** Epoch. */
  get epoch(): number {
    return this.#state.epoch;
  }

  /**
   * Registers (or refreshes) a node. A `resumeFrom` token must belong to
   * this job's manifest, epoch, seed and size, and its completed ranges must
   * already be skipped by this coordinator (started with `--resume-from`).
   *
   * @param nodeId Node id.
   * @param caps Resources the node declares.
   * @param resumeFrom Optional resume token the node holds.
   * @returns Rank and barrier state.
   * @throws {LeaseError} For an empty id, a frozen membership or a resume token this job does not apply.
   */
  register(
    nodeId: string,
    caps: NodeCaps | undefined,
    resumeFrom?: string,
  ): RegisterResult {
    if (resumeFrom) this.#checkResume(resumeFrom);
    const result = this.#state.register(nodeId, caps, this.#now());
    if (!this.#known.has(nodeId)) {
      this.#known.add(nodeId);
      this.#emit({
        event: "node_registered",
        node_id: nodeId,
        registered_nodes: result.registeredNodes,
        world_size: result.worldSize,
      });
    }
    if (result.jobReady && !this.#ready) this.#markReady();
    return result;
  }

  /**
   * Records a heartbeat.
   *
   * @param nodeId A registered node.
   * @param stats Its statistics.
   * @throws {LeaseError} For an empty id or an unknown or departed node.
   */
  heartbeat(nodeId: string, stats: NodeStats | undefined): void {
    this.#state.heartbeat(nodeId, stats, this.#now());
  }

  /**
   * Grants up to `want` live leases.
   *
   * @param nodeId A registered node.
   * @param want Most live leases the node wants to hold.
   * @returns The new leases, a wait hint and the drain flag.
   * @throws {LeaseError} For bad arguments, an unknown node or an unmet barrier.
   */
  requestLease(nodeId: string, want: number): LeaseGrant {
    let grant: LeaseGrant;
    try {
      grant = this.#state.requestLease(nodeId, want, this.#now());
    } catch (err) {
      if (!(err instanceof LeaseError)) {
        this.#emit({
          event: "lease_overlap",
          node_id: nodeId,
          detail: String(err),
        });
      }
      throw err;
    }
    for (const lease of grant.leases) {
      this.#live.set(lease.leaseId, {
        startId: lease.startId,
        endId: lease.endId,
      });
      this.#emit({
        event: "lease_granted",
        lease_id: lease.leaseId,
        node_id: lease.nodeId,
        start_id: lease.startId,
        end_id: lease.endId,
        epoch: lease.epoch,
        expires_unix_time_ms: lease.expiresUnixTimeMs,
      });
    }
    return grant;
  }

  /**
   * Advances a lease's cursor.
   *
   * @param nodeId The lease holder.
   * @param leaseId The lease.
   * @param cursor One past the last delivered sample.
   * @param deliveredSamples Samples delivered since the last report.
   * @param deliveredBytes Bytes delivered since the last report.
   * @returns Whether the lease and the job completed.
   * @throws {LeaseError} Per the cursor and ownership rules of spec §6.
   */
  reportProgress(
    nodeId: string,
    leaseId: string,
    cursor: number,
    deliveredSamples: number,
    deliveredBytes: number,
  ): ProgressResult {
    const result = this.#state.reportProgress(
      nodeId,
      leaseId,
      cursor,
      deliveredSamples,
      deliveredBytes,
      this.#now(),
    );
    const range = result.leaseCompleted ? this.#live.get(leaseId) : undefined;
    if (range !== undefined) {
      this.#live.delete(leaseId);
      this.#emit({
        event: "lease_completed",
        lease_id: leaseId,
        node_id: nodeId,
        start_id: range.startId,
        end_id: range.endId,
      });
    }
    if (result.jobDrained) this.#markDrained();
    return result;
  }

  /**
   * The operator's view of the job at the server clock.
   *
   * @returns A snapshot sharing no mutable state with the job.
   */
  snapshot(): JobSnapshot<NodeCaps | undefined, NodeStats | undefined> & {
    ha?: HaMetrics;
    haLeaderUrl?: string;
  } {
    const snap = this.#state.snapshot(this.#now());
    return this.ha === undefined ? snap : {
      ...snap,
      ha: this.ha.metrics(),
      haLeaderUrl: this.ha.leaderUrl ?? "",
    };
  }

  /**
   * A resume token for the samples completed so far.
   *
   * @returns The token.
   */
  checkpoint(): string {
    return this.#state.checkpoint();
  }

  /**
   * What must survive a failover (see {@linkcode LeaseStateImage}).
   *
   * @returns The lease state's image.
   */
  image(): LeaseStateImage<NodeCaps | undefined> {
    return this.#state.image();
  }

  /**
   * The image without its rank queues: what a commit plans from (see
   * {@linkcode DurableImage}).
   *
   * @returns The lease state's durable image.
   */
  durableImage(): DurableImage<NodeCaps | undefined> {
    return this.#state.durableImage();
  }

  /**
   * Replaces the lease state with one loaded from etcd (a replica that was
   * elected leader): live leases get fresh deadlines on this clock; new
   * lease ids get a prefix of their own.
   *
   * @param image The loaded state.
   * @throws {Error} If the image breaks a lease invariant.
   */
  restore(image: LeaseStateImage<NodeCaps | undefined>): void {
    const now = this.#now();
    const o = this.#options;
    this.#versionBase += this.#state.durableVersion + 1;
    this.#state = LeaseState.restore(
      {
        jobId: o.jobId,
        totalSamples: o.totalSamples,
        blockSize: o.blockSize,
        worldSize: o.worldSize,
        minWorldSize: o.minWorldSize,
        leaseTtlMs: o.leaseTtlMs,
        shuffle: o.shuffle,
        seed: this.#state.seed,
        epoch: this.#state.epoch,
        manifestHash: o.manifestHash,
        leaseIdPrefix: `lease-${now.toString(36)}-${
          crypto.randomUUID().slice(0, 8)
        }-`,
        checkInvariants: o.checkInvariants,
      },
      image,
      now,
    );
    this.#known = new Set(image.nodes.map((n) => n.nodeId));
    this.#live = new Map(
      image.live.map((
        l,
      ) => [l.leaseId, { startId: l.startId, endId: l.endId }]),
    );
    this.#ready = image.ready;
    this.#drained = this.#state.jobDrained;
  }

  /**
   * One maintenance pass: expires leases, requeues remainders, departs
   * silent nodes, logs what happened and checks that no live leases overlap.
   */
  tick(): void {
    for (const event of this.#state.tick(this.#now())) this.#log(event);
    const live = this.#state.liveLeases();
    const overlap = findOverlap(live);
    if (overlap) {
      this.#emit({
        event: "lease_overlap",
        lease_ids: [overlap[0].leaseId, overlap[1].leaseId],
        detail: `[${overlap[0].startId}, ${overlap[0].endId}) overlaps [${
          overlap[1].startId
        }, ${overlap[1].endId})`,
      });
    }
  }

  /** Starts the maintenance tick (every {@linkcode tickMs}); idempotent. */
  start(): void {
    this.#timer ??= setInterval(() => this.tick(), this.tickMs);
  }

  /** Stops the maintenance tick; idempotent. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Same as {@linkcode stop}, for `using`. */
  [Symbol.dispose](): void {
    this.stop();
  }

  #log(event: LeaseEvent): void {
    switch (event.type) {
      case "lease_completed":
        // Logged when reported; only leases finished some other way remain.
        if (this.#live.delete(event.leaseId)) this.#emit(fromLeaseEvent(event));
        return;
      case "job_ready":
        if (!this.#ready) this.#markReady();
        return;
      case "job_drained":
        this.#markDrained();
        return;
      case "lease_expired":
        this.#live.delete(event.leaseId);
        break;
      case "node_departed":
        if (event.rank < 0) this.#known.delete(event.nodeId);
        break;
    }
    this.#emit(fromLeaseEvent(event));
  }

  #markReady(): void {
    this.#ready = true;
    const members = this.#state.snapshot(this.#now()).nodes
      .filter((n) => n.rank >= 0)
      .sort((a, b) => a.rank - b.rank)
      .map((n) => n.nodeId);
    this.#emit({ event: "job_ready", world_size: this.worldSize, members });
  }

  #markDrained(): void {
    if (this.#drained) return;
    this.#drained = true;
    this.#emit({
      event: "job_drained",
      completed_samples: this.totalSamples,
      total_samples: this.totalSamples,
      elapsed_ms: this.#now() - this.startedAtMs,
    });
  }

  #checkResume(token: string): void {
    const { completed } = parseCheckpoint(token, {
      manifestHash: this.manifestHash,
      epoch: this.epoch,
      seed: this.seed,
      totalSamples: this.totalSamples,
    });
    for (const range of completed) {
      if (this.#resumed.subtractFrom(range).length > 0) {
        throw new LeaseError(
          "failed_precondition",
          `Resume checkpoint not applied by this coordinator: samples [${range.startId}, ${range.endId}) are not skipped; restart the coordinator with --resume-from <token>`,
        );
      }
    }
  }
}

function findOverlap(leases: Lease[]): [Lease, Lease] | undefined {
  const sorted = [...leases].sort((a, b) => a.startId - b.startId);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].startId < sorted[i - 1].endId) {
      return [sorted[i - 1], sorted[i]];
    }
  }
  return undefined;
}
