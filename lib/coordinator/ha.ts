/**
 * A coordinator replica under `--ha-etcd` (spec §12): campaigns for its
 * job's leadership on etcd; as leader it loads the job's state in one read,
 * gives live leases fresh deadlines, serves, and commits every durable
 * change in a fenced txn before the RPC answers (cursor progress is flushed
 * periodically). As follower it answers mutating RPCs with
 * FAILED_PRECONDITION and the leader's URL in `mx8-leader` metadata, and
 * serves reads from state it re-reads from etcd.
 *
 * @module
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { NotLeaderError } from "../errors.ts";
import { EtcdClient } from "../etcd/client.ts";
import {
  campaign,
  currentLeader,
  type ElectionEvent,
  type Leadership,
} from "../etcd/election.ts";
import {
  type JobKeys,
  jobKeys,
  LAYOUT_VERSION,
  type MetaRecord,
} from "../ha/layout.ts";
import { loadJob } from "../ha/load.ts";
import { type CommitResult, HaJobStore } from "../ha/store.ts";
import type { EventSink } from "./events.ts";
import type { HaMetrics } from "./metrics.ts";
import type { CoordinatorJob, HaGate } from "./job.ts";

/**
 * Fenced txns a leader keeps in flight at most; past it, changes wait for
 * a slot and share one txn (group commit). 1 by default: in the 400 000-
 * sample soak (20 kills, load ≈ 7) 4 in flight delayed the leaders' own
 * keepalives behind etcd's applies — 98 leaders expired, failover p95 8.4 s
 * — against 21 expiries and p95 2.9 s with 1 (docs/benchmarks.md).
 */
export const MAX_INFLIGHT_TXNS = 1;

/** Metadata key of the leader's URL on a follower's FAILED_PRECONDITION. */
export const LEADER_METADATA = "mx8-leader";

/** Options of {@linkcode HaReplica}. */
export interface HaReplicaOptions {
  /** etcd client URLs. */
  endpoints: string[];
  /** etcd user and password, when etcd has auth enabled. */
  auth?: { user: string; password: string };
  /** Election lease TTL in ms (≥ 2000). */
  ttlMs: number;
  /** This replica's URL as clients reach it (stored as the leader value). */
  advertiseUrl: string;
  /** The job's configuration as stored in `meta`. */
  meta: Omit<MetaRecord, "v" | "ready">;
  /** Where events go. */
  onEvent: EventSink;
  /** Cursor progress flush period in ms (default 1000). */
  flushMs?: number;
  /** Fenced txns in flight at most (default {@linkcode MAX_INFLIGHT_TXNS}). */
  maxInflight?: number;
}

/**
 * One HA replica of a job's coordinator: plug it into the job
 * (`job.ha = replica`) and {@linkcode HaReplica.prototype.start} it.
 */
