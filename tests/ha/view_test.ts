import assert from "node:assert/strict";
import { jobKeys } from "../../lib/ha/layout.ts";
import { loadJob } from "../../lib/ha/load.ts";
import { type KeyWrite, planWrites } from "../../lib/ha/plan.ts";
import { toView, type View, ViewCache } from "../../lib/ha/view.ts";
import { LeaseError } from "../../lib/lease/errors.ts";
import { RangeSet } from "../../lib/lease/range_set.ts";
import { LeaseState } from "../../lib/lease/state.ts";
import type { DurableImage } from "../../lib/lease/types.ts";
import { job, rng, viewKvs } from "./_helpers.ts";
import { toView as wholeView } from "./_whole_view.ts";

const keys = jobKeys("j1");

function completedCheck(image: DurableImage) {
  const set = new RangeSet(image.completed);
  return (startId: number, endId: number) =>
    set.subtractFrom({ startId, endId }).length === 0;
}

function apply(view: View, writes: Map<string, KeyWrite>): void {
  for (const [key, entry] of writes) {
    if (entry === null) view.delete(key);
    else view.set(key, entry);
  }
}

/** Writes as etcd sees them: key → value (null: delete), in plan order. */
function texts(writes: Map<string, KeyWrite>): [string, string | null][] {
  return [...writes].map(([key, e]) => [key, e === null ? null : e.text]);
}

Deno.test("view: planning with a ViewCache from durableImage() writes exactly what the whole-view planner writes", () => {
  let plans = 0, summaryReused = 0, withWrites = 0, failovers = 0;
  for (let seed = 1; seed <= 80; seed++) {
    const rand = rng(seed);
    const { options, meta } = job({
      worldSize: 2 + rand(4),
      totalSamples: 30 + rand(400),
      // Small blocks: several summary chunks, ranges crossing none.
      blockSize: 1 + rand(6),
      shuffle: rand(2) === 0,
    });
    const nodes = ["n0", "n1", "n2", "n3", "n4", "n5"];
    let state = new LeaseState<unknown, unknown>(options);
    // The reference plans from the full image with the original whole-view
    // toView (tests/ha/_whole_view.ts); the
    // incremental one from durableImage() with the job's cache.
    let whole: View = new Map();
    let cached: View = new Map();
    let cache = new ViewCache();
    let now = 0;
    for (let step = 0; step < 300 && !state.jobDrained; step++) {
      now += rand(400);
      const node = nodes[rand(nodes.length)];
      try {
        switch (rand(7)) {
          case 0:
            state.register(node, { n: node }, now);
            break;
          case 1:
          case 2:
            state.requestLease(node, 1 + rand(3), now);
            break;
          case 3:
          case 4: {
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
          case 5:
            state.tick(now);
            break;
          default:
            if (rand(8) !== 0) break;
            // A failover: the new leader loads what was sent, with a new
            // cache (a new store).
            {
              const loaded = loadJob(viewKvs(whole), keys);
              assert.deepEqual(
                texts(new Map(loaded.view)),
                texts(new Map(loadJob(viewKvs(cached), keys).view)),
              );
              state = LeaseState.restore(options, loaded.image, now);
              whole = loaded.view;
              cached = new Map(loaded.view);
              cache = new ViewCache();
              failovers++;
            }
        }
      } catch (e) {
        if (!(e instanceof LeaseError)) throw e;
      }
      const image = state.image();
      const ref = planWrites(
        whole,
        wholeView(image, meta, keys, whole),
        completedCheck(image),
      );
      const before = cache.completed;
      const durableImage = state.durableImage();
      const got = planWrites(
        cached,
        toView(durableImage, meta, keys, cached, cache),
        completedCheck(durableImage),
      );
      if (before !== undefined && cache.completed === before) summaryReused++;
      const at = `seed ${seed}, step ${step}`;
      assert.deepEqual(texts(got.durable), texts(ref.durable), at);
      assert.deepEqual(texts(got.deferred), texts(ref.deferred), at);
      assert.equal(got.barrier, ref.barrier, at);
      plans++;
      if (ref.durable.size + ref.deferred.size > 0) withWrites++;
      apply(whole, ref.durable);
      apply(cached, got.durable);
      if (rand(3) === 0) {
        apply(whole, ref.deferred);
        apply(cached, got.deferred);
      }
      assert.deepEqual(texts(new Map(cached)), texts(new Map(whole)), at);
    }
  }
  // The sequences exercised what they are meant to.
  assert.ok(plans > 10_000, `${plans} plans`);
  assert.ok(withWrites > 3_000, `${withWrites} plans with writes`);
  assert.ok(summaryReused > 1_000, `${summaryReused} summaries reused`);
  assert.ok(failovers > 20, `${failovers} failovers`);
});
