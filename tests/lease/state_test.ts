import assert from "node:assert/strict";
import {
  cutBlocks,
  dealBlocks,
  shuffleBlocks,
} from "../../lib/lease/blocks.ts";
import { assertLeaseError, makeState } from "./_helpers.ts";

const span = (l: { startId: number; endId: number }) => [l.startId, l.endId];

Deno.test("register: no lease before the barrier, then ready", () => {
  const state = makeState({ worldSize: 3 });
  const first = state.register("n2", {}, 0);
  assert.deepEqual(first, {
    assignedRank: -1,
    worldSize: 3,
    registeredNodes: 1,
    jobReady: false,
  });
  assertLeaseError(
    () => state.requestLease("n2", 1, 1),
    "failed_precondition",
    /barrier not met: 1 of 3/,
  );
  assert.equal(state.register("n0", {}, 2).jobReady, false);
  const last = state.register("n1", {}, 3);
  assert.equal(last.jobReady, true);
  assert.equal(last.assignedRank, 1);
  assert.equal(state.requestLease("n2", 1, 4).leases.length, 1);
  const events = state.tick(5);
  assert.deepEqual(events[0], {
    type: "job_ready",
    worldSize: 3,
    members: ["n0", "n1", "n2"],
  });
});

Deno.test("register: ranks are indices of node ids in sorted order", () => {
  const state = makeState({ worldSize: 4 });
  for (const id of ["node-b", "node-B", "node-a", "10"]) {
    state.register(id, {}, 0);
  }
  const ranks = ["10", "node-B", "node-a", "node-b"].map((id) =>
    state.register(id, {}, 1).assignedRank
  );
  assert.deepEqual(ranks, [0, 1, 2, 3]);
  assert.deepEqual(
    state.snapshot(1).nodes.map((n) => [n.nodeId, n.rank]),
    [["10", 0], ["node-B", 1], ["node-a", 2], ["node-b", 3]],
  );
});

Deno.test("register: idempotent, empty id, frozen membership", () => {
  const state = makeState();
  assertLeaseError(() => state.register("", {}, 0), "invalid_argument");
  state.register("a", { cores: 1 }, 0);
  state.register("a", { cores: 2 }, 1);
  assert.equal(state.snapshot(1).registeredNodes, 1, "same node twice");
  state.register("b", {}, 2);
  const again = state.register("a", { cores: 3 }, 3);
  assert.deepEqual(again, {
    assignedRank: 0,
    worldSize: 2,
    registeredNodes: 2,
    jobReady: true,
  });
  assert.deepEqual(state.snapshot(3).nodes[0].caps, { cores: 3 });
  assertLeaseError(
    () => state.register("c", {}, 4),
    "failed_precondition",
    /frozen/,
  );
  assert.equal(state.counters.register_total, 4);
});

Deno.test("register: minWorldSize freezes as soon as it is reached", () => {
  const state = makeState({ worldSize: 4, minWorldSize: 2 });
  assert.equal(state.register("b", {}, 0).jobReady, false);
  const r = state.register("a", {}, 0);
  assert.equal(r.jobReady, true);
  assert.equal(r.worldSize, 2);
  assertLeaseError(() => state.register("c", {}, 1), "failed_precondition");
  assert.throws(() => makeState({ worldSize: 2, minWorldSize: 3 }), RangeError);
});

Deno.test("tick: a node silent before the barrier is forgotten", () => {
  const state = makeState();
  state.register("a", {}, 0);
  assert.deepEqual(state.tick(999), []);
  const events = state.tick(1000);
  assert.equal(events[0].type, "node_departed");
  assert.equal(state.register("b", {}, 1000).jobReady, false);
  assert.equal(state.register("a", {}, 1001).jobReady, true);
});

Deno.test("requestLease: round-robin dealing to ranks, in order", () => {
  const state = makeState({ totalSamples: 55, worldSize: 2 });
  state.register("b", {}, 0);
  state.register("a", {}, 0);
  const a = state.requestLease("a", 10, 1).leases.map(span);
  const b = state.requestLease("b", 10, 1).leases.map(span);
  assert.deepEqual(a, [[0, 10], [20, 30], [40, 50]]);
  assert.deepEqual(b, [[10, 20], [30, 40], [50, 55]]);
  assert.equal(state.counters.leases_granted_total, 6);
  assert.equal(state.counters.active_leases, 6);
});

