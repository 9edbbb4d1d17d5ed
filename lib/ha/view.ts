/**
 * The persisted view of a job's lease state: what its etcd keys must hold
 * for a given {@linkcode LeaseStateImage}, and the difference between two
 * views — the writes one mutation needs. Pure.
 *
 * @module
 */
import type { DurableImage } from "../lease/types.ts";
import {
  encodeMember,
  encodeMeta,
  encodeRange,
  encodeSummary,
  type IdRange,
  type JobKeys,
  type MemberRecord,
  type MetaRecord,
  type RangeRecord,
  SUMMARY_BLOCKS,
} from "./layout.ts";

/** One key of a view. */
export interface ViewEntry {
  /** The encoded value. */
  text: string;
  /** The decoded range record, for `ranges/` keys. */
  range?: RangeRecord;
  /** The range's end id (its key), for `ranges/` keys. */
  endId?: number;
  /** The member record encoded, for `members/` keys built by `toView`. */
  member?: MemberRecord;
  /** The ranges encoded, for `summary/` keys built by `toView`. */
  summary?: readonly IdRange[];
}

/** Every key a job's state needs, with its value. */
export type View = Map<string, ViewEntry>;

/** The writes that take one view to the next. */
export interface ViewDiff {
  /** Keys to write, with values. */
  puts: Map<string, string>;
  /** Keys to delete. */
  deletes: string[];
  /**
   * Whether the change must be durable before the RPC answers: anything
   * but cursor progress (a range's cursor, summary chunks) is.
   */
  durable: boolean;
}

/**
 * Splits completed ranges into summary chunks of `SUMMARY_BLOCKS * blockSize`
 * ids each (a range never crosses one: blocks start at multiples of the
 * block size).
 *
 * @param completed Completed ranges, sorted and merged.
 * @param blockSize Samples per block.
 * @returns Chunk index → its ranges.
 */
export function summaryChunks(
  completed: readonly IdRange[],
  blockSize: number,
): Map<number, IdRange[]> {
  const span = SUMMARY_BLOCKS * blockSize;
  const chunks = new Map<number, IdRange[]>();
  for (const r of completed) {
    let start = r.startId;
    while (start < r.endId) {
      const chunk = Math.floor(start / span);
      const end = Math.min(r.endId, (chunk + 1) * span);
      let list = chunks.get(chunk);
      if (list === undefined) chunks.set(chunk, list = []);
      list.push({ startId: start, endId: end });
      start = end;
    }
  }
  return chunks;
}

/**
 * What {@linkcode toView} keeps between the plans of one job: the summary
 * chunks of the completed set last seen, reused while it is unchanged (it
 * changes only on a completion, yet building and comparing its chunks costs
 * in proportion to every completed range). One per job; results are the same
 * with or without it.
 *
 * @example
 * ```ts
 * import { ViewCache } from "./view.ts";
 * const cache = new ViewCache(); // pass to every toView of one job
 * ```
 */
export class ViewCache {
  /** The completed ranges the summary entries were built from. */
  completed: IdRange[] | undefined;
  /** Their summary keys and entries. */
  summaries: [string, ViewEntry][] = [];
  /** Member keys by node id (a string built once hashes once). */
  readonly members = new Map<string, string>();
  /** Range keys by end id; cleared when far larger than the view's ranges. */
  readonly ranges = new Map<number, string>();
}

/**
 * The view of a state: `meta`, one key per member, one per leased or pooled
 * range, summary chunks. A range's epoch carries over from `previous` and
 * is bumped when its lease ends without it finishing (requeue or re-grant).
 *
 * @param image The lease state's image.
 * @param meta The job's `meta` (its `ready`/`worldSize` are taken from the image).
 * @param keys The job's keys.
 * @param previous The view last committed (for epochs).
 * @param cache The job's {@linkcode ViewCache}, if any.
 * @returns The view.
 */
