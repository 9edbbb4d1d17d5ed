import assert from "node:assert/strict";
import { jobKeys } from "../../lib/ha/layout.ts";
import { loadJob } from "../../lib/ha/load.ts";
import { type KeyWrite, planWrites } from "../../lib/ha/plan.ts";
import { toView, type View } from "../../lib/ha/view.ts";
import { LeaseError } from "../../lib/lease/errors.ts";
import { RangeSet } from "../../lib/lease/range_set.ts";
import { LeaseState } from "../../lib/lease/state.ts";
import type { LeaseStateImage } from "../../lib/lease/types.ts";
import { job, rng, viewKvs } from "./_helpers.ts";

const keys = jobKeys("j1");

function completedCheck(image: LeaseStateImage) {
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

Deno.test("plan: a completion is one durable `done` key; cursor, summary and the fold wait for the flush", () => {
  const { options, meta } = job({
    worldSize: 1,
    totalSamples: 10,
    blockSize: 5,
    shuffle: false,
  });
  const state = new LeaseState<unknown, unknown>(options);
  state.register("n0", {}, 0);
  const [lease] = state.requestLease("n0", 1, 1).leases;
  let sent: View = new Map();
  const commit = (flush: boolean) => {
    const next = toView(state.image(), meta, keys, sent);
    const w = planWrites(sent, next, completedCheck(state.image()));
    apply(sent, w.durable);
    if (flush) apply(sent, w.deferred);
    return w;
  };
  const first = commit(false);
  assert.equal(first.barrier, true, "meta and the member: a barrier");
  assert.ok(first.durable.has(keys.range(lease.endId)), "the grant");
  sent = new Map(sent);

  state.reportProgress("n0", lease.leaseId, lease.startId + 2, 2, 0, 2);
  const progress = commit(false);
  assert.equal(progress.durable.size, 0, "cursor progress is not durable");
  assert.deepEqual([...progress.deferred.keys()].sort(), [
    keys.range(lease.endId),
    keys.summary(0),
  ]);

  state.reportProgress("n0", lease.leaseId, lease.endId, 3, 0, 3);
  const done = commit(false);
  assert.equal(done.barrier, false, "a completion is no barrier");
  assert.deepEqual([...done.durable.keys()].sort(), [
    keys.member("n0"),
    keys.range(lease.endId),
  ]);
  const range = done.durable.get(keys.range(lease.endId))!;
  assert.deepEqual(range.range, {
    state: "done",
    owner: "n0",
    lease: lease.leaseId,
    start: lease.startId,
    cursor: lease.endId,
    epoch: 0,
  });
  // etcd holds the done key without the summary: the range is completed.
  const loaded = loadJob(viewKvs(sent), keys);
  assert.deepEqual(loaded.image.completed, [{
    startId: lease.startId,
    endId: lease.endId,
  }]);
  assert.deepEqual(loaded.image.live, []);

  const flush = commit(true);
  assert.equal(flush.durable.size, 0);
  assert.deepEqual(flush.deferred.get(keys.range(lease.endId)), null);
  assert.ok(flush.deferred.has(keys.summary(0)), "folded into the summary");
  assert.equal(sent.has(keys.range(lease.endId)), false);
});

Deno.test("plan: a range that vanishes without its samples completed is deleted, not marked done", () => {
  const range = {
    state: "pooled" as const,
    owner: "",
    lease: "",
    start: 0,
    cursor: 0,
    epoch: 1,
  };
  const sent: View = new Map([[keys.range(5), {
    text: "x",
    range,
    endId: 5,
  }]]);
  const w = planWrites(sent, new Map(), () => false);
  assert.deepEqual([...w.durable], [[keys.range(5), null]]);
});

/**
 * Random histories, committed the way the leader pipelines them: each
 * mutation's durable writes are one in-flight txn; txns land in a random
 * order that keeps what the pipeline keeps (per-key order, barriers first);
 * an RPC is answered once its txn and every earlier durable one landed. At
 * random the leader dies: etcd holds only the landed txns. Whatever landed
 * must load and restore (samples neither lost nor counted twice), keep
 * every answered grant and completion, and never hold a lease the old
 * leader did not grant.
 */
Deno.test("plan: any landing order the pipeline allows loads back; answered grants and completions survive a crash", () => {
  let crashes = 0, landedOutOfOrder = 0, doneLoaded = 0;
  for (let seed = 1; seed <= 60; seed++) {
    const rand = rng(seed);
    const { options, meta } = job({
      worldSize: 2 + rand(3),
      totalSamples: 20 + rand(150),
      blockSize: 1 + rand(12),
      shuffle: rand(2) === 0,
    });
    const nodes = ["n0", "n1", "n2", "n3", "n4"];
    let state = new LeaseState<unknown, unknown>(options);
    let stored: View = new Map(); // etcd
    let sent: View = new Map(); // the leader's planned view
    type Txn = {
      seq: number;
      writes: Map<string, KeyWrite>;
      barrier: boolean;
      after: Set<string>;
      durable: boolean;
      landed: boolean;
      answers: {
        completed: { startId: number; endId: number }[];
        granted: string[];
      };
    };
    let inflight: Txn[] = [];
    let seq = 0;
    // What answered RPCs told the agents.
    const answeredCompleted = new RangeSet();
    const answeredGrants = new Set<string>();
    const everGranted = new Set<string>();
    let now = 0;
    const canLand = (t: Txn) =>
      inflight.every((o) =>
        o.seq >= t.seq || o.landed ||
        !(o.barrier ||
          [...o.writes.keys()].some((k) => t.writes.has(k) || t.after.has(k)))
      );
    const answer = () => {
      // Answered: every durable txn up to it landed.
      for (const t of inflight) {
        if (!t.durable) continue;
        const earlier = inflight.filter((o) => o.durable && o.seq <= t.seq);
        if (earlier.every((o) => o.landed)) {
          for (const r of t.answers.completed) {
            for (const p of answeredCompleted.subtractFrom(r)) {
              answeredCompleted.add(p);
            }
          }
          for (const id of t.answers.granted) answeredGrants.add(id);
        }
      }
      inflight = inflight.filter((t) =>
        !t.landed || inflight.some((o) => !o.landed && o.seq < t.seq)
      );
    };
    for (let step = 0; step < 200 && !state.jobDrained; step++) {
      now += rand(400);
      const node = nodes[rand(nodes.length)];
      const answers: Txn["answers"] = { completed: [], granted: [] };
      try {
        switch (rand(5)) {
          case 0:
            state.register(node, { n: node }, now);
            break;
          case 1:
            for (const l of state.requestLease(node, 1 + rand(3), now).leases) {
              answers.granted.push(l.leaseId);
            }
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
            const r = state.reportProgress(
              l.nodeId,
              l.leaseId,
              cursor,
              0,
              0,
              now,
            );
            if (r.leaseCompleted) {
              answers.completed.push({ startId: l.startId, endId: l.endId });
            }
            break;
          }
          default:
            state.tick(now);
        }
      } catch (e) {
        if (!(e instanceof LeaseError)) throw e;
      }
      const image = state.image();
      const next = toView(image, meta, keys, sent);
      const w = planWrites(sent, next, completedCheck(image));
      const push = (writes: Map<string, KeyWrite>, durable: boolean) => {
        if (writes.size === 0 && !durable) return;
        // As the store does: a flush follows the summary writes in flight.
        const after = new Set(
          durable
            ? []
            : [...sent.keys()].filter((k) => k.includes("/summary/")),
        );
        apply(sent, writes);
        inflight.push({
          seq: seq++,
          writes,
          barrier: durable && w.barrier,
          after,
          durable,
          landed: writes.size === 0, // nothing to write: answered with the rest
          answers: durable ? answers : { completed: [], granted: [] },
        });
      };
      push(w.durable, true);
      if (rand(4) === 0) push(w.deferred, false); // the flush
      for (const id of answers.granted) everGranted.add(id);
      // Some txns land, in any order the pipeline allows.
      for (let n = rand(3); n > 0; n--) {
        const ready = inflight.filter((t) => !t.landed && canLand(t));
        if (ready.length === 0) break;
        const t = ready[rand(ready.length)];
        if (inflight.some((o) => !o.landed && o.seq < t.seq)) {
          landedOutOfOrder++;
        }
        apply(stored, t.writes);
        t.landed = true;
      }
      answer();
      if (rand(12) === 0) {
        // The leader dies: a new one loads what etcd holds.
        crashes++;
        const loaded = loadJob(viewKvs(stored), keys);
        if ([...stored.values()].some((e) => e.range?.state === "done")) {
          doneLoaded++;
        }
        const restored = LeaseState.restore(options, loaded.image, now);
        const completed = new RangeSet(loaded.image.completed);
        for (const r of answeredCompleted.ranges()) {
          assert.deepEqual(
            completed.subtractFrom(r),
            [],
            `seed ${seed} step ${step}: answered completion [${r.startId}, ${r.endId}) lost`,
          );
        }
        for (const l of loaded.image.live) {
          assert.ok(
            everGranted.has(l.leaseId),
            `seed ${seed} step ${step}: lease ${l.leaseId} was never granted`,
          );
        }
        const live = new Set(loaded.image.live.map((l) => l.leaseId));
        for (const id of answeredGrants) {
          const stillLive = state.image().live.some((l) => l.leaseId === id);
          if (stillLive) {
            assert.ok(
              live.has(id),
              `seed ${seed} step ${step}: answered grant ${id} lost`,
            );
          }
        }
        state = restored;
        stored = new Map(stored);
        sent = new Map(stored);
        inflight = [];
        answeredGrants.clear();
      }
    }
  }
  // The histories reach the interesting cases.
  assert.ok(crashes >= 50, `only ${crashes} crashes`);
  assert.ok(landedOutOfOrder >= 50, `only ${landedOutOfOrder} out of order`);
  assert.ok(doneLoaded >= 10, `only ${doneLoaded} loads with done ranges`);
});
