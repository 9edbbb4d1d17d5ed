/**
 * The segment source of a distributed loader: registers with the
 * coordinator (retrying while it is down or the barrier is not met),
 * heartbeats with live stats, leases ranges, streams only their manifest
 * rows, and reports progress as the consumer finishes each batch.
 *
 * @module
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Client } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import {
  type Coordinator,
  type Lease,
  NodeStatsSchema,
} from "../gen/mx8/v1/coordinator_pb.ts";
import type { ManifestRow } from "../manifest/row.ts";
import { labelIdOfHint } from "../manifest/row.ts";
import type { Segment, SegmentSource, SourceInfo } from "../loader/segment.ts";
import type { LoaderStats } from "../loader/stats.ts";
import { Mx8Error } from "../errors.ts";
import { classifyRpcError } from "../rpc/error_class.ts";
import { Backoff, sleep } from "./backoff.ts";
import {
  BarrierTimeoutError,
  CoordinatorRefusedError,
  CoordinatorUnreachableError,
} from "./errors.ts";
import { fetchLeaseRows } from "./lease_rows.ts";
import { jitteredPeriodMs, prefetchPoint, randomPhaseMs } from "./jitter.ts";
import { renewalDue } from "./renewal.ts";

/** One structured log event of the agent side. */
export type AgentLog = (event: string, fields: Record<string, unknown>) => void;

/** Options of {@linkcode LeaseSource}. */
export interface LeaseSourceOptions {
  /** Coordinator client. */
  client: Client<typeof Coordinator>;
  /** Job id. */
  jobId: string;
  /** This node's id. */
  nodeId: string;
  /** Live leases to hold (≥ 1). */
  want: number;
  /** Samples per batch. */
  batchSize: number;
  /** Caps declared at registration. */
  caps: { maxInflightBytes: number; maxRamBytes: number };
  /** Structured log (default: none). */
  log?: AgentLog;
  /** Called once when the first lease is granted. */
  onFirstLease?: (lease: Lease) => void;
  /** Coordinator URL, for messages (default: the client's `url`). */
  coordUrl?: string;
  /**
   * Give up after the coordinator was unreachable this long, in ms
   * (default 0: keep retrying with backoff forever).
   */
  connectTimeoutMs?: number;
  /**
   * Give up when the membership barrier is not met this long after the
   * first registration, in ms (default 0: wait forever).
   */
  barrierTimeoutMs?: number;
}

export { CoordinatorRefusedError };

/** Log `waiting_for_barrier` at least this often while the count does not change. */
const BARRIER_LOG_EVERY_MS = 10_000;

/**
 * Longest time a progress report is resent while the coordinator is
 * unreachable (a failover takes about the HA TTL): past it, the lease is
 * given up (`lease_lost`) and its rest is requeued when it expires.
 */
export const REPORT_RETRY_MS = 15_000;

/** Leases from a coordinator, as loader segments. */
export class LeaseSource implements SegmentSource {
  #o: LeaseSourceOptions;
  #info: SourceInfo = { manifestHash: "", root: "", classes: [] };
  #registered = false;
  #heartbeatMs = 1000;
  #leaseTtlMs = 10_000;
  /** When each queued lease was granted or last renewed (`performance.now()`). */
  #renewedAt = new Map<string, number>();
  #heartbeat?: ReturnType<typeof setTimeout>;
  /** Whether the first RequestLease is still to be staggered. */
  #stagger = true;
  #queue: Lease[] = [];
  #stats?: () => LoaderStats;
  #closed = false;
  #firstLease = true;
  #reports: Promise<void> = Promise.resolve();
  /** The RequestLease for the lease after the current one, while in flight. */
  #prefetch?: Promise<void>;
  /** Manifest rows of prefetched leases, by lease id. */
  #rowsAhead = new Map<string, Promise<ManifestRow[]>>();
  /** Leases started (segments handed to the loader). */
  leasesStarted = 0;

  /**
   * Creates the source; nothing is sent until {@linkcode next}.
   *
   * @param options Client, ids, want, caps.
   */
  constructor(options: LeaseSourceOptions) {
    if (!options.jobId) throw new TypeError("Distributed mode needs jobId");
    if (!options.nodeId) throw new TypeError("Distributed mode needs nodeId");
    if (!(Number.isSafeInteger(options.want) && options.want >= 1)) {
      throw new RangeError(
        `want must be a positive integer, got ${options.want}`,
      );
    }
    this.#o = options;
  }

