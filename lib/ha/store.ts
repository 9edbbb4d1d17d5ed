/**
 * A leader's handle on its job's state in etcd: loads it in one read,
 * then commits each mutation's writes through fenced transactions —
 * durable changes at once, pipelined (several txns in flight, ordered per
 * key: lib/ha/pipeline.ts), cursor progress and the summary when flushed.
 *
 * @module
 */
import { HaStateError } from "../errors.ts";
import type { EtcdClient } from "../etcd/client.ts";
import type { Leadership } from "../etcd/election.ts";
import type { DurableImage } from "../lease/types.ts";
import { RangeSet } from "../lease/range_set.ts";
import {
  encodeMeta,
  type JobKeys,
  LAYOUT_VERSION,
  type MetaRecord,
} from "./layout.ts";
import { type LoadedJob, loadJob } from "./load.ts";
import { TxnPipeline } from "./pipeline.ts";
import { MAX_KEYS_PER_TXN } from "./txn.ts";
import { type KeyWrite, planWrites } from "./plan.ts";
import { toView, type View, ViewCache } from "./view.ts";

/** Fields of `meta` that must match between the stored job and this coordinator. */
const FIXED = [
  "jobId",
  "manifestHash",
  "totalSamples",
  "blockSize",
  "seed",
  "epoch",
  "shuffle",
] as const;

/** What {@linkcode HaJobStore.prototype.commit} did. */
export interface CommitResult {
  /** Keys written or deleted. */
  keys: number;
  /** Transactions run. */
  txns: number;
  /** Whether deferred writes (cursor progress, summary) were left for a flush. */
  deferred: boolean;
}

/**
 * The leader's store of one job's lease state.
 *
 * @example Load, restore, commit (leader only)
 * ```ts ignore
 * const { store, loaded } = await HaJobStore.open(etcd, keys, leadership, meta);
 * const state = LeaseState.restore(options, loaded.image, Date.now());
 * state.register("n1", {}, Date.now());
 * await store.commit(state.image()); // durable before the RPC answers
 * ```
 */
export class HaJobStore {
  readonly #keys: JobKeys;
  readonly #meta: MetaRecord;
  /** The view as written or being written (the base of the next plan). */
  #view: View;
  /** What planning reuses between commits (lib/ha/view.ts). */
  readonly #cache = new ViewCache();
  readonly #pipeline: TxnPipeline;
  /** Settles once every durable write planned so far is committed. */
  #durable: Promise<void> = Promise.resolve();

