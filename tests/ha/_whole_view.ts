// The whole-view planner's toView as it was before lib/ha/view.ts grew its
// ViewCache and allocation-free reuse (commit 5db6da9), frozen: the oracle
// tests/ha/view_test.ts compares the planner against at every step.
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
} from "../../lib/ha/layout.ts";
import { summaryChunks, type View } from "../../lib/ha/view.ts";
import type { DurableImage } from "../../lib/lease/types.ts";

/** The view of a state, built whole with no cache (the original `toView`). */
export function toView(
  image: DurableImage,
  meta: MetaRecord,
  keys: JobKeys,
  previous: View,
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
  for (const n of image.nodes) {
    const key = keys.member(n.nodeId);
    const member: MemberRecord = {
      rank: n.rank,
      departed: n.departed,
      caps: n.caps,
      done: n.done,
    };
    // Every durable change builds the whole view: reuse the encoding of an
    // unchanged member (caps are the same object while unchanged).
    const prev = previous.get(key);
    view.set(
      key,
      prev?.member !== undefined && sameMember(prev.member, member)
        ? prev
        : { text: encodeMember(member), member },
    );
  }
  const addRange = (endId: number, r: Omit<RangeRecord, "epoch">) => {
    const key = keys.range(endId);
    const old = previous.get(key);
    const prev = old?.range;
    const bumped = prev !== undefined && prev.lease !== "" &&
      prev.lease !== r.lease;
    const range: RangeRecord = {
      ...r,
      epoch: (prev?.epoch ?? 0) + (bumped ? 1 : 0),
    };
    view.set(
      key,
      prev !== undefined && sameRange(prev, range)
        ? old!
        : { text: encodeRange(range), range, endId },
    );
  };
  for (const l of image.live) {
    addRange(l.endId, {
      state: "leased",
      owner: l.nodeId,
      lease: l.leaseId,
      start: l.startId,
      cursor: l.cursor,
    });
  }
  for (const p of image.pool) {
    addRange(p.endId, {
      state: "pooled",
      owner: "",
      lease: "",
      start: p.startId,
      cursor: p.startId,
    });
  }
  for (const [chunk, list] of summaryChunks(image.completed, meta.blockSize)) {
    const key = keys.summary(chunk);
    const prev = previous.get(key);
    view.set(
      key,
      prev?.summary !== undefined && sameRanges(prev.summary, list)
        ? prev
        : { text: encodeSummary(list), summary: list },
    );
  }
  return view;
}

function sameMember(a: MemberRecord, b: MemberRecord): boolean {
  if (a.rank !== b.rank || a.departed !== b.departed || a.caps !== b.caps) {
    return false;
  }
  const x = a.done ?? [], y = b.done ?? [];
  return x.length === y.length &&
    x.every((d, i) => d.leaseId === y[i].leaseId && d.endId === y[i].endId);
}

function sameRanges(a: readonly IdRange[], b: readonly IdRange[]): boolean {
  return a.length === b.length &&
    a.every((r, i) => r.startId === b[i].startId && r.endId === b[i].endId);
}

function sameRange(a: RangeRecord, b: RangeRecord): boolean {
  return a.state === b.state && a.owner === b.owner && a.lease === b.lease &&
    a.start === b.start && a.cursor === b.cursor && a.epoch === b.epoch;
}