Deno.test("requestLease: shuffled deal follows seed and epoch", () => {
  const deal = (epoch: number) => {
    const state = makeState({ totalSamples: 200, shuffle: true, epoch });
    state.register("a", {}, 0);
    state.register("b", {}, 0);
    return state.requestLease("a", 100, 0).leases.map(span);
  };
  const expected = dealBlocks(shuffleBlocks(cutBlocks(200, 10), 7n, 0), 2)[0]
    .map(span);
  assert.deepEqual(deal(0), expected);
  assert.deepEqual(deal(0), deal(0));
  assert.notDeepEqual(deal(0), deal(1));
});

Deno.test("requestLease: want caps live leases; fields of a lease", () => {
  const state = makeState({ worldSize: 1, leaseIdPrefix: "run1-" });
  state.register("a", {}, 0);
  assertLeaseError(() => state.requestLease("a", 0, 0), "invalid_argument");
  assertLeaseError(() => state.requestLease("a", 1.5, 0), "invalid_argument");
  assertLeaseError(() => state.requestLease("", 1, 0), "invalid_argument");
  assertLeaseError(() => state.requestLease("zz", 1, 0), "failed_precondition");
  const first = state.requestLease("a", 2, 100);
  assert.equal(first.leases.length, 2);
  assert.equal(first.waitMs, 0);
  assert.deepEqual(first.leases[0], {
    leaseId: "run1-1",
    nodeId: "a",
    startId: 0,
    endId: 10,
    epoch: 0,
    seed: 7n,
    cursor: 0,
    expiresUnixTimeMs: 1100,
  });
  const full = state.requestLease("a", 2, 101);
  assert.deepEqual(full.leases, []);
  assert.ok(full.waitMs > 0);
  assert.equal(full.jobDrained, false);
  assert.equal(state.requestLease("a", 3, 102).leases.length, 1);
  const ids = new Set(state.liveLeases().map((l) => l.leaseId));
  assert.equal(ids.size, 3);
});

Deno.test("requestLease: requeue pool first, front first, then own queue", () => {
  const state = makeState({ totalSamples: 60 });
  state.register("a", {}, 0);
  state.register("b", {}, 0);
  const [b1] = state.requestLease("b", 1, 0).leases; // [10,20)
  const [b2] = state.requestLease("b", 2, 100).leases; // [30,40)
  state.reportProgress("b", b1.leaseId, 13, 3, 30, 200);
  state.reportProgress("b", b2.leaseId, 35, 5, 50, 300);
  state.heartbeat("a", {}, 1150);
  state.heartbeat("b", {}, 1150);
  const events = state.tick(1250); // b1 expired (renewed at 200), b2 not yet
  assert.deepEqual(
    events.filter((e) => e.type === "range_requeued").map(span),
    [[13, 20]],
  );
  state.heartbeat("a", {}, 1300);
  state.heartbeat("b", {}, 1300);
  state.tick(1350); // b2 expires: its remainder goes in FRONT of [13,20)
  const grant = state.requestLease("a", 3, 1400).leases.map(span);
  assert.deepEqual(grant, [[35, 40], [13, 20], [0, 10]]);
  assert.equal(state.counters.leases_expired_total, 2);
  assert.equal(state.counters.ranges_requeued_total, 2);
});

Deno.test("reportProgress: cursor rules and error codes", () => {
  const state = makeState();
  state.register("a", {}, 0);
  state.register("b", {}, 0);
  const [lease] = state.requestLease("a", 1, 0).leases; // [0,10)
  const [other] = state.requestLease("b", 1, 0).leases; // [10,20)
  const report = (node: string, id: string, cursor: number) =>
    state.reportProgress(node, id, cursor, 1, 1, 10);
  assertLeaseError(() => report("a", "nope", 1), "not_found");
  assertLeaseError(() => report("a", "", 1), "invalid_argument");
  assertLeaseError(() => report("", lease.leaseId, 1), "invalid_argument");
  assertLeaseError(() => report("c", lease.leaseId, 1), "failed_precondition");
  assertLeaseError(
    () => report("b", lease.leaseId, 1),
    "failed_precondition",
    /not yours/,
  );
  assertLeaseError(() => report("b", other.leaseId, 9), "invalid_argument");
  assertLeaseError(() => report("a", lease.leaseId, 11), "invalid_argument");
  assertLeaseError(() => report("a", lease.leaseId, -1), "invalid_argument");
  assertLeaseError(
    () => state.reportProgress("a", lease.leaseId, 1, -1, 0, 0),
    "invalid_argument",
  );
  assert.deepEqual(report("a", lease.leaseId, 0), {
    leaseCompleted: false,
    jobDrained: false,
  });
  report("a", lease.leaseId, 6);
  report("a", lease.leaseId, 6); // equal is fine
  assertLeaseError(
    () => report("a", lease.leaseId, 5),
    "failed_precondition",
    /backwards/,
  );
  assert.equal(state.counters.progress_total, 3);
  assert.deepEqual(state.completedRanges(), [{ startId: 0, endId: 6 }]);
});

