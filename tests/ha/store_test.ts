import assert from "node:assert/strict";
import { EtcdClient } from "../../lib/etcd/client.ts";
import { campaign, type ElectionEvent } from "../../lib/etcd/election.ts";
import { HaStateError, NotLeaderError } from "../../lib/errors.ts";
import { jobKeys } from "../../lib/ha/layout.ts";
import { HaJobStore } from "../../lib/ha/store.ts";
import { LeaseState } from "../../lib/lease/state.ts";
import { HAS_ETCD, startEtcd } from "../_helpers/etcd.ts";
import { job } from "./_helpers.ts";

const ignore = !HAS_ETCD;
const keys = jobKeys("j1");

Deno.test({
  name:
    "store: a new leader loads what the old one committed, then fences it out",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    const c = new EtcdClient(etcd.endpoints);
    const { options, meta } = job({
      totalSamples: 60,
      blockSize: 5,
      worldSize: 2,
    });
    const eventsA: ElectionEvent[] = [];
    const a = await campaign(c, keys.leader, "http://a", {
      ttlMs: 30_000,
      onEvent: (e) => eventsA.push(e),
    });
    const { store: storeA, loaded } = await HaJobStore.open(c, keys, a, meta);
    assert.deepEqual(loaded.meta, { ...meta, term: a.token, failovers: 0 });
    const state = LeaseState.restore(options, loaded.image, 0);
    state.register("n0", { cpus: 1 }, 0);
    assert.deepEqual(await storeA.commit(state.image()), {
      keys: 1,
      txns: 1,
      deferred: false,
    });
    state.register("n1", { cpus: 2 }, 0);
    await storeA.commit(state.image());
    const [l0] = state.requestLease("n0", 2, 1).leases;
    const [l1] = state.requestLease("n1", 1, 1).leases;
    await storeA.commit(state.image());
    state.reportProgress("n0", l0.leaseId, l0.endId, 5, 0, 2); // completion
    assert.equal((await storeA.commit(state.image())).deferred, false);
    state.reportProgress("n1", l1.leaseId, l1.startId + 2, 2, 0, 3); // progress
    assert.equal((await storeA.commit(state.image())).deferred, true);
    const flushed = await storeA.commit(state.image(), true);
    assert.equal(flushed.deferred, false);
    assert.ok(flushed.keys >= 2);
    state.reportProgress("n1", l1.leaseId, l1.startId + 3, 1, 0, 4); // not flushed: may be lost

    // A is cut off: its lease ends in etcd; B is elected and loads.
    await c.leaseRevoke(a.leaseId);
    const b = await campaign(c, keys.leader, "http://b", { ttlMs: 30_000 });
    const { store: storeB, loaded: atB } = await HaJobStore.open(
      c,
      keys,
      b,
      meta,
    );
    // The takeover is counted in meta before B serves.
    assert.equal(atB.meta?.term, b.token);
    assert.equal(atB.meta?.failovers, 1);
    const restored = LeaseState.restore(options, atB.image, 1_000_000);
    const live = restored.liveLeases().map((
      l,
    ) => [l.leaseId, l.nodeId, l.cursor]);
    const expected = state.liveLeases().map((l) => [
      l.leaseId,
      l.nodeId,
      l.leaseId === l1.leaseId ? l1.startId + 2 : l.cursor, // the unflushed cursor is lost
    ]);
    assert.deepEqual(live.sort(), expected.sort());
    assert.equal(
      restored.completedRanges().reduce((n, r) => n + r.endId - r.startId, 0),
      5 + 2,
    );
    // B's holder reports on its old lease id.
    restored.reportProgress("n1", l1.leaseId, l1.endId, 3, 0, 1_000_001);
    await storeB.commit(restored.image());

    // A, still trusting its clock, tries to commit: etcd refuses, A steps down.
    state.reportProgress("n1", l1.leaseId, l1.endId, 2, 0, 5);
    await assert.rejects(
      storeA.commit(state.image()),
      (e: unknown) => e instanceof NotLeaderError && e.reason === "fenced",
    );
    assert.deepEqual(eventsA.map((e) => e.type), [
      "leader_elected",
      "fenced_write_rejected",
      "leader_lost",
    ]);
    // What B wrote stands.
    const { loaded: after } = await HaJobStore.open(c, keys, b, meta);
    assert.deepEqual(after.image.completed, restored.completedRanges());
    assert.equal(after.meta?.failovers, 1); // same term: no new failover
    await b.resign();
  },
});