  /** @inheritdoc */
  get info(): SourceInfo {
    return this.#info;
  }

  /** @inheritdoc */
  get want(): number {
    return this.#o.want;
  }

  /** @inheritdoc */
  setWant(want: number): void {
    if (Number.isSafeInteger(want) && want >= 1) this.#o = { ...this.#o, want };
  }

  /** @inheritdoc */
  attachStats(stats: () => LoaderStats): void {
    this.#stats = stats;
  }

  #log(event: string, fields: Record<string, unknown> = {}): void {
    this.#o.log?.(event, { node_id: this.#o.nodeId, ...fields });
  }

  /** The coordinator URL for messages. */
  get #url(): string {
    return this.#o.coordUrl ??
      (this.#o.client as { url?: string }).url ?? "the coordinator";
  }

  /**
   * The error for a failure no retry cures, naming the URL, the call, the
   * reason and the fix.
   */
  #permanent(err: unknown, what: string): CoordinatorRefusedError {
    const c = classifyRpcError(err);
    const ce = ConnectError.from(err);
    const o = this.#o;
    if (c.code === Code.Unauthenticated) {
      return new CoordinatorRefusedError(
        `coordinator rejected our token (Unauthenticated: ${ce.rawMessage}): pass the job's token ` +
          `with --auth-token-file or MX8_AUTH_TOKEN (authToken in the library)`,
        { cause: err },
      );
    }
    let hint = c.hint;
    if (/Membership is frozen/.test(ce.rawMessage)) {
      hint =
        `this node's id is "${o.nodeId}"; a node restarted after a crash must rejoin with ` +
        `its old id (--node-id ID, nodeId in the library; the default id is stable per host, ` +
        `see docs/coordinator.md), and a new node cannot join a running job`;
    }
    return new CoordinatorRefusedError(
      `${what} of node ${o.nodeId} for job ${o.jobId} at ${this.#url} failed: ${c.reason}` +
        (hint ? `; ${hint}` : ""),
      { cause: err },
    );
  }

  /** Registers until the job is ready, retrying while the coordinator is down. */
  async #register(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(100, 2000);
    const started = Date.now();
    let lastError = "";
    let barrierSince: number | undefined;
    let lastBarrierLog = { at: 0, registered: -1 };
    for (;;) {
      signal.throwIfAborted();
      try {
        const s = this.#stats?.();
        const res = await this.#o.client.registerNode({
          jobId: this.#o.jobId,
          nodeId: this.#o.nodeId,
          caps: {
            maxInflightBytes: BigInt(
              s?.maxInflightBytes ?? this.#o.caps.maxInflightBytes,
            ),
            maxRamBytes: BigInt(
              s?.maxProcessRssBytes ?? this.#o.caps.maxRamBytes,
            ),
            cpuCores: navigator.hardwareConcurrency ?? 1,
          },
        }, { signal });
        this.#info = {
          manifestHash: res.manifestHash,
          root: res.datasetRoot,
          classes: [...res.classes],
        };
        this.#heartbeatMs = res.heartbeatIntervalMs || 1000;
        this.#leaseTtlMs = res.leaseTtlMs || 10_000;
        if (res.jobReady) {
          this.#registered = true;
          this.#log("registered", {
            rank: res.assignedRank,
            world_size: res.worldSize,
          });
          this.#startHeartbeat();
          return;
        }
        const now = Date.now();
        barrierSince ??= now;
        lastError = "";
        // On a change, else every 10 s: not on every poll.
        if (
          res.registeredNodes !== lastBarrierLog.registered ||
          now - lastBarrierLog.at >= BARRIER_LOG_EVERY_MS
        ) {
          lastBarrierLog = { at: now, registered: res.registeredNodes };
          this.#log("waiting_for_barrier", {
            registered: res.registeredNodes,
            world_size: res.worldSize,
            missing: Math.max(0, res.worldSize - res.registeredNodes),
            waited_ms: now - barrierSince,
          });
        }
        const limit = this.#o.barrierTimeoutMs ?? 0;
        if (limit > 0 && now - barrierSince >= limit) {
          throw new BarrierTimeoutError(
            this.#url,
            this.#o.jobId,
            limit,
            res.registeredNodes,
            res.worldSize,
          );
        }
        await sleep(Math.min(500, this.#heartbeatMs), signal);
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        if (err instanceof BarrierTimeoutError) throw err;
        const c = classifyRpcError(err);
        if (!c.transient) throw this.#permanent(err, "registration");
        const text = ConnectError.from(err).rawMessage;
        if (text !== lastError) {
          lastError = text;
          this.#log("coordinator_unreachable", {
            url: this.#url,
            error: text,
            retrying: true,
          });
        }
        const limit = this.#o.connectTimeoutMs ?? 0;
        if (limit > 0 && Date.now() - started >= limit) {
          throw new CoordinatorUnreachableError(
            this.#url,
            this.#o.jobId,
            limit,
            text,
            { cause: err },
          );
        }
        await sleep(backoff.nextDelayMs(), signal);
      }
    }
  }

  /**
   * Heartbeats at a random phase of the interval, then every 90–100 % of
   * it: nodes that met the barrier together would otherwise beat together
   * for the whole job (a herd the coordinator answers late).
   */
  #startHeartbeat(): void {
    clearTimeout(this.#heartbeat);
    const schedule = (ms: number) => {
      this.#heartbeat = setTimeout(() => {
        if (this.#closed) return;
        schedule(jitteredPeriodMs(this.#heartbeatMs));
        void this.#beat();
      }, ms);
    };
    schedule(randomPhaseMs(this.#heartbeatMs));
  }

  async #beat(): Promise<void> {
    if (this.#closed || !this.#registered) return;
    try {
      await this.#o.client.heartbeat({
        jobId: this.#o.jobId,
        nodeId: this.#o.nodeId,
        unixTimeMs: BigInt(Date.now()),
        stats: nodeStats(this.#stats?.()),
      });
      // Renew leases waiting in our queue (equal cursor is allowed) before
      // they are half a TTL old.
      for (const l of this.#queue) {
        const age = performance.now() - (this.#renewedAt.get(l.leaseId) ?? 0);
        if (!renewalDue(age, this.#leaseTtlMs, this.#heartbeatMs)) continue;
        this.#renewedAt.set(l.leaseId, performance.now());
        await this.#o.client.reportProgress({
          jobId: this.#o.jobId,
          nodeId: this.#o.nodeId,
          leaseId: l.leaseId,
          cursor: l.cursor,
        }).catch(() => {});
      }
    } catch (err) {
      const ce = ConnectError.from(err);
      if (ce.code === Code.FailedPrecondition) this.#registered = false;
      this.#log("heartbeat_failed", { error: ce.rawMessage });
    }
  }

  /** @inheritdoc */
  async next(signal: AbortSignal): Promise<Segment | null> {
    const backoff = new Backoff(100, 2000);
    await this.#prefetch;
    while (this.#queue.length === 0) {
      if (this.#closed) return null;
      if (!this.#registered) await this.#register(signal);
      // Let the coordinator see our finished leases first, or it counts them
      // against `want` and answers "wait".
      await this.#reports;
      if (this.#stagger) {
        // Stagger the first grant over one heartbeat interval: every node
        // meets the barrier at once, and leases granted together complete
        // and are re-requested together.
        this.#stagger = false;
        await sleep(randomPhaseMs(this.#heartbeatMs), signal);
      }
      try {
        const res = await this.#o.client.requestLease({
          jobId: this.#o.jobId,
          nodeId: this.#o.nodeId,
          want: this.#o.want,
        }, { signal });
        backoff.reset();
        if (res.leases.length > 0) {
          this.#granted(res.leases, false);
          break;
        }
        if (res.jobDrained) {
          await this.#reports;
          this.#log("job_drained", {});
          return null;
        }
        this.#log("lease_wait", { wait_ms: res.waitMs });
        // Up to 10 % later than asked, so the nodes told to wait together
        // do not all ask again together.
        const waitMs = Math.max(10, res.waitMs || 200);
        await sleep(waitMs + randomPhaseMs(waitMs / 10), signal);
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        const ce = ConnectError.from(err);
        if (ce.code === Code.FailedPrecondition) {
          // Not registered here (coordinator restarted, or we were departed): join again.
          this.#log("reregistering", { reason: ce.rawMessage });
          this.#registered = false;
          continue;
        }
        if (!classifyRpcError(err).transient) {
          throw this.#permanent(err, "lease request");
        }
        this.#log("coordinator_unreachable", {
          url: this.#url,
          error: ce.rawMessage,
          retrying: true,
        });
        this.#registered = false;
        await sleep(backoff.nextDelayMs(), signal);
      }
    }
    const lease = this.#queue.shift()!;
    this.#renewedAt.delete(lease.leaseId);
    if (this.#firstLease) {
      this.#firstLease = false;
      this.#o.onFirstLease?.(lease);
    }
    return await this.#segmentOf(lease, signal);
  }

  #granted(leases: Lease[], prefetched: boolean): void {
    this.#queue.push(...leases);
    for (const l of leases) {
      this.#renewedAt.set(l.leaseId, performance.now());
      this.#log("lease_granted", {
        lease_id: l.leaseId,
        start_id: Number(l.range?.startId),
        end_id: Number(l.range?.endId),
        cursor: Number(l.cursor),
        ...(prefetched ? { prefetched } : {}),
      });
    }
  }

  /**
   * Asks for the lease after the current one (`want` + 1: the current one
   * still counts) and streams its rows, while the current one is delivered.
   * The request goes out in the progress reports' order: after the reports
   * sent so far (so a lease completed earlier no longer counts against
   * `want`), before the later ones (so the current lease is still live and
   * we are granted `want` more, not `want` + 1). Failures are left to
   * {@linkcode next}, which asks again.
   */
  #prefetchNext(signal: AbortSignal): void {
    if (this.#prefetch || this.#queue.length > 0 || this.#closed) return;
    const prefetch = this.#reports.then(async () => {
      try {
        const res = await this.#o.client.requestLease({
          jobId: this.#o.jobId,
          nodeId: this.#o.nodeId,
          want: this.#o.want + 1,
        }, { signal });
        this.#granted(res.leases, true);
        const next = res.leases[0];
        if (next !== undefined) {
          const rows = this.#rowsOf(next, signal);
          rows.catch(() => {}); // awaited (and thrown) by #segmentOf
          this.#rowsAhead.set(next.leaseId, rows);
        }
      } catch {
        // next() asks again, and tells transient errors from fatal ones.
      }
    });
    this.#reports = prefetch;
    this.#prefetch = prefetch.finally(() => this.#prefetch = undefined);
  }

  #rowsOf(lease: Lease, signal: AbortSignal): Promise<ManifestRow[]> {
    return this.#retrying(signal, () =>
      fetchLeaseRows(
        this.#o.client,
        this.#o.jobId,
        this.#info.manifestHash,
        Number(lease.cursor),
        Number(lease.range!.endId),
        signal,
      ));
  }

  async #segmentOf(lease: Lease, signal: AbortSignal): Promise<Segment> {
    const start = Number(lease.cursor);
    const end = Number(lease.range!.endId);
    const ahead = this.#rowsAhead.get(lease.leaseId);
    this.#rowsAhead.delete(lease.leaseId);
    const rows = await (ahead ?? this.#rowsOf(lease, signal));
    const rowOf = (id: number): ManifestRow => rows[id - start];
    const batches: Float64Array[] = [];
    for (let i = start; i < end; i += this.#o.batchSize) {
      batches.push(
        Float64Array.from(
          { length: Math.min(this.#o.batchSize, end - i) },
          (_, k) => i + k,
        ),
      );
    }
    this.leasesStarted++;
    let lost = false;
    // Ask for the next lease once, at a random point of this one.
    const prefetchAt = prefetchPoint(start, end);
    let prefetched = false;
    const progress = (cursor: number, samples: number, bytes: number) => {
      if (lost) return;
      if (!prefetched && cursor >= prefetchAt && cursor < end) {
        prefetched = true;
        this.#prefetchNext(signal);
      }
      // Reports go out in order so the cursor never moves backwards.
      this.#reports = this.#reports.then(async () => {
        try {
          await this.#reporting(signal, () =>
            this.#o.client.reportProgress({
              jobId: this.#o.jobId,
              nodeId: this.#o.nodeId,
              leaseId: lease.leaseId,
              cursor: BigInt(cursor),
              deliveredSamples: BigInt(samples),
              deliveredBytes: BigInt(bytes),
            }));
          if (cursor >= end) {
            this.#log("lease_completed", { lease_id: lease.leaseId });
          }
        } catch (err) {
          const ce = ConnectError.from(err);
          lost = true;
          this.#log("lease_lost", {
            lease_id: lease.leaseId,
            cursor,
            error: ce.rawMessage,
          });
        }
      });
    };
    return {
      batches,
      row: rowOf,
      label: (id) => labelIdOfHint(rowOf(id).decodeHint) ?? -1,
      done: (_index, ids, bytes) =>
        progress(ids[ids.length - 1] + 1, ids.length, bytes),
      progress,
    };
  }

  /**
   * Runs `fn`, retrying transient failures (a coordinator restarting) with
   * backoff for as long as registration would: until `connectTimeoutMs`
   * after the first failure (0: as long as it takes).
   */
  async #retrying<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    const backoff = new Backoff(100, 2000);
    let firstFailure: number | undefined;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (signal.aborted || err instanceof Mx8Error) throw err;
        const c = classifyRpcError(err);
        if (!c.transient) throw this.#permanent(err, "manifest rows request");
        firstFailure ??= Date.now();
        const limit = this.#o.connectTimeoutMs ?? 0;
        if (limit > 0 && Date.now() - firstFailure >= limit) {
          throw new CoordinatorUnreachableError(
            this.#url,
            this.#o.jobId,
            limit,
            c.reason,
            { cause: err },
          );
        }
        await sleep(backoff.nextDelayMs(), signal);
      }
    }
  }

  /**
   * Sends a progress report, resending it while the failure is transient
   * (the coordinator restarting, an HA failover under way) for at most
   * {@linkcode REPORT_RETRY_MS} (or `connectTimeoutMs` when shorter): the
   * lease survives a failover, and a final report the old leader committed
   * is answered OK by the new one (completions are idempotent per lease).
   * Other failures (the lease expired, another node holds it) go to the
   * caller at once.
   */
  async #reporting<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    const backoff = new Backoff(100, 1000);
    const limit = Math.min(
      REPORT_RETRY_MS,
      this.#o.connectTimeoutMs || REPORT_RETRY_MS,
    );
    const first = Date.now();
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (
          signal.aborted || !classifyRpcError(err).transient ||
          Date.now() - first >= limit
        ) {
          throw err;
        }
        await sleep(backoff.nextDelayMs(), signal);
      }
    }
  }

  /** Waits until every progress report sent so far was answered. */
  flush(): Promise<void> {
    return this.#reports;
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#heartbeat);
    await this.#prefetch;
    await Promise.allSettled(this.#rowsAhead.values());
    await this.#reports;
  }
}

