/**
 * Leader election on etcd (the recipe of etcd's own `concurrency` package)
 * with fencing: each candidate puts `prefix/<lease>` bound to its own lease;
 * the lowest create revision leads and that revision is the fencing token.
 * Every write of the leader is one txn that compares the token, so a leader
 * that was paused or cut off past its TTL cannot write after another took
 * over. The leader also stops on its own at last keepalive + TTL − margin,
 * on its monotonic clock.
 *
 * @module
 */
import { EtcdError, NotLeaderError } from "../errors.ts";
import type { EtcdClient } from "./client.ts";
import type { Compare, KeyValue, Op, TxnResult } from "./types.ts";

/** Default lease TTL of a candidate (etcd's minimum is 2 s). */
export const DEFAULT_ELECTION_TTL_MS = 2000;

/** Something the election did, for event logs and metrics. */
export type ElectionEvent =
  | {
    /** This candidate became leader. */
    type: "leader_elected";
    /** Its election key. */
    key: string;
    /** Fencing token (create revision of the key): the leader's term. */
    term: number;
    /** ms from campaign start to election. */
    waitedMs: number;
  }
  | {
    /** This leader stopped leading. */
    type: "leader_lost";
    /** Its election key. */
    key: string;
    /** Its term. */
    term: number;
    /** `expired` (own clock), `keepalive` (lease gone), `fenced`, `conflict`, `error`, `resigned`. */
    reason: string;
    /** What failed, for `error` (the etcd error of the write). */
    detail?: string;
  }
  | {
    /** A write of this (former) leader was refused. */
    type: "fenced_write_rejected";
    /** Its election key. */
    key: string;
    /** Its term. */
    term: number;
    /**
     * `clock`: refused locally, past TTL − margin; `etcd`: the token compare
     * failed; `stepped_down`: never sent, the leadership ended while it
     * waited behind an earlier write.
     */
    by: "clock" | "etcd" | "stepped_down";
  };

/**
 * Keepalives sent per TTL, at a fixed rate (etcd's own client sends one per
 * TTL/3 after the previous answer; a faster, fixed rate keeps the own-clock
 * deadline — last keepalive sent + TTL − margin — ahead of slow answers).
 */
export const KEEPALIVES_PER_TTL = 6;

/** Keepalives in flight at most (a slower answer overlaps the next send). */
const MAX_KEEPALIVES_IN_FLIGHT = 3;

/** Options of {@linkcode campaign}. */
export interface CampaignOptions {
  /** Lease TTL in ms, rounded up to whole seconds, at least 2000. */
  ttlMs?: number;
  /** Safety margin: stop leading at last keepalive + TTL − margin (default TTL/4). */
  marginMs?: number;
  /** Gives up the campaign (or leadership) when aborted. */
  signal?: AbortSignal;
  /** Receives election events. */
  onEvent?: (event: ElectionEvent) => void;
}

/**
 * Campaigns for leadership under `prefix` and resolves once elected.
 *
 * @param client etcd client.
 * @param prefix Election prefix ending in `/`, e.g. `/mx8/jobs/j1/leader/`.
 * @param value The candidate's value (its advertised URL).
 * @param options TTL, margin, signal, events.
 * @returns The leadership, valid until it is lost or resigned.
 * @throws {NotLeaderError} When the candidate's lease ended before election.
 * @throws {EtcdError} When etcd fails.
 * @throws {DOMException} `AbortError` when the signal aborted the campaign.
 *
 * @example Lead, write fenced, resign
 * ```ts ignore
 * import { EtcdClient } from "./client.ts";
 * import { campaign } from "./election.ts";
 * const etcd = new EtcdClient(["http://127.0.0.1:2379"]);
 * const lead = await campaign(etcd, "/mx8/jobs/j/leader/", "http://me:7000");
 * await lead.fencedTxn([], [{ put: { key: "/mx8/jobs/j/meta", value: "{}" } }]);
 * await lead.resign();
 * ```
 */