Deno.test({
  name: "store: a stored job with other options is refused, naming the field",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    const c = new EtcdClient(etcd.endpoints);
    const { meta } = job();
    const a = await campaign(c, keys.leader, "http://a");
    await HaJobStore.open(c, keys, a, meta);
    await assert.rejects(
      HaJobStore.open(c, keys, a, { ...meta, manifestHash: "other" }),
      (e: unknown) =>
        e instanceof HaStateError && e.key === keys.meta &&
        /manifestHash "h", this coordinator "other"/.test(e.message),
    );
    await a.resign();
  },
});

Deno.test({
  name:
    "store: a departure that pools more than one txn of ranges is split and loads back",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    const c = new EtcdClient(etcd.endpoints);
    const { options, meta } = job({
      totalSamples: 600,
      blockSize: 1,
      worldSize: 2,
      shuffle: false,
    });
    const a = await campaign(c, keys.leader, "http://a", { ttlMs: 30_000 });
    const { store } = await HaJobStore.open(c, keys, a, meta);
    const state = new LeaseState(options);
    state.register("n0", {}, 0);
    state.register("n1", {}, 0);
    await store.commit(state.image());
    state.heartbeat("n0", {}, 900);
    state.tick(1500); // n1 departs: its 300 ranges go to the pool
    const result = await store.commit(state.image());
    assert.ok(result.txns >= 3, `expected a split, got ${result.txns} txns`);
    const { loaded } = await HaJobStore.open(c, keys, a, meta);
    const pool = (img: typeof loaded.image) =>
      img.pool.map((r) => r.startId).sort((x, y) => x - y);
    assert.deepEqual(pool(loaded.image), pool(state.image()));
    assert.deepEqual(loaded.image.queues, state.image().queues);
    await a.resign();
  },
});

Deno.test({
  name:
    "store: commits pipelined without waiting for each other all land; a reload matches the state",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    const c = new EtcdClient(etcd.endpoints);
    const { options, meta } = job({
      totalSamples: 400,
      blockSize: 10,
      worldSize: 4,
    });
    const events: ElectionEvent[] = [];
    const a = await campaign(c, keys.leader, "http://a", {
      ttlMs: 30_000,
      onEvent: (e) => events.push(e),
    });
    const { store } = await HaJobStore.open(c, keys, a, meta);
    const state = new LeaseState(options);
    const pending: Promise<unknown>[] = [];
    const commit = () => pending.push(store.commit(state.image()));
    for (const n of ["n0", "n1", "n2", "n3"]) {
      state.register(n, {}, 0);
      commit();
    }
    let inflightSeen = 0;
    let now = 1;
    // Grants and completions of all four nodes, each committed at once
    // without waiting for the txns in flight.
    while (!state.jobDrained) {
      for (const n of ["n0", "n1", "n2", "n3"]) {
        const [l] = state.requestLease(n, 1, now++).leases;
        if (l === undefined) continue;
        commit();
        state.reportProgress(n, l.leaseId, l.endId, 10, 0, now++);
        commit();
        inflightSeen = Math.max(inflightSeen, store.inflight);
      }
    }
    pending.push(store.commit(state.image(), true)); // the flush folds
    await Promise.all(pending);
    assert.ok(inflightSeen >= 4, `only ${inflightSeen} txns in flight at once`);
    assert.deepEqual(events.map((e) => e.type), ["leader_elected"]);
    const read = await c.range(keys.prefix, { prefix: true });
    assert.equal(
      read.kvs.filter((kv) => kv.key.includes("/ranges/")).length,
      0,
      "every done range folded into the summary",
    );
    const { loaded } = await HaJobStore.open(c, keys, a, meta);
    assert.deepEqual(loaded.image.completed, [{ startId: 0, endId: 400 }]);
    assert.deepEqual(
      loaded.image.nodes.map((n) => n.done?.length),
      state.image().nodes.map((n) => n.done?.length),
    );
    await a.resign();
  },
});
