/**
 * Which writes of a mutation must be durable before its RPC answers, and
 * which wait for the periodic flush. Pure.
 *
 * Durable: membership and `meta`, grants, requeues (anything of a range but
 * its cursor), and completions — written as a `done` range, one key of its
 * own, so concurrent completions do not all write the shared summary chunk
 * (which would order them one after another). Deferred to the flush: cursor
 * progress, summary chunks, and the fold of `done` ranges (their delete,
 * with the summary that holds them).
 *
 * @module
 */
import { encodeRange, type MemberRecord, type RangeRecord } from "./layout.ts";
import type { View, ViewEntry } from "./view.ts";

/** A key's new entry, or `null` to delete it. */
export type KeyWrite = ViewEntry | null;

/** The writes between two views, split by when they must reach etcd. */
export interface PlannedWrites {
  /** Before the RPC answers. */
  durable: Map<string, KeyWrite>;
  /** At the next flush (may be lost on failover: re-delivered). */
  deferred: Map<string, KeyWrite>;
  /**
   * Whether the durable writes change what later changes derive from —
   * `meta` (barrier, world size) or membership (a member added, removed,
   * ranked, departed; not its `done` list) — so every later txn must be
   * ordered after them.
   */
  barrier: boolean;
}

/** Whether the samples `[startId, endId)` are all completed. */
export type CompletedCheck = (startId: number, endId: number) => boolean;

/**
 * Splits the writes from the stored (or in-flight) view `sent` to `next`.
 *
 * @param sent The view as last written or being written.
 * @param next The view of the state after a mutation.
 * @param completed Whether a range's samples are all completed in `next`'s
 *   state (a range key that vanishes with its samples completed is a
 *   completion, written as `done`; one that vanishes otherwise is deleted).
 * @returns Durable and deferred writes.
 *
 * @example A completion is a durable `done` put; its summary waits
 * ```ts
 * import { planWrites } from "./plan.ts";
 * const range = { state: "leased", owner: "n", lease: "L", start: 0, cursor: 0, epoch: 0 } as const;
 * const sent = new Map([["/j/ranges/5", { text: "x", range, endId: 5 }]]);
 * const next = new Map([["/j/summary/0", { text: "[[0,5]]" }]]);
 * const w = planWrites(sent, next, () => true);
 * if (w.durable.get("/j/ranges/5")?.range?.state !== "done") throw new Error();
 * if (!w.deferred.has("/j/summary/0")) throw new Error();
 * ```
 */
export function planWrites(
  sent: View,
  next: View,
  completed: CompletedCheck,
): PlannedWrites {
  const durable = new Map<string, KeyWrite>();
  const deferred = new Map<string, KeyWrite>();
  let barrier = false;
  for (const [key, entry] of next) {
    const old = sent.get(key);
    if (old?.text === entry.text) continue;
    if (entry.range === undefined && entry.endId === undefined) {
      // meta, members: durable; summary chunks: progress, flushed.
      if (isSummary(key)) {
        deferred.set(key, entry);
      } else {
        durable.set(key, entry);
        if (!doneOnly(old?.member, entry.member)) barrier = true;
      }
    } else if (cursorOnly(old?.range, entry.range)) {
      deferred.set(key, entry);
    } else {
      durable.set(key, entry);
    }
  }
  for (const [key, old] of sent) {
    if (next.has(key)) continue;
    const r = old.range;
    if (isSummary(key) || r?.state === "done") {
      deferred.set(key, null); // the fold: with the summary that holds it
    } else if (
      r !== undefined && old.endId !== undefined &&
      completed(r.start, old.endId)
    ) {
      const done: RangeRecord = { ...r, state: "done", cursor: old.endId };
      durable.set(key, {
        text: encodeRange(done),
        range: done,
        endId: old.endId,
      });
    } else {
      durable.set(key, null);
      if (r === undefined) barrier = true; // a member or meta removed
    }
  }
  return { durable, deferred, barrier };
}

/** Both are member records differing at most in their `done` lists. */
function doneOnly(
  a: MemberRecord | undefined,
  b: MemberRecord | undefined,
): boolean {
  return a !== undefined && b !== undefined && a.rank === b.rank &&
    a.departed === b.departed && a.caps === b.caps;
}

function isSummary(key: string): boolean {
  return key.includes("/summary/");
}

/** Same range record but for its cursor (and neither is `done`). */
function cursorOnly(
  a: RangeRecord | undefined,
  b: RangeRecord | undefined,
): boolean {
  if (a === undefined || b === undefined) return false;
  if (a.state === "done" || b.state === "done") return false;
  return a.state === b.state && a.owner === b.owner && a.lease === b.lease &&
    a.start === b.start && a.epoch === b.epoch;
}