export async function campaign(
  client: EtcdClient,
  prefix: string,
  value: string,
  options: CampaignOptions = {},
): Promise<Leadership> {
  const started = performance.now();
  const ttlSeconds = Math.max(
    2,
    Math.ceil((options.ttlMs ?? DEFAULT_ELECTION_TTL_MS) / 1000),
  );
  const ttlMs = ttlSeconds * 1000;
  const marginMs = options.marginMs ?? ttlMs / 4;
  const sentAt = performance.now();
  const lease = await client.leaseGrant(ttlSeconds);
  const key = `${prefix}${lease.id}`;
  const created = await client.txn(
    [{ key, target: "create", op: "=", value: 0 }],
    [{ put: { key, value, lease: lease.id } }],
    [{ range: { key } }],
  );
  if (!created.succeeded) {
    await client.leaseRevoke(lease.id).catch(() => {});
    throw new NotLeaderError("conflict", `Election key ${key} already exists`);
  }
  const leadership = new Leadership(client, {
    key,
    value,
    token: created.revision,
    leaseId: lease.id,
    ttlMs,
    marginMs,
    keepaliveAt: sentAt,
    onEvent: options.onEvent,
  });
  const abort = () => leadership.stepDown("resigned", true);
  options.signal?.addEventListener("abort", abort, { once: true });
  // Aborted while the lease and key were being created: the event has
  // fired already, so it would never reach the listener (a replica closing
  // then waited forever on a leadership it won after its close).
  if (options.signal?.aborted) abort();
  leadership.lost.then(() =>
    options.signal?.removeEventListener("abort", abort)
  );
  try {
    await waitForTurn(client, prefix, leadership);
  } catch (err) {
    await leadership.stepDown("resigned", true);
    if (options.signal?.aborted) {
      throw new DOMException("Campaign aborted", "AbortError");
    }
    throw err;
  }
  leadership.elected(performance.now() - started);
  return leadership;
}

/** Waits until no key under `prefix` has a lower create revision than ours. */
async function waitForTurn(
  client: EtcdClient,
  prefix: string,
  me: Leadership,
): Promise<void> {
  while (true) {
    if (me.signal.aborted) {
      throw new NotLeaderError(
        me.lostReason ?? "keepalive",
        `Candidate ${me.key} lost its lease while waiting to lead`,
      );
    }
    const before = await client.range(prefix, {
      prefix: true,
      sort: { target: "create", order: "desc" },
      maxCreateRevision: me.token - 1,
      limit: 1,
    });
    if (before.kvs.length === 0) {
      // etcd #11777: the lease may have expired while we waited; our key
      // must still be there, with our revision, for the election to count.
      const own = await client.range(me.key);
      if (own.kvs[0]?.createRevision !== me.token) {
        throw new NotLeaderError(
          "keepalive",
          `Candidate ${me.key} lost its lease before it was elected`,
        );
      }
      return;
    }
    const predecessor = before.kvs[0].key;
    try {
      for await (
        const batch of client.watch(predecessor, {
          startRevision: before.revision + 1,
          signal: me.signal,
        })
      ) {
        if (batch.events.some((e) => e.type === "delete")) break;
      }
    } catch (err) {
      if (!(err instanceof EtcdError)) throw err;
      await new Promise((r) => setTimeout(r, 100)); // re-read, watch again
    }
  }
}

/** Fields of a {@linkcode Leadership}. */
interface LeadershipInit {
  key: string;
  value: string;
  token: number;
  leaseId: string;
  ttlMs: number;
  marginMs: number;
  keepaliveAt: number;
  onEvent?: (event: ElectionEvent) => void;
}

/**
 * A candidacy, then a leadership: keeps its lease alive, knows on its own
 * monotonic clock whether it may still act, and writes only through
 * {@linkcode Leadership.prototype.fencedTxn}.
 */
export class Leadership {
  /** The election key (`prefix/<lease>`). */
  readonly key: string;
  /** The value stored under it (the leader's URL). */
  readonly value: string;
  /** Fencing token: the key's create revision; also the leader's term. */
  readonly token: number;
  /** The lease id. */
  readonly leaseId: string;
  /** Lease TTL in ms. */
  readonly ttlMs: number;
  /** Resolves with the reason when leadership (or candidacy) ends. */
  readonly lost: Promise<string>;
  readonly #client: EtcdClient;
  readonly #marginMs: number;
  readonly #onEvent: (event: ElectionEvent) => void;
  readonly #abort = new AbortController();
  #resolveLost!: (reason: string) => void;
  #lastKeepalive: number;
  #elected = false;
  #reason: string | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #keepalivesInFlight = 0;
  #deadline: ReturnType<typeof setTimeout> | undefined;