/**
 * Maps loader stats to the wire's NodeStats.
 *
 * @param s Loader stats (undefined before the loader runs).
 * @returns NodeStats.
 */
export function nodeStats(s: LoaderStats | undefined) {
  if (!s) return create(NodeStatsSchema, {});
  const u = (n: number) => BigInt(Math.max(0, Math.round(n)));
  return create(NodeStatsSchema, {
    inflightBytes: u(s.inflightBytes),
    inflightHighWaterBytes: u(s.inflightHighWaterBytes),
    ramHighWaterBytes: u(s.ramHighWaterBytes),
    processRssBytes: u(s.processRssBytes),
    queueDepthBatches: s.queueDepthBatches,
    prefetchDepthBatches: s.prefetchDepthBatches,
    deliveredSamplesTotal: u(s.deliveredSamplesTotal),
    deliveredBytesTotal: 0n,
    autotuneEnabled: s.autotuneEnabled,
    autotuneProfile: s.autotuneProfile,
    effectiveWant: s.effectiveWant,
    effectivePrefetchBatches: s.effectivePrefetchBatches,
    effectiveMaxQueueBatches: s.effectiveMaxQueueBatches,
    autotunePressure: s.autotunePressure,
    autotuneLastDecision: s.autotuneLastDecision,
    maxInflightBytes: u(s.maxInflightBytes),
    maxProcessRssBytes: u(s.maxProcessRssBytes),
    // A mix's stats (spec §10) carry its sources.
    mixSources: ((s as { mixSources?: MixSourceView[] }).mixSources ?? []).map(
      (m) => ({
        name: m.name,
        targetShare: m.targetShare,
        actualShare: m.actualShare,
        deliveredSamples: u(m.deliveredSamples),
        waitSeconds: m.waitSeconds,
        ranOut: m.ranOut,
        dropped: m.dropped,
      }),
    ),
  });
}

/** The fields of a mix's per-source stats that heartbeats carry. */
interface MixSourceView {
  name: string;
  targetShare: number;
  actualShare: number;
  deliveredSamples: number;
  waitSeconds: number;
  ranOut: boolean;
  dropped: boolean;
}