Deno.test("reportProgress: renews expiry; end completes the lease", () => {
  const state = makeState({ worldSize: 1 });
  state.register("a", {}, 0);
  const [lease] = state.requestLease("a", 1, 0).leases;
  state.reportProgress("a", lease.leaseId, 5, 5, 50, 900);
  assert.equal(state.liveLeases()[0].expiresUnixTimeMs, 1900);
  assert.equal(state.liveLeases()[0].cursor, 5);
  state.heartbeat("a", {}, 1500);
  assert.ok(
    state.tick(1500).every((e) => e.type !== "lease_expired"),
    "not expired: renewed at 900",
  );
  const done = state.reportProgress("a", lease.leaseId, 10, 5, 50, 1600);
  assert.equal(done.leaseCompleted, true);
  assert.equal(state.liveLeases().length, 0);
  // a retried final report is a no-op; anything else on it is not_found
  assert.equal(
    state.reportProgress("a", lease.leaseId, 10, 5, 50, 1601).leaseCompleted,
    true,
  );
  assertLeaseError(
    () => state.reportProgress("a", lease.leaseId, 9, 0, 0, 1602),
    "not_found",
    /completed/,
  );
  const events = state.tick(1700);
  assert.ok(events.some((e) => e.type === "lease_completed"));
  const node = state.snapshot(1700).nodes[0];
  assert.equal(node.deliveredSamples, 10);
  assert.equal(node.deliveredBytes, 100);
});

Deno.test("tick: expiry requeues the remainder and forbids late progress", () => {
  const state = makeState({ worldSize: 1, totalSamples: 20 });
  state.register("a", {}, 0);
  const [lease] = state.requestLease("a", 1, 0).leases;
  state.reportProgress("a", lease.leaseId, 4, 4, 0, 100);
  state.heartbeat("a", {}, 1000);
  assert.equal(state.tick(1099)[0].type, "job_ready");
  const events = state.tick(1100);
  assert.deepEqual(events, [
    {
      type: "lease_expired",
      leaseId: lease.leaseId,
      nodeId: "a",
      startId: 0,
      endId: 10,
      cursor: 4,
    },
    {
      type: "range_requeued",
      startId: 4,
      endId: 10,
      leaseId: lease.leaseId,
      nodeId: "a",
    },
  ]);
  assertLeaseError(
    () => state.reportProgress("a", lease.leaseId, 6, 0, 0, 1101),
    "not_found",
    /expired/,
  );
  assert.equal(state.snapshot(1101).requeuedRanges, 1);
  const [again] = state.requestLease("a", 1, 1102).leases;
  assert.deepEqual(span(again), [4, 10]);
});

Deno.test("tick: a silent node departs; its unissued queue goes to the pool", () => {
  const state = makeState({ totalSamples: 60, worldSize: 3 });
  for (const id of ["a", "b", "c"]) state.register(id, {}, 0);
  const [c1] = state.requestLease("c", 1, 0).leases; // [20,30); c keeps [50,60)
  state.reportProgress("c", c1.leaseId, 25, 5, 0, 10);
  state.heartbeat("a", {}, 900);
  state.heartbeat("b", {}, 900);
  assert.equal(state.tick(1009)[0].type, "job_ready");
  const events = state.tick(1010);
  assert.deepEqual(events.map((e) => e.type), [
    "lease_expired",
    "range_requeued",
    "node_departed",
  ]);
  assert.deepEqual(events[2], {
    type: "node_departed",
    nodeId: "c",
    rank: 2,
    requeuedRanges: 1,
    requeuedSamples: 10,
  });
  const snap = state.snapshot(1010);
  assert.equal(snap.registeredNodes, 2);
  assert.equal(snap.nodes[2].departed, true);
  assert.equal(snap.requeuedRanges, 2);
  assertLeaseError(() => state.heartbeat("c", {}, 1011), "failed_precondition");
  assertLeaseError(
    () => state.requestLease("c", 1, 1011),
    "failed_precondition",
    /departed/,
  );
  const a = state.requestLease("a", 3, 1011).leases.map(span);
  assert.deepEqual(a, [[25, 30], [50, 60], [0, 10]]);
  // c re-registers: same rank, nothing of its own left, pool empty
  assert.equal(state.register("c", {}, 1012).assignedRank, 2);
  assert.deepEqual(state.tick(1012), [
    { type: "node_rejoined", nodeId: "c", rank: 2 },
  ]);
  assert.equal(state.requestLease("c", 1, 1013).leases.length, 0);
  assert.equal(state.counters.ranges_requeued_total, 2);
});

