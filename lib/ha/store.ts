/**
 * A leader's handle on its job's state in etcd: loads it in one read,
 * then commits each mutation's diff through fenced transactions — durable
 * changes at once, cursor progress when flushed.
 *
 * @module
 */
import { HaStateError } from "../errors.ts";
import type { EtcdClient } from "../etcd/client.ts";
import type { Leadership } from "../etcd/election.ts";
import type { LeaseStateImage } from "../lease/types.ts";
import { encodeMeta, type JobKeys, type MetaRecord } from "./layout.ts";
import { type LoadedJob, loadJob } from "./load.ts";
import { planTxns } from "./txn.ts";
import { diffView, toView, type View } from "./view.ts";

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
  /** Whether a cursor-only change was left for a later flush. */
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
  readonly #leadership: Leadership;
  readonly #meta: MetaRecord;
  #view: View;
  #revisions: Map<string, number>;

  private constructor(
    keys: JobKeys,
    leadership: Leadership,
    meta: MetaRecord,
    loaded: LoadedJob,
  ) {
    this.#keys = keys;
    this.#leadership = leadership;
    this.#meta = meta;
    this.#view = loaded.view;
    this.#revisions = loaded.revisions;
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
   * Commits the writes that take the stored view to `image`: at once when
   * any is durable (membership, grant, completion, requeue) or `flush` is
   * set; otherwise (cursor progress only) it is deferred to a later call.
   *
   * @param image The lease state after a mutation.
   * @param flush Commit cursor progress too (the periodic flush).
   * @returns What was written.
   * @throws {NotLeaderError} When a fenced write failed: the replica steps
   *   down and must not answer the RPC as if it succeeded.
   */
  async commit(image: LeaseStateImage, flush = false): Promise<CommitResult> {
    const next = toView(image, this.#meta, this.#keys, this.#view);
    const diff = diffView(this.#view, next);
    const keys = diff.puts.size + diff.deletes.length;
    if (keys === 0) return { keys, txns: 0, deferred: false };
    if (!diff.durable && !flush) return { keys: 0, txns: 0, deferred: true };
    const txns = planTxns(diff, this.#revisions);
    for (const txn of txns) {
      const result = await this.#leadership.fencedTxn(txn.compares, txn.ops);
      for (const op of txn.ops) {
        if ("put" in op) {
          this.#view.set(op.put.key, next.get(op.put.key)!);
          this.#revisions.set(op.put.key, result.revision);
        } else if ("delete" in op) {
          this.#view.delete(op.delete.key);
          this.#revisions.delete(op.delete.key);
        }
      }
    }
    return { keys, txns: txns.length, deferred: false };
  }
}