export function toView(
  image: DurableImage,
  meta: MetaRecord,
  keys: JobKeys,
  previous: View,
  cache?: ViewCache,
): View {
  const view: View = new Map();
  const metaText = encodeMeta({
    ...meta,
    ready: image.ready,
    worldSize: image.worldSize,
  });
  const prevMeta = previous.get(keys.meta);
  view.set(
    keys.meta,
    prevMeta?.text === metaText ? prevMeta : { text: metaText },
  );
  const memberKey = (nodeId: string): string => {
    if (cache === undefined) return keys.member(nodeId);
    let key = cache.members.get(nodeId);
    if (key === undefined) cache.members.set(nodeId, key = keys.member(nodeId));
    return key;
  };
  const ranges = image.live.length + image.pool.length;
  if (cache !== undefined && cache.ranges.size > 4 * ranges + 1024) {
    cache.ranges.clear();
  }
  const rangeKey = (endId: number): string => {
    if (cache === undefined) return keys.range(endId);
    let key = cache.ranges.get(endId);
    if (key === undefined) cache.ranges.set(endId, key = keys.range(endId));
    return key;
  };
  for (const n of image.nodes) {
    const key = memberKey(n.nodeId);
    // Every durable change builds the whole view: reuse the entry of an
    // unchanged member (caps are the same object while unchanged) without
    // building its record.
    const prev = previous.get(key);
    const m = prev?.member;
    if (
      m !== undefined && m.rank === n.rank && m.departed === n.departed &&
      m.caps === n.caps && sameDone(m.done, n.done)
    ) {
      view.set(key, prev!);
      continue;
    }
    const member: MemberRecord = {
      rank: n.rank,
      departed: n.departed,
      caps: n.caps,
      done: n.done,
    };
    view.set(key, { text: encodeMember(member), member });
  }
  const addRange = (
    endId: number,
    state: "leased" | "pooled",
    owner: string,
    lease: string,
    start: number,
    cursor: number,
  ) => {
    const key = rangeKey(endId);
    const old = previous.get(key);
    const prev = old?.range;
    const bumped = prev !== undefined && prev.lease !== "" &&
      prev.lease !== lease;
    const epoch = (prev?.epoch ?? 0) + (bumped ? 1 : 0);
    if (
      prev !== undefined && prev.state === state && prev.owner === owner &&
      prev.lease === lease && prev.start === start &&
      prev.cursor === cursor && prev.epoch === epoch
    ) {
      view.set(key, old!);
      return;
    }
    const range: RangeRecord = { state, owner, lease, start, cursor, epoch };
    view.set(key, { text: encodeRange(range), range, endId });
  };
  for (const l of image.live) {
    addRange(l.endId, "leased", l.nodeId, l.leaseId, l.startId, l.cursor);
  }
  for (const p of image.pool) {
    addRange(p.endId, "pooled", "", "", p.startId, p.startId);
  }
  if (
    cache?.completed !== undefined &&
    sameRanges(cache.completed, image.completed)
  ) {
    // Same chunks as the last view built: same keys, same texts.
    for (const [key, entry] of cache.summaries) view.set(key, entry);
    return view;
  }
  const summaries: [string, ViewEntry][] = [];
  for (const [chunk, list] of summaryChunks(image.completed, meta.blockSize)) {
    const key = keys.summary(chunk);
    const prev = previous.get(key);
    const entry = prev?.summary !== undefined && sameRanges(prev.summary, list)
      ? prev
      : { text: encodeSummary(list), summary: list };
    view.set(key, entry);
    summaries.push([key, entry]);
  }
  if (cache !== undefined) {
    cache.completed = image.completed.map((r) => ({ ...r }));
    cache.summaries = summaries;
  }
  return view;
}

function sameDone(
  a: MemberRecord["done"],
  b: MemberRecord["done"],
): boolean {
  const x = a ?? [], y = b ?? [];
  return x.length === y.length &&
    x.every((d, i) => d.leaseId === y[i].leaseId && d.endId === y[i].endId);
}

function sameRanges(a: readonly IdRange[], b: readonly IdRange[]): boolean {
  return a.length === b.length &&
    a.every((r, i) => r.startId === b[i].startId && r.endId === b[i].endId);
}

/**
 * The writes from `prev` to `next`, and whether they must be durable now.
 *
 * @param prev The committed view.
 * @param next The view after a mutation.
 * @returns Puts, deletes, durability.
 */
export function diffView(prev: View, next: View): ViewDiff {
  const puts = new Map<string, string>();
  const deletes: string[] = [];
  let durable = false;
  for (const [key, entry] of next) {
    const old = prev.get(key);
    if (old?.text === entry.text) continue;
    puts.set(key, entry.text);
    if (key.includes("/summary/")) continue; // progress: batched
    if (old?.range !== undefined && entry.range !== undefined) {
      const { cursor: _a, ...a } = entry.range;
      const { cursor: _b, ...b } = old.range;
      if (JSON.stringify(a) !== JSON.stringify(b)) durable = true;
    } else {
      durable = true;
    }
  }
  for (const key of prev.keys()) {
    if (!next.has(key)) {
      deletes.push(key);
      if (!key.includes("/summary/")) durable = true;
    }
  }
  return { puts, deletes, durable };
}