Deno.test("drain: every range completed; job_drained reported once", () => {
  const state = makeState({ totalSamples: 25 });
  state.register("a", {}, 0);
  state.register("b", {}, 0);
  for (const id of ["a", "b"]) {
    for (const lease of state.requestLease(id, 5, 1).leases) {
      const r = state.reportProgress(id, lease.leaseId, lease.endId, 0, 0, 2);
      assert.equal(r.leaseCompleted, true);
    }
  }
  assert.equal(state.jobDrained, true);
  const grant = state.requestLease("a", 1, 3);
  assert.deepEqual(grant, { leases: [], waitMs: 0, jobDrained: true });
  assert.equal(
    state.tick(4).filter((e) => e.type === "job_drained").length,
    1,
  );
  assert.equal(state.tick(5).length, 0);
  const snap = state.snapshot(5);
  assert.equal(snap.jobDrained, true);
  assert.equal(snap.completedSamples, 25);
  assert.equal(snap.availableRanges, 0);
});

Deno.test("snapshot: everything GetJobSnapshot needs, detached", () => {
  const state = makeState({ totalSamples: 40 });
  state.register("a", { cores: 4 }, 0);
  state.register("b", {}, 0);
  state.heartbeat("a", { inflight: 7 }, 5);
  state.requestLease("a", 1, 6);
  const snap = state.snapshot(10);
  assert.equal(snap.jobId, "job");
  assert.equal(snap.manifestHash, "hash");
  assert.equal(snap.worldSize, 2);
  assert.equal(snap.registeredNodes, 2);
  assert.equal(snap.jobReady, true);
  assert.equal(snap.jobDrained, false);
  assert.equal(snap.activeLeases, 1);
  assert.equal(snap.availableRanges, 3);
  assert.equal(snap.totalSamples, 40);
  assert.equal(snap.completedSamples, 0);
  assert.equal(snap.serverTimeUnixMs, 10);
  assert.deepEqual(snap.nodes[0], {
    nodeId: "a",
    rank: 0,
    lastHeartbeatUnixTimeMs: 6,
    caps: { cores: 4 },
    stats: { inflight: 7 },
    departed: false,
    deliveredSamples: 0,
    deliveredBytes: 0,
  });
  assert.equal(snap.liveLeases.length, 1);
  assert.deepEqual(snap.counters, {
    register_total: 2,
    heartbeat_total: 1,
    request_lease_total: 1,
    leases_granted_total: 1,
    leases_expired_total: 0,
    ranges_requeued_total: 0,
    progress_total: 0,
    active_leases: 1,
    registered_nodes: 2,
  });
  snap.liveLeases[0].cursor = 99;
  snap.nodes[0].rank = 5;
  assert.equal(state.liveLeases()[0].cursor, 0);
  assert.equal(state.snapshot(11).nodes[0].rank, 0);
});

Deno.test("constructor rejects bad options", () => {
  assert.throws(() => makeState({ jobId: "" }), RangeError);
  assert.throws(() => makeState({ worldSize: 0 }), RangeError);
  assert.throws(() => makeState({ blockSize: 0 }), RangeError);
  assert.throws(() => makeState({ leaseTtlMs: 0 }), RangeError);
  assert.throws(() => makeState({ totalSamples: -1 }), RangeError);
  const empty = makeState({ totalSamples: 0, worldSize: 1 });
  empty.register("a", {}, 0);
  assert.deepEqual(empty.requestLease("a", 1, 0), {
    leases: [],
    waitMs: 0,
    jobDrained: true,
  });
});