export class HaReplica implements HaGate, AsyncDisposable {
  readonly #job: CoordinatorJob;
  readonly #o: HaReplicaOptions;
  readonly #client: EtcdClient;
  readonly #keys: JobKeys;
  readonly #meta: MetaRecord;
  readonly #maxInflight: number;
  readonly #abort = new AbortController();
  #leadership: Leadership | undefined;
  #store: HaJobStore | undefined;
  #leaderUrl: string | undefined;
  #leaderSeenAt = performance.now();
  #batch: Promise<CommitResult | void> | undefined;
  #refreshedAt = -Infinity;
  #loop: Promise<void> | undefined;
  #poll: ReturnType<typeof setInterval> | undefined;
  #term = 0;
  /** The job's durable version whose writes this leader has planned. */
  #planned = -1;
  #counts = {
    elected: 0,
    lost: 0,
    fenced: 0,
    takeoverMs: 0,
    txns: 0,
    keys: 0,
    failovers: 0,
  };

  /**
   * Creates the replica (nothing runs until `start`).
   *
   * @param job The job it guards.
   * @param options etcd, TTL, URL, events.
   */
  constructor(job: CoordinatorJob, options: HaReplicaOptions) {
    this.#job = job;
    this.#o = options;
    this.#client = new EtcdClient(options.endpoints, {
      auth: options.auth,
      // Campaign, reads and lease grants: half a TTL. A third of it (667
      // ms) timed out lease grants of a CPU-starved replica and delayed its
      // takeover (a fenced write or keepalive waits as its leadership lasts).
      timeoutMs: Math.max(1000, Math.floor(options.ttlMs / 2)),
      // Fenced txns over gRPC: the JSON gateway's translation cost etcd
      // 1.4–5× the txn's own CPU (docs/ha.md, "Cost of a durable change").
      grpc: true,
    });
    this.#keys = jobKeys(job.jobId);
    this.#meta = { ...options.meta, v: LAYOUT_VERSION, ready: false };
    this.#maxInflight = Math.max(1, options.maxInflight ?? MAX_INFLIGHT_TXNS);
  }

  /** Whether this replica leads and may act now. */
  get isLeader(): boolean {
    return this.#store !== undefined &&
      this.#leadership?.stillLeader() === true;
  }

  /** The leader's URL as last seen, if any. */
  get leaderUrl(): string | undefined {
    return this.#leaderUrl;
  }

  /** Starts campaigning and watching the leader; idempotent. */
  start(): void {
    this.#job.ha = this;
    this.#loop ??= this.#run();
    this.#poll ??= setInterval(() => this.#pollLeader(), 250);
  }

  /** @inheritdoc */
  gateWrite(): void {
    if (this.isLeader) return;
    const l = this.#leadership;
    if (l !== undefined && this.#store !== undefined) {
      // Leading on paper, but past last keepalive + TTL − margin.
      this.#emit({
        event: "fenced_write_rejected",
        term: l.token,
        by: "clock",
      });
    }
    const url = this.#leaderUrl;
    if (url !== undefined && url !== this.#o.advertiseUrl) {
      throw new ConnectError(
        `Not the leader: ${this.#o.advertiseUrl} is a follower for job "${this.#job.jobId}"; the leader is ${url}`,
        Code.FailedPrecondition,
        { [LEADER_METADATA]: url },
      );
    }
    throw new ConnectError(
      `No leader for job "${this.#job.jobId}" yet (election or failover under way): retry shortly`,
      Code.Unavailable,
    );
  }

  /** @inheritdoc */
  commit(flush = false): Promise<void> {
    const store = this.#store;
    if (store === undefined) {
      return Promise.reject(
        new ConnectError(
          `Leadership of job "${this.#job.jobId}" was lost: retry at the new leader`,
          Code.Unavailable,
        ),
      );
    }
    let run: Promise<CommitResult | void>;
    if (!flush && this.#job.durableVersion === this.#planned) {
      // Nothing durable changed since the last plan (a tick that expired
      // nothing): done. (The service does not even call this for an RPC
      // that changed nothing durable — a heartbeat, cursor progress, a
      // request that got no lease — so such an RPC answers at once, even
      // while other RPCs' changes wait in a batch. Its answer reveals no
      // change a failover could lose: one that acknowledges a change (a
      // resent final report) moves the durable version, so it waits for
      // every durable write so far; changes derived from membership are
      // ordered after it in etcd: barrier txns, lib/ha/pipeline.ts.)
      return Promise.resolve();
    } else if (!flush && store.inflight >= this.#maxInflight) {
      // etcd busy: changes made meanwhile share one txn when a slot frees
      // (group commit), which bounds the write rate.
      const lead = this.#leadership;
      run = this.#batch ??= store.slot(this.#maxInflight).then(
        (): Promise<CommitResult | void> => {
          this.#batch = undefined;
          if (this.#store !== store) {
            // A change this replica made as leader, refused: it stepped
            // down (own clock, a fenced txn) while the change waited.
            lead?.refusedUnsent();
            return Promise.reject(
              new NotLeaderError(
                "resigned",
                `Leadership of job "${this.#job.jobId}" ended while a change waited for etcd`,
              ),
            );
          }
          return this.#plan(store, false);
        },
      );
    } else {
      run = this.#plan(store, flush);
    }
    return run.then(() => {}, (err) => {
      if (err instanceof NotLeaderError) {
        throw new ConnectError(
          `Leadership of job "${this.#job.jobId}" was lost (${err.reason}): retry at the new leader`,
          Code.Unavailable,
        );
      }
      throw err;
    });
  }

  /** Plans (synchronously) and sends the writes of every change so far. */
  #plan(store: HaJobStore, flush: boolean): Promise<CommitResult> {
    this.#planned = this.#job.durableVersion;
    // Counted once per plan (callers sharing a batch wait on the same one).
    return store.commit(this.#job.durableImage(), flush).then((done) => {
      this.#counts.txns += done.txns;
      this.#counts.keys += done.keys;
      return done;
    });
  }

  /** @inheritdoc */
  metrics(): HaMetrics {
    return {
      ha_is_leader: this.isLeader ? 1 : 0,
      ha_term: this.#term,
      ha_leader_elected_total: this.#counts.elected,
      ha_leader_lost_total: this.#counts.lost,
      ha_fenced_writes_rejected_total: this.#counts.fenced,
      ha_last_takeover_ms: this.#counts.takeoverMs,
      ha_etcd_txns_total: this.#counts.txns,
      ha_etcd_keys_written_total: this.#counts.keys,
      ha_failovers: this.#counts.failovers,
    };
  }

  /** @inheritdoc */
  async beforeRead(): Promise<void> {
    if (this.isLeader) return;
    const now = performance.now();
    if (now - this.#refreshedAt < 500) return;
    this.#refreshedAt = now;
    try {
      const read = await this.#client.range(this.#keys.prefix, {
        prefix: true,
      });
      const loaded = loadJob(read.kvs, this.#keys);
      if (loaded.meta !== undefined && !this.isLeader) {
        this.#job.restore(loaded.image as never);
        this.#counts.failovers = loaded.meta.failovers ?? 0;
      }
    } catch {
      // etcd unreachable: serve what this replica last saw.
    }
  }

  /**
   * Stops: a leader flushes progress and resigns so another takes over at
   * once. Afterwards the replica refuses every write.
   */
  async close(): Promise<void> {
    clearInterval(this.#poll);
    this.#abort.abort();
    if (this.#store !== undefined) await this.commit(true).catch(() => {});
    await this.#leadership?.resign();
    await this.#loop?.catch(() => {});
    this.#client.close();
    // The gate stays: a closed replica refuses writes (it must never serve
    // as a standalone coordinator while its server drains).
  }

  /** Same as {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #emit(e: Record<string, string | number | boolean | null>): void {
    if (e.event === "fenced_write_rejected") this.#counts.fenced++;
    if (e.event === "leader_elected") this.#counts.elected++;
    if (e.event === "leader_lost") this.#counts.lost++;
    if (e.event === "leader_ready") {
      this.#counts.takeoverMs = Number(e.takeover_ms);
      this.#term = Number(e.term);
    }
    this.#o.onEvent({ url: this.#o.advertiseUrl, ...e } as never);
  }

  #onElection(e: ElectionEvent): void {
    if (e.type === "leader_elected") {
      this.#emit({
        event: "leader_elected",
        term: e.term,
        waited_ms: e.waitedMs,
      });
    } else if (e.type === "leader_lost") {
      this.#emit({
        event: "leader_lost",
        term: e.term,
        reason: e.reason,
        ...(e.detail === undefined ? {} : { detail: e.detail }),
      });
    } else {
      this.#emit({ event: "fenced_write_rejected", term: e.term, by: e.by });
    }
  }

  async #pollLeader(): Promise<void> {
    try {
      const kv = await currentLeader(this.#client, this.#keys.leader);
      this.#leaderUrl = kv?.value;
      if (kv !== undefined) this.#term = kv.createRevision;
      if (kv !== undefined && kv.value !== this.#o.advertiseUrl) {
        this.#leaderSeenAt = performance.now();
      }
    } catch {
      // etcd unreachable: keep the last known leader.
    }
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      let tick: ReturnType<typeof setInterval> | undefined;
      let flush: ReturnType<typeof setInterval> | undefined;
      try {
        const leadership = await campaign(
          this.#client,
          this.#keys.leader,
          this.#o.advertiseUrl,
          { ttlMs: this.#o.ttlMs, signal, onEvent: (e) => this.#onElection(e) },
        );
        this.#leadership = leadership;
        this.#leaderUrl = this.#o.advertiseUrl;
        const { store, loaded } = await HaJobStore.open(
          this.#client,
          this.#keys,
          leadership,
          this.#meta,
        );
        this.#job.restore(loaded.image as never);
        this.#planned = this.#job.durableVersion;
        this.#store = store;
        this.#counts.failovers = store.meta.failovers ?? 0;
        this.#emit({
          event: "leader_ready",
          term: leadership.token,
          takeover_ms: Math.round(performance.now() - this.#leaderSeenAt),
          live_leases: loaded.image.live.length,
          completed_samples: loaded.image.completed.reduce(
            (n, r) => n + r.endId - r.startId,
            0,
          ),
        });
        // No own-clock check here: a leader paused past its TTL that wakes
        // up tries its write, which the fenced commit refuses
        // (fenced_write_rejected) and which makes it step down.
        tick = setInterval(() => {
          if (this.#store === undefined) return;
          this.#job.tick();
          this.commit().catch(() => {});
        }, this.#job.tickMs);
        flush = setInterval(() => {
          if (this.#store !== undefined) this.commit(true).catch(() => {});
        }, this.#o.flushMs ?? 1000);
        await leadership.lost;
      } catch (err) {
        if (signal.aborted) break;
        this.#emit({
          event: "ha_error",
          detail: err instanceof Error ? err.message : String(err),
        });
        await this.#leadership?.stepDown("error");
        await new Promise((r) => setTimeout(r, 200));
      } finally {
        clearInterval(tick);
        clearInterval(flush);
        this.#store = undefined;
        this.#leadership = undefined;
        this.#refreshedAt = -Infinity;
      }
    }
  }
}
