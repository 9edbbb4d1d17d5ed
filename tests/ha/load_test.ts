import assert from "node:assert/strict";
import { HaStateError } from "../../lib/errors.ts";
import { encodeRange, encodeSummary, jobKeys } from "../../lib/ha/layout.ts";
import { loadJob } from "../../lib/ha/load.ts";
import { diffView, toView, type View } from "../../lib/ha/view.ts";
import { LeaseError } from "../../lib/lease/errors.ts";
import { LeaseState } from "../../lib/lease/state.ts";
import type { LeaseStateImage } from "../../lib/lease/types.ts";
import { job, rng, viewKvs } from "./_helpers.ts";

const keys = jobKeys("j1");

const sorted = (rs: { startId: number; endId: number }[]) =>
  rs.map((r) => [r.startId, r.endId]).sort((a, b) => a[0] - b[0]);

/** The parts of an image a failover must preserve (pool order is free). */
function essence(img: LeaseStateImage) {
  return {
    ready: img.ready,
    worldSize: img.worldSize,
    nodes: [...img.nodes].sort((a, b) => a.nodeId < b.nodeId ? -1 : 1),
    live: [...img.live].sort((a, b) => a.startId - b.startId),
    pool: sorted(img.pool),
    queues: img.queues,
    completed: img.completed,
  };
}

Deno.test("load: random histories survive view → keys → load → restore at every step", () => {
  let drained = 0, failovers = 0, requeued = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const rand = rng(seed);
    const { options, meta } = job({
      worldSize: 2 + rand(3),
      totalSamples: 20 + rand(150),
      blockSize: 1 + rand(12),
      shuffle: rand(2) === 0,
      completed: rand(3) === 0 ? [{ startId: 3, endId: 9 }] : [],
    });
    const nodes = ["n0", "n1", "n2", "n3", "n4", "n5"];
    let state = new LeaseState<unknown, unknown>(options);
    let view: View = new Map();
    let now = 0;
    for (let step = 0; step < 150 && !state.jobDrained; step++) {
      now += rand(400);
      const node = nodes[rand(nodes.length)];
      try {
        switch (rand(5)) {
          case 0:
            state.register(node, { n: node }, now);
            break;
          case 1:
            state.requestLease(node, 1 + rand(3), now);
            break;
          case 2:
          case 3: {
            const live = state.liveLeases();
            if (live.length === 0) break;
            const l = live[rand(live.length)];
            const cursor = Math.min(
              l.endId,
              l.cursor + 1 + rand(l.endId - l.startId),
            );
            state.reportProgress(l.nodeId, l.leaseId, cursor, 0, 0, now);
            break;
          }
          default:
            state.tick(now);
        }
      } catch (e) {
        if (!(e instanceof LeaseError)) throw e;
      }
      const image = state.image();
      const next = toView(image, meta, keys, view);
      const diff = diffView(view, next);
      view = next;
      const loaded = loadJob(viewKvs(view), keys);
      assert.deepEqual(loaded.meta, {
        ...meta,
        ready: image.ready,
        worldSize: image.worldSize,
      });
      assert.deepEqual(
        essence(loaded.image),
        essence(image),
        `seed ${seed} step ${step}`,
      );
      // The restored machine passes its own invariant check and keeps going.
      const restored = LeaseState.restore(options, loaded.image, now);
      assert.equal(restored.jobDrained, state.jobDrained);
      // A restored state's view is the stored view: nothing to write.
      const again = diffView(view, toView(restored.image(), meta, keys, view));
      assert.equal(
        again.puts.size + again.deletes.length,
        0,
        `seed ${seed} step ${step}`,
      );
      if (diff.puts.size > 0 && loaded.image.pool.length > 0) requeued++;
      if (rand(10) === 0) {
        state = restored; // fail over now and then
        failovers++;
      }
    }
    if (state.jobDrained) drained++;
  }
  // The histories reach the interesting states.
  assert.ok(drained >= 5, `only ${drained} jobs drained`);
  assert.ok(failovers >= 100, `only ${failovers} failovers`);
  assert.ok(requeued >= 20, `only ${requeued} steps with a pool`);
});

