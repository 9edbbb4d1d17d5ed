/**
 * Turning a view diff into fenced etcd transactions. Pure.
 *
 * @module
 */
import type { Compare, Op } from "../etcd/types.ts";
import type { ViewDiff } from "./view.ts";

/**
 * Most keys one transaction writes: etcd allows 128 operations per branch,
 * and the leader's fencing adds one compare and one failure read.
 */
export const MAX_KEYS_PER_TXN = 120;

/** One transaction to run through `Leadership.fencedTxn`. */
export interface PlannedTxn {
  /** Each written key's mod revision must be the one last seen (0: absent). */
  compares: Compare[];
  /** The writes. */
  ops: Op[];
}

/**
 * Plans the transactions of a diff: every written key is compared against
 * the mod revision this leader last committed or read, so a write based on
 * a stale view fails instead of overwriting. Diffs larger than
 * {@linkcode MAX_KEYS_PER_TXN} keys (a departure that pools a whole queue)
 * are split; the loader accepts any prefix of the split as a valid state.
 *
 * @param diff The writes.
 * @param revisions Mod revision of each key as last seen.
 * @param maxKeys Keys per transaction.
 * @returns The transactions, in order.
 *
 * @example
 * ```ts
 * import { planTxns } from "./txn.ts";
 * const txns = planTxns(
 *   { puts: new Map([["/k", "v"]]), deletes: [], durable: true },
 *   new Map([["/k", 7]]),
 * );
 * if (txns[0].compares[0].value !== 7) throw new Error();
 * ```
 */
export function planTxns(
  diff: ViewDiff,
  revisions: ReadonlyMap<string, number>,
  maxKeys = MAX_KEYS_PER_TXN,
): PlannedTxn[] {
  const writes: { key: string; op: Op }[] = [];
  for (const [key, value] of diff.puts) {
    writes.push({ key, op: { put: { key, value } } });
  }
  for (const key of diff.deletes) writes.push({ key, op: { delete: { key } } });
  const txns: PlannedTxn[] = [];
  for (let i = 0; i < writes.length; i += maxKeys) {
    const group = writes.slice(i, i + maxKeys);
    txns.push({
      compares: group.map(({ key }) => ({
        key,
        target: "mod",
        op: "=",
        value: revisions.get(key) ?? 0,
      })),
      ops: group.map(({ op }) => op),
    });
  }
  return txns;
}
