/**
 * Loading a job's lease state from one range read of its etcd prefix: the
 * new leader's first step after election. Pure.
 *
 * @module
 */
import { HaStateError } from "../errors.ts";
import { planRankQueues } from "../lease/blocks.ts";
import { RangeSet } from "../lease/range_set.ts";
import type { LeaseStateImage } from "../lease/types.ts";
import type { KeyValue } from "../etcd/types.ts";
import {
  decodeMember,
  decodeMeta,
  decodeRange,
  decodeSummary,
  type IdRange,
  type JobKeys,
  type MetaRecord,
  parseKey,
  type RangeRecord,
} from "./layout.ts";
import type { View } from "./view.ts";

/** A job's state as loaded from etcd. */
export interface LoadedJob {
  /** `meta`, or undefined when the job has no state in etcd yet. */
  meta: MetaRecord | undefined;
  /** The lease state to restore (see `LeaseState.restore`). */
  image: LeaseStateImage;
  /** The view as stored (the base of the next diff). */
  view: View;
  /** Mod revision of every stored key (what fenced writes compare). */
  revisions: Map<string, number>;
}

/**
 * Rebuilds a job's lease state from the keys of its prefix. Unissued rank
 * queues come from the deterministic plan of the frozen membership, minus
 * stored ranges and completed samples; a member that departed has its
 * queue in the pool. A `done` range is completed as a whole (not yet
 * folded into the summary). A range whose samples are all in the summary is done
 * (its completion was committed in pieces); a leased range whose delivered
 * prefix is not all completed goes back to the pool (re-delivered).
 *
 * @param kvs Every key under `keys.prefix` (one range read).
 * @param keys The job's keys.
 * @returns The state, view and revisions.
 * @throws {HaStateError} When a key is malformed, two ranges overlap or
 *   samples would be lost.
 */
export function loadJob(kvs: readonly KeyValue[], keys: JobKeys): LoadedJob {
  const view: View = new Map();
  const revisions = new Map<string, number>();
  let meta: MetaRecord | undefined;
  const members: LeaseStateImage["nodes"] = [];
  const stored: { key: string; endId: number; r: RangeRecord }[] = [];
  const completed = new RangeSet();
  for (const kv of kvs) {
    const parsed = parseKey(keys.prefix, kv.key);
    if (parsed.kind === "leader" || parsed.kind === "unknown") continue;
    revisions.set(kv.key, kv.modRevision);
    if (parsed.kind === "meta") {
      meta = decodeMeta(kv.key, kv.value);
      view.set(kv.key, { text: kv.value });
    } else if (parsed.kind === "member") {
      members.push({
        nodeId: parsed.nodeId,
        ...decodeMember(kv.key, kv.value),
      });
      view.set(kv.key, { text: kv.value });
    } else if (parsed.kind === "range") {
      const r = decodeRange(kv.key, kv.value, parsed.endId);
      stored.push({ key: kv.key, endId: parsed.endId, r });
      view.set(kv.key, { text: kv.value, range: r, endId: parsed.endId });
    } else {
      for (const r of decodeSummary(kv.key, kv.value)) {
        try {
          completed.add(r);
        } catch {
          throw new HaStateError(
            kv.key,
            `summary range [${r.startId}, ${r.endId}) overlaps another chunk`,
          );
        }
      }
      view.set(kv.key, { text: kv.value });
    }
  }
  if (meta === undefined) {
    if (members.length + stored.length + completed.size > 0) {
      throw new HaStateError(
        keys.meta,
        "missing while the job has other keys: delete the job's prefix to start afresh",
      );
    }
    return {
      meta,
      image: {
        ready: false,
        worldSize: 1,
        nodes: [],
        live: [],
        pool: [],
        queues: [],
        completed: [],
      },
      view,
      revisions,
    };
  }
  for (const { key, endId } of stored) {
    if (endId > meta.totalSamples) {
      throw new HaStateError(
        key,
        `range ends at ${endId}, past the job's ${meta.totalSamples} samples`,
      );
    }
  }
  // A done range is completed as a whole; the summary may hold part of it
  // already (a progress flush) or all of it (the fold committed, the
  // delete not yet read).
  for (const { r, endId } of stored) {
    if (r.state !== "done") continue;
    for (const piece of completed.subtractFrom({ startId: r.start, endId })) {
      completed.add(piece);
    }
  }
  const live: LeaseStateImage["live"] = [];
  const pool: IdRange[] = [];
  // Samples accounted for: completed, or held by a stored range.
  const claimed = new RangeSet(completed.ranges());
  for (const { key, endId, r } of stored) {
    if (r.state === "done") continue;
    const left = completed.subtractFrom({ startId: r.start, endId });
    for (const piece of left) {
      try {
        claimed.add(piece);
      } catch {
        throw new HaStateError(
          key,
          `range [${piece.startId}, ${piece.endId}) overlaps another stored range`,
        );
      }
    }
    if (
      r.state === "leased" && left.length === 1 && left[0].endId === endId &&
      left[0].startId >= r.cursor
    ) {
      // The summary may run ahead of a batched cursor: trust the summary.
      live.push({
        leaseId: r.lease,
        nodeId: r.owner,
        startId: r.start,
        endId,
        cursor: left[0].startId,
      });
    } else {
      // Pooled, or a lease whose delivered prefix was not all committed:
      // everything not completed goes back to the pool.
      pool.push(...left);
    }
  }
  const queues: IdRange[][] = [];
  if (meta.ready) {
    const ranked = members.filter((m) => m.rank >= 0).sort((a, b) =>
      a.rank - b.rank
    );
    ranked.forEach((m, i) => {
      if (m.rank !== i) {
        throw new HaStateError(
          keys.member(m.nodeId),
          `rank ${m.rank} leaves a gap: ranks must be 0..${ranked.length - 1}`,
        );
      }
    });
    const plan = planRankQueues({
      totalSamples: meta.totalSamples,
      blockSize: meta.blockSize,
      worldSize: ranked.length,
      shuffle: meta.shuffle,
      seed: BigInt(meta.seed),
      epoch: meta.epoch,
      completed: new RangeSet(meta.resumed),
    });
    for (const m of ranked) {
      const left = plan[m.rank].flatMap((piece) => claimed.subtractFrom(piece));
      if (m.departed) {
        pool.push(...left);
        queues.push([]);
      } else {
        queues.push(left);
      }
    }
  }
  return {
    meta,
    image: {
      ready: meta.ready,
      worldSize: meta.worldSize,
      nodes: members,
      live,
      pool,
      queues,
      completed: completed.ranges(),
    },
    view,
    revisions,
  };
}
