/**
 * Pipelined fenced commits: several transactions in flight at once, each
 * ordered after the in-flight ones that write any of its keys.
 *
 * etcd applies concurrent requests in whatever order they reach its raft
 * log, so two in-flight txns writing one key could land in the wrong order
 * (a grant after its completion, a member put after its delete). Per-key
 * chaining rules that out: a txn is sent only once every earlier txn that
 * writes one of its keys has committed, and it then compares each key's
 * mod revision with the one that txn produced — so etcd itself would refuse
 * it if the order were ever wrong. Txns on disjoint keys go out at once and
 * share etcd's WAL fsyncs. A failed txn fails every txn chained after it,
 * unsent. Pure of I/O: `send` is the caller's (a leader's `fencedTxn`).
 *
 * @module
 */
import type { Compare, Op } from "../etcd/types.ts";
import { MAX_KEYS_PER_TXN } from "./txn.ts";

/** One key write: a value, or `null` to delete the key. */
export interface PipelineWrite {
  /** The key. */
  key: string;
  /** Its new value, or `null` to delete it. */
  value: string | null;
}

/** Sends one txn (compares and writes); resolves with its revision. */
export type SendTxn = (
  compares: Compare[],
  ops: Op[],
) => Promise<{ revision: number }>;

/**
 * Runs txns in flight concurrently, ordered per key.
 *
 * @example Two commits on disjoint keys go out together
 * ```ts
 * import { TxnPipeline } from "./pipeline.ts";
 * let rev = 10;
 * const p = new TxnPipeline(async () => ({ revision: ++rev }), new Map());
 * const a = p.submit([{ key: "/a", value: "1" }]);
 * const b = p.submit([{ key: "/b", value: "2" }]);
 * if (p.inflight !== 2) throw new Error();
 * await Promise.all([a, b]);
 * ```
 */
export class TxnPipeline {
  readonly #send: SendTxn;
  readonly #revisions: Map<string, number>;
  readonly #maxKeys: number;
  readonly #onUnsent: (err: unknown) => void;
  /** The last submitted txn writing each key, until it settles. */
  readonly #tails = new Map<string, Promise<void>>();
  /** Barrier txns in flight: every later txn waits for them. */
  readonly #barriers = new Set<Promise<void>>();
  #inflight = 0;
  /** Background txns (deferred writes) in flight: not counted by `slot`. */
  #background = 0;
  #slotWaiters: (() => void)[] = [];

  /**
   * Creates a pipeline.
   *
   * @param send Sends one txn (fenced by the caller).
   * @param revisions Mod revision of every stored key as last read or
   *   written (0 or absent: the key does not exist); kept up to date.
   * @param maxKeys Keys per txn (larger writes are split, in order).
   * @param onUnsent Called for each txn left unsent because one it waited
   *   for failed (the writes it carried were refused).
   */
  constructor(
    send: SendTxn,
    revisions: Map<string, number>,
    maxKeys = MAX_KEYS_PER_TXN,
    onUnsent: (err: unknown) => void = () => {},
  ) {
    this.#send = send;
    this.#revisions = revisions;
    this.#maxKeys = maxKeys;
    this.#onUnsent = onUnsent;
  }

  /**
   * Foreground txns submitted and not yet settled (sent or waiting for
   * their keys); background ones are not counted.
   */
  get inflight(): number {
    return this.#inflight;
  }

  /** Background txns submitted and not yet settled. */
  get background(): number {
    return this.#background;
  }

  /**
   * Resolves once fewer than `max` foreground txns are in flight.
   *
   * @param max The limit.
   * @returns When a slot is free.
   */
  slot(max: number): Promise<void> {
    if (this.#inflight < max) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const check = () => {
        if (this.#inflight < max) resolve();
        else this.#slotWaiters.push(check);
      };
      this.#slotWaiters.push(check);
    });
  }

  /**
   * Submits writes: puts first, then deletes, split into txns of at most
   * `maxKeys` keys sent one after another (so etcd holds a prefix of them
   * if the leader dies midway); each txn waits for the in-flight txns that
   * write one of its keys. The keys are claimed synchronously: a later
   * submit touching them orders after this one.
   *
   * A `barrier` submit (membership, the job's `meta`: what later changes
   * are derived from) is waited for by every txn submitted after it, so
   * etcd never holds e.g. a grant of a rank's range without the
   * membership that assigned the rank.
   *
   * `after` names keys this submit does not write but must follow the
   * in-flight writes of (folding a `done` range: after the summary chunk
   * that holds it).
   *
   * A `background` submit (the periodic flush of deferred writes) is
   * ordered like any other but does not count in {@linkcode inflight}, so
   * the foreground commits waiting on {@linkcode slot} do not queue behind
   * its (large) txns; they still follow it on the keys they share.
   *
   * @param writes The key writes (each key once).
   * @param options `barrier`: order every later submit after this one;
   *   `after`: keys whose in-flight writes go first; `background`: not
   *   counted by `inflight`/`slot`.
   * @returns The number of txns; rejects with the first failure (of this
   *   submit's txns or of one it waited for), leaving later parts unsent.
   */
  submit(
    writes: readonly PipelineWrite[],
    options: {
      barrier?: boolean;
      after?: Iterable<string>;
      background?: boolean;
    } = {},
  ): Promise<number> {
    const barrier = options.barrier ?? false;
    const background = options.background ?? false;
    const after = new Set<Promise<void>>();
    for (const key of options.after ?? []) {
      const tail = this.#tails.get(key);
      if (tail !== undefined) after.add(tail);
    }
    const ordered = [
      ...writes.filter((w) => w.value !== null),
      ...writes.filter((w) => w.value === null),
    ];
    let previous: Promise<void> | undefined;
    let count = 0;
    for (let i = 0; i < ordered.length; i += this.#maxKeys) {
      const group = ordered.slice(i, i + this.#maxKeys);
      const deps = new Set<Promise<void>>([...this.#barriers, ...after]);
      if (previous !== undefined) deps.add(previous);
      for (const { key } of group) {
        const tail = this.#tails.get(key);
        if (tail !== undefined) deps.add(tail);
      }
      if (background) this.#background++;
      else this.#inflight++;
      const txn = Promise.all(deps).then(
        () => this.#run(group),
        (err) => {
          this.#onUnsent(err);
          throw err;
        },
      );
      txn.catch(() => {}).finally(() => {
        for (const { key } of group) {
          if (this.#tails.get(key) === txn) this.#tails.delete(key);
        }
        this.#barriers.delete(txn);
        if (background) {
          this.#background--;
          return;
        }
        this.#inflight--;
        const waiters = this.#slotWaiters;
        this.#slotWaiters = [];
        for (const w of waiters) w();
      });
      for (const { key } of group) this.#tails.set(key, txn);
      if (barrier) this.#barriers.add(txn);
      previous = txn;
      count++;
    }
    if (previous === undefined) return Promise.resolve(0);
    return previous.then(() => count);
  }

  async #run(group: readonly PipelineWrite[]): Promise<void> {
    // Read at send time: the txns this one waited for have set them.
    const compares: Compare[] = group.map(({ key }) => ({
      key,
      target: "mod",
      op: "=",
      value: this.#revisions.get(key) ?? 0,
    }));
    const ops: Op[] = group.map(({ key, value }) =>
      value === null ? { delete: { key } } : { put: { key, value } }
    );
    const { revision } = await this.#send(compares, ops);
    for (const { key, value } of group) {
      if (value === null) this.#revisions.delete(key);
      else this.#revisions.set(key, revision);
    }
  }
}