Deno.test("load: a requeued range bumps its epoch; grants and completions are durable, cursors not", () => {
  const { options, meta } = job({
    worldSize: 1,
    totalSamples: 10,
    blockSize: 5,
    shuffle: false,
  });
  const state = new LeaseState(options);
  state.register("a", {}, 0);
  let view = toView(state.image(), meta, keys, new Map());
  const [l1] = state.requestLease("a", 1, 1).leases;
  let next = toView(state.image(), meta, keys, view);
  assert.equal(diffView(view, next).durable, true, "a grant is durable");
  view = next;
  assert.equal(view.get(keys.range(5))?.range?.epoch, 0);
  state.reportProgress("a", l1.leaseId, 2, 2, 0, 2);
  next = toView(state.image(), meta, keys, view);
  const progress = diffView(view, next);
  assert.equal(progress.durable, false, "cursor progress is batched");
  assert.deepEqual([...progress.puts.keys()].sort(), [
    keys.range(5),
    keys.summary(0),
  ]);
  view = next;
  state.tick(5000); // expires: remainder [2, 5) requeued
  next = toView(state.image(), meta, keys, view);
  assert.equal(diffView(view, next).durable, true, "a requeue is durable");
  view = next;
  assert.deepEqual(view.get(keys.range(5))?.range, {
    state: "pooled",
    owner: "",
    lease: "",
    start: 2,
    cursor: 2,
    epoch: 1,
  });
  state.register("a", {}, 5001);
  const [l2] = state.requestLease("a", 1, 5002).leases;
  assert.deepEqual([l2.startId, l2.endId], [2, 5]);
  view = toView(state.image(), meta, keys, view);
  assert.equal(
    view.get(keys.range(5))?.range?.epoch,
    1,
    "re-grant keeps the epoch",
  );
  state.reportProgress("a", l2.leaseId, 5, 3, 0, 5003);
  next = toView(state.image(), meta, keys, view);
  const done = diffView(view, next);
  assert.equal(done.durable, true, "a completion is durable");
  assert.deepEqual(
    done.deletes,
    [keys.range(5)],
    "a finished range folds into the summary",
  );
  assert.equal(
    next.get(keys.summary(0))?.text,
    encodeSummary([{ startId: 0, endId: 5 }]),
  );
});

Deno.test("load: partial commits (summary ahead, prefix lost) are repaired, never lose samples", () => {
  const { options, meta } = job({
    worldSize: 1,
    totalSamples: 10,
    blockSize: 5,
    shuffle: false,
  });
  const state = new LeaseState(options);
  state.register("a", {}, 0);
  const [l] = state.requestLease("a", 1, 1).leases; // [0, 5)
  state.reportProgress("a", l.leaseId, 3, 3, 0, 2);
  const view = toView(state.image(), meta, keys, new Map());
  // Summary committed past the stored cursor (cursor 1): trust the summary.
  const ahead = new Map(view);
  ahead.set(keys.range(5), {
    text: encodeRange({
      state: "leased",
      owner: "a",
      lease: l.leaseId,
      start: 0,
      cursor: 1,
      epoch: 0,
    }),
  });
  const a = loadJob(viewKvs(ahead), keys).image;
  assert.deepEqual(a.live.map((x) => x.cursor), [3]);
  // Cursor stored at 3 but the summary lost: the lease's samples go back to the pool.
  const lost = new Map(view);
  lost.delete(keys.summary(0));
  const b = loadJob(viewKvs(lost), keys).image;
  assert.deepEqual(b.live, []);
  assert.deepEqual(b.pool, [{ startId: 0, endId: 5 }]);
  LeaseState.restore(options, b, 10); // invariants hold
  // Completion split: summary has the whole range, key still there → done.
  state.reportProgress("a", l.leaseId, 5, 2, 0, 3);
  const finished = toView(state.image(), meta, keys, view);
  finished.set(keys.range(5), view.get(keys.range(5))!);
  const c = loadJob(viewKvs(finished), keys).image;
  assert.deepEqual(c.live, []);
  assert.deepEqual(c.pool, []);
  assert.deepEqual(c.completed, [{ startId: 0, endId: 5 }]);
});

Deno.test("load: overlapping ranges, orphan keys and ranges past the job are refused", () => {
  const { meta } = job({ worldSize: 1, totalSamples: 10, blockSize: 5 });
  const base = toView(
    {
      ready: true,
      worldSize: 1,
      nodes: [{ nodeId: "a", rank: 0, departed: false, caps: {} }],
      live: [],
      pool: [],
      completed: [],
    },
    meta,
    keys,
    new Map(),
  );
  const withRange = (end: number, start: number) => {
    const v = new Map(base);
    v.set(keys.range(end), {
      text: encodeRange({
        state: "pooled",
        owner: "",
        lease: "",
        start,
        cursor: start,
        epoch: 0,
      }),
    });
    return v;
  };
  const overlap = withRange(5, 0);
  overlap.set(keys.range(4), {
    text: encodeRange({
      state: "pooled",
      owner: "",
      lease: "",
      start: 2,
      cursor: 2,
      epoch: 0,
    }),
  });
  assert.throws(
    () => loadJob(viewKvs(overlap), keys),
    (e: unknown) => e instanceof HaStateError && /overlaps/.test(e.message),
  );
  assert.throws(
    () => loadJob(viewKvs(withRange(50, 45)), keys),
    /past the job's 10 samples/,
  );
  const orphan = new Map(base);
  orphan.delete(keys.meta);
  assert.throws(
    () => loadJob(viewKvs(orphan), keys),
    (e: unknown) => e instanceof HaStateError && e.key === keys.meta,
  );
  const empty = loadJob([], keys);
  assert.equal(empty.meta, undefined);
});