  private constructor(
    keys: JobKeys,
    leadership: Pick<Leadership, "fencedTxn" | "refusedUnsent">,
    meta: MetaRecord,
    loaded: Pick<LoadedJob, "view" | "revisions">,
  ) {
    this.#keys = keys;
    this.#meta = meta;
    this.#view = loaded.view;
    this.#pipeline = new TxnPipeline(
      (compares, ops) => leadership.fencedTxn(compares, ops),
      loaded.revisions,
      undefined,
      () => leadership.refusedUnsent(),
    );
  }

  /**
   * Reads the job's prefix once and checks it belongs to this job; writes
   * `meta` (fenced) when the job is new.
   *
   * @param client etcd client.
   * @param keys The job's keys.
   * @param leadership This replica's leadership.
   * @param meta This coordinator's job configuration.
   * @returns The store and the loaded state.
   * @throws {HaStateError} When the stored job differs (names the field).
   * @throws {NotLeaderError} When leadership was lost meanwhile.
   */
  static async open(
    client: EtcdClient,
    keys: JobKeys,
    leadership: Leadership,
    meta: MetaRecord,
  ): Promise<{ store: HaJobStore; loaded: LoadedJob }> {
    const read = await client.range(keys.prefix, { prefix: true });
    const loaded = loadJob(read.kvs, keys);
    if (loaded.meta !== undefined) {
      for (const field of FIXED) {
        const stored = loaded.meta[field];
        if (stored !== meta[field]) {
          throw new HaStateError(
            keys.meta,
            `the stored job has ${field} ${
              JSON.stringify(stored)
            }, this coordinator ${
              JSON.stringify(meta[field])
            }: start it with the job's original options, or use another --job-id`,
          );
        }
      }
      // A takeover: the new term (and one more failover when another term
      // led before) is durable before this leader serves.
      const prev = loaded.meta;
      const taken: MetaRecord = {
        ...prev,
        v: LAYOUT_VERSION,
        term: leadership.token,
        failovers: (prev.failovers ?? 0) +
          (prev.term !== undefined && prev.term !== leadership.token ? 1 : 0),
      };
      const store = new HaJobStore(keys, leadership, taken, loaded);
      await store.commit(loaded.image);
      loaded.meta = taken;
      return { store, loaded };
    }
    meta = { ...meta, term: leadership.token, failovers: 0 };
    const text = encodeMeta(meta);
    const result = await leadership.fencedTxn(
      [{ key: keys.meta, target: "create", op: "=", value: 0 }],
      [{ put: { key: keys.meta, value: text } }],
    );
    loaded.view.set(keys.meta, { text });
    loaded.revisions.set(keys.meta, result.revision);
    loaded.meta = meta;
    loaded.image.worldSize = meta.worldSize;
    return { store: new HaJobStore(keys, leadership, meta, loaded), loaded };
  }

  /** The job's `meta` as this leader stores it (term, failovers). */
  get meta(): MetaRecord {
    return this.#meta;
  }

  /**
   * Fenced txns of durable changes submitted and not yet settled (the
   * flush's deferred writes are not counted: commits do not queue behind
   * them, lib/ha/pipeline.ts `background`).
   */
  get inflight(): number {
    return this.#pipeline.inflight;
  }

  /**
   * Resolves once fewer than `max` txns are in flight.
   *
   * @param max The limit.
   * @returns When a slot is free.
   */
  slot(max: number): Promise<void> {
    return this.#pipeline.slot(max);
  }

  /**
   * Settles once every durable write planned so far is committed: what an
   * RPC that changed nothing durable waits for before it answers (its
   * answer may reveal a change still in flight, e.g. a resent completion).
   *
   * @returns When the planned durable writes are in etcd.
   * @throws {NotLeaderError} When one of them failed.
   */
  settled(): Promise<void> {
    return this.#durable;
  }

  /**
   * Plans, synchronously, the writes that take the stored view to `image`
   * and sends them: the durable ones at once (membership, grant,
   * completion, requeue), the deferred ones (cursor progress, summary,
   * folding `done` ranges) only when `flush` is set. The returned promise
   * settles once these writes and every durable write planned before them
   * are committed; txns on other keys stay in flight meanwhile.
   *
   * @param image The lease state after a mutation.
   * @param flush Commit deferred writes too (the periodic flush).
   * @returns What was written.
   * @throws {NotLeaderError} When a fenced write failed: the replica steps
   *   down and must not answer the RPC as if it succeeded.
   */
  commit(image: DurableImage, flush = false): Promise<CommitResult> {
    const next = toView(image, this.#meta, this.#keys, this.#view, this.#cache);
    let completed: RangeSet | undefined;
    const planned = planWrites(this.#view, next, (startId, endId) => {
      completed ??= new RangeSet(image.completed);
      return completed.subtractFrom({ startId, endId }).length === 0;
    });
    const durable = this.#submit(planned.durable, {
      barrier: planned.barrier,
    });
    this.#durable = Promise.all([this.#durable, durable.done]).then(() => {});
    this.#durable.catch(() => {});
    const waits = [this.#durable];
    let keys = planned.durable.size;
    let txns = durable.txns;
    if (flush) {
      // Folding a done range (deleting it) must follow the summary write
      // that holds it, which an earlier flush may still have in flight.
      const summaries = [...this.#view.keys()].filter((k) =>
        k.startsWith(this.#keys.prefix + "summary/")
      );
      // Counted like any txn (not `background`): the 400k-sample soak with
      // the flush beside a durable txn failed (keepalives starved behind
      // etcd's applies, then no leader for 30 s), as with 4 in flight.
      const deferred = this.#submit(planned.deferred, { after: summaries });
      waits.push(deferred.done.then(() => {}));
      keys += planned.deferred.size;
      txns += deferred.txns;
    }
    return Promise.all(waits).then(() => ({
      keys,
      txns,
      deferred: !flush && planned.deferred.size > 0 &&
        planned.durable.size === 0,
    }));
  }

  /** Applies writes to the view and submits them; counts the txns. */
  #submit(
    writes: Map<string, KeyWrite>,
    options: { barrier?: boolean; after?: string[]; background?: boolean },
  ): { done: Promise<number>; txns: number } {
    if (writes.size === 0) return { done: Promise.resolve(0), txns: 0 };
    const list = [];
    for (const [key, entry] of writes) {
      if (entry === null) {
        this.#view.delete(key);
        list.push({ key, value: null });
      } else {
        this.#view.set(key, entry);
        list.push({ key, value: entry.text });
      }
    }
    const txns = Math.ceil(list.length / MAX_KEYS_PER_TXN);
    const done = this.#pipeline.submit(list, options);
    done.catch(() => {});
    return { done, txns };
  }
}