  /**
   * Starts keeping the lease alive. Use {@linkcode campaign}.
   *
   * @param client etcd client.
   * @param init Key, token, lease and timing.
   */
  constructor(client: EtcdClient, init: LeadershipInit) {
    this.#client = client;
    this.key = init.key;
    this.value = init.value;
    this.token = init.token;
    this.leaseId = init.leaseId;
    this.ttlMs = init.ttlMs;
    this.#marginMs = init.marginMs;
    this.#lastKeepalive = init.keepaliveAt;
    this.#onEvent = init.onEvent ?? (() => {});
    this.lost = new Promise((r) => this.#resolveLost = r);
    this.#armDeadline();
    this.#scheduleKeepalive();
  }

  /** Aborted when leadership (or candidacy) ends. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Why it ended, once it has. */
  get lostReason(): string | undefined {
    return this.#reason;
  }

  /**
   * Whether this replica may still act as leader: elected, not stepped
   * down, and its monotonic clock is before last keepalive + TTL − margin.
   *
   * @returns True while it leads.
   */
  stillLeader(): boolean {
    return this.#elected && this.#reason === undefined &&
      performance.now() < this.#lastKeepalive + this.ttlMs - this.#marginMs;
  }

  /**
   * Runs one txn only if this replica still leads: the token compare is
   * added, so etcd refuses it once another replica has been elected.
   * Any failed compare, or an error that leaves the outcome unknown, makes
   * the leader step down (it must reload the state before acting again).
   *
   * @param compares The caller's own conditions (e.g. a range's mod revision).
   * @param ops Writes to apply when everything holds.
   * @returns The txn result (always succeeded).
   * @throws {NotLeaderError} `expired` (own clock), `fenced` (token
   *   compare failed), `conflict` (a caller compare failed), `error`.
   */
  /**
   * Records a write of this leader that was never sent: the leadership
   * ended while it waited behind an earlier write (event
   * `fenced_write_rejected`, `by: "stepped_down"`).
   */
  refusedUnsent(): void {
    this.#onEvent({
      type: "fenced_write_rejected",
      key: this.key,
      term: this.token,
      by: "stepped_down",
    });
  }

  async fencedTxn(compares: Compare[], ops: Op[]): Promise<TxnResult> {
    if (!this.stillLeader()) {
      this.#onEvent({
        type: "fenced_write_rejected",
        key: this.key,
        term: this.token,
        by: "clock",
      });
      const reason = this.#reason ?? "expired";
      this.stepDown(reason);
      throw new NotLeaderError(
        reason,
        `Leader ${this.key} (term ${this.token}) may no longer write: ${reason}`,
      );
    }
    let result: TxnResult;
    try {
      // A slow etcd (or a starved process) gets until leadership ends on
      // this replica's own clock — the deadline as keepalives move it, not
      // as it was when the txn was sent (a txn sent just before a keepalive
      // answered used to time out and depose a healthy leader) — and at
      // most a TTL.
      result = await this.#client.txn(
        [
          { key: this.key, target: "create", op: "=", value: this.token },
          ...compares,
        ],
        ops,
        [{ range: { key: this.key } }],
        { timeoutMs: this.ttlMs, signal: this.#abort.signal },
      );
    } catch (err) {
      this.stepDown("error", true, (err as Error).message);
      throw new NotLeaderError(
        "error",
        `Leader ${this.key} stepped down: a fenced write had an unknown outcome (${
          (err as Error).message
        })`,
      );
    }
    if (result.succeeded) return result;
    const own = result.results[0];
    const fenced = !("range" in own) ||
      own.range.kvs[0]?.createRevision !== this.token;
    if (fenced) {
      this.#onEvent({
        type: "fenced_write_rejected",
        key: this.key,
        term: this.token,
        by: "etcd",
      });
    }
    const reason = fenced ? "fenced" : "conflict";
    this.stepDown(reason);
    throw new NotLeaderError(
      reason,
      fenced
        ? `Leader ${this.key} (term ${this.token}) was fenced: another replica leads now`
        : `Leader ${this.key} (term ${this.token}) stepped down: its state no longer matches etcd`,
    );
  }

  /**
   * Gives up leadership (or candidacy): stops keepalives and revokes the
   * lease so the next candidate is elected at once. Idempotent.
   */
  async resign(): Promise<void> {
    await this.stepDown("resigned", true);
  }

  /**
   * Ends leadership with a reason; idempotent.
   *
   * @param reason Why.
   * @param revoke Whether to revoke the lease (best effort).
   * @param detail What failed (logged with `leader_lost`).
   */
  async stepDown(
    reason: string,
    revoke = true,
    detail?: string,
  ): Promise<void> {
    if (this.#reason === undefined) {
      this.#reason = reason;
      clearInterval(this.#timer);
      clearTimeout(this.#deadline);
      this.#abort.abort();
      if (this.#elected) {
        this.#onEvent({
          type: "leader_lost",
          key: this.key,
          term: this.token,
          reason,
          ...(detail === undefined ? {} : { detail }),
        });
      }
      this.#resolveLost(reason);
    }
    if (revoke) await this.#client.leaseRevoke(this.leaseId).catch(() => {});
  }

  /**
   * Marks the candidacy elected. Called by {@linkcode campaign}.
   *
   * @param waitedMs Time the campaign took.
   */
  elected(waitedMs: number): void {
    if (this.#reason !== undefined) return;
    this.#elected = true;
    this.#onEvent({
      type: "leader_elected",
      key: this.key,
      term: this.token,
      waitedMs: Math.round(waitedMs),
    });
  }

  #scheduleKeepalive(): void {
    // At a fixed rate, not one period after the previous answer: a slow
    // answer (etcd busy with writes, this process starved of CPU) no
    // longer delays the next keepalive, whose send time is what the
    // deadline counts from.
    this.#timer = setInterval(
      () => this.#keepalive(),
      this.ttlMs / KEEPALIVES_PER_TTL,
    );
  }

  async #keepalive(): Promise<void> {
    if (this.#reason !== undefined) return;
    if (this.#keepalivesInFlight >= MAX_KEEPALIVES_IN_FLIGHT) return;
    this.#keepalivesInFlight++;
    const sentAt = performance.now();
    try {
      // Waits as long as leadership lasts (at least a third of the TTL).
      const ttl = await this.#client.leaseKeepAlive(this.leaseId, {
        timeoutMs: Math.max(this.ttlMs / 3, this.#leftMs()),
      });
      if (this.#reason !== undefined) return;
      if (ttl <= 0) {
        await this.stepDown("keepalive", false);
        return;
      }
      if (sentAt > this.#lastKeepalive) {
        this.#lastKeepalive = sentAt;
        this.#armDeadline();
      }
    } catch {
      // etcd unreachable: keep trying; the deadline ends leadership in time.
    } finally {
      this.#keepalivesInFlight--;
    }
  }

  /** ms until leadership ends on this replica's clock (at least 1). */
  #leftMs(): number {
    return Math.max(
      1,
      Math.floor(
        this.#lastKeepalive + this.ttlMs - this.#marginMs - performance.now(),
      ),
    );
  }

  #armDeadline(): void {
    clearTimeout(this.#deadline);
    const left = this.#lastKeepalive + this.ttlMs - this.#marginMs -
      performance.now();
    const due = performance.now() + Math.max(0, left);
    this.#deadline = setTimeout(() => {
      if (!this.stillLeader() && this.#elected) {
        // Why: keepalives unanswered (etcd slow) or this process starved
        // (the timer itself fired late).
        const now = performance.now();
        this.stepDown(
          "expired",
          true,
          `last answered keepalive sent ${
            Math.round(now - this.#lastKeepalive)
          } ms ago, ${this.#keepalivesInFlight} in flight, deadline timer ${
            Math.round(now - due)
          } ms late`,
        );
      }
    }, Math.max(0, left));
  }
}

/**
 * Reads who leads under `prefix` now (lowest create revision).
 *
 * @param client etcd client.
 * @param prefix Election prefix.
 * @returns The leader's key-value (value = its URL), or undefined.
 * @throws {EtcdError} When etcd fails.
 */
export async function currentLeader(
  client: EtcdClient,
  prefix: string,
): Promise<KeyValue | undefined> {
  const r = await client.range(prefix, {
    prefix: true,
    sort: { target: "create", order: "asc" },
    limit: 1,
  });
  return r.kvs[0];
}
