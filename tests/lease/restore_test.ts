import assert from "node:assert/strict";
import { LeaseState } from "../../lib/lease/state.ts";
import { RECENT_COMPLETIONS } from "../../lib/lease/types.ts";
import { assertLeaseError, makeState } from "./_helpers.ts";

Deno.test("restore: fresh deadlines on the new clock, same leases, ids not reused", () => {
  const a = makeState({ leaseIdPrefix: "r1-" });
  a.register("x", {}, 0);
  a.register("y", {}, 0);
  const [lease] = a.requestLease("x", 1, 10).leases;
  a.reportProgress("x", lease.leaseId, lease.startId + 4, 4, 0, 20);
  const image = a.image();
  // A new leader's clock is unrelated to the old one.
  const b = LeaseState.restore(
    {
      ...a,
      jobId: "job",
      worldSize: 2,
      checkInvariants: true,
      leaseIdPrefix: "r1-",
    },
    image,
    1_000_000,
  );
  const [restored] = b.liveLeases();
  assert.equal(restored.leaseId, lease.leaseId);
  assert.equal(restored.cursor, lease.startId + 4);
  assert.equal(restored.expiresUnixTimeMs, 1_000_000 + 1000);
  assert.deepEqual(b.image(), image);
  // Nothing expires just because the old leader's clock was far behind.
  assert.deepEqual(
    b.tick(1_000_500).filter((e) => e.type === "lease_expired"),
    [],
  );
  // The holder keeps reporting on its old lease id after the failover.
  b.reportProgress("x", lease.leaseId, lease.endId, 6, 0, 1_000_600);
  const [next] = b.requestLease("x", 1, 1_000_700).leases;
  assert.notEqual(next.leaseId, lease.leaseId);
});

Deno.test("restore: an image that loses samples is refused", () => {
  const a = makeState();
  a.register("x", {}, 0);
  a.register("y", {}, 0);
  const image = a.image();
  image.queues[0].shift(); // a range vanishes
  assert.throws(
    () => LeaseState.restore({ ...a, jobId: "job", worldSize: 2 }, image, 0),
    /does not partition the job/,
  );
});

Deno.test("restore: a resent final report is OK per lease (range and epoch), not for a requeued one", () => {
  const a = makeState({ leaseIdPrefix: "r1-", leaseTtlMs: 100 });
  a.register("x", {}, 0);
  a.register("y", {}, 0);
  const [done] = a.requestLease("x", 1, 10).leases;
  a.reportProgress("x", done.leaseId, done.endId, 10, 0, 20);
  // y's lease expires: its range is requeued (a new epoch) and granted to x.
  const [lost] = a.requestLease("y", 1, 20).leases;
  a.heartbeat("x", {}, 100);
  a.heartbeat("y", {}, 100);
  a.tick(125);
  const [again] = a.requestLease("x", 1, 130).leases;
  assert.equal(again.startId, lost.startId);
  a.reportProgress("x", again.leaseId, again.endId, 10, 0, 140);
  const image = a.image();
  assert.deepEqual(image.nodes.find((n) => n.nodeId === "x")?.done, [
    { leaseId: done.leaseId, endId: done.endId },
    { leaseId: again.leaseId, endId: again.endId },
  ]);
  const b = LeaseState.restore(
    { ...a, jobId: "job", worldSize: 2, leaseIdPrefix: "r2-" },
    image,
    5_000,
  );
  // Same lease (range, epoch) and holder: OK, nothing changes.
  const before = b.completedRanges();
  assert.deepEqual(
    b.reportProgress("x", done.leaseId, done.endId, 0, 0, 5_001),
    { leaseCompleted: true, jobDrained: false },
  );
  assert.deepEqual(b.completedRanges(), before);
  // The expired grant of the same range (an older epoch): not found.
  assertLeaseError(
    () => b.reportProgress("y", lost.leaseId, lost.endId, 0, 0, 5_002),
    "not_found",
  );
  // Another node, or a cursor short of the end: not found.
  assertLeaseError(
    () => b.reportProgress("y", done.leaseId, done.endId, 0, 0, 5_003),
    "not_found",
  );
  assertLeaseError(
    () => b.reportProgress("x", done.leaseId, done.endId - 1, 0, 0, 5_004),
    "not_found",
  );
});

Deno.test("restore: a node remembers its last RECENT_COMPLETIONS leases", () => {
  const a = makeState({ totalSamples: 400, worldSize: 1 });
  a.register("x", {}, 0);
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) {
    const [l] = a.requestLease("x", 1, i).leases;
    a.reportProgress("x", l.leaseId, l.endId, 10, 0, i);
    ids.push(l.leaseId);
  }
  const done = a.image().nodes[0].done!;
  assert.equal(done.length, RECENT_COMPLETIONS);
  assert.deepEqual(done.map((d) => d.leaseId), ids.slice(-RECENT_COMPLETIONS));
});

Deno.test("durableVersion moves with what a failover must keep (and answers acknowledging it), not with heartbeats or cursor progress", () => {
  const a = makeState({ leaseTtlMs: 100 });
  const v = () => a.durableVersion;
  let last = v();
  const moved = (what: string, expected: boolean) => {
    assert.equal(v() !== last, expected, what);
    last = v();
  };
  a.register("x", {}, 0);
  moved("register", true);
  a.register("y", {}, 0);
  moved("register and barrier", true);
  a.heartbeat("x", {}, 10);
  moved("heartbeat", false);
  const [l] = a.requestLease("x", 1, 10).leases;
  moved("grant", true);
  assert.equal(a.requestLease("x", 1, 11).leases.length, 0);
  moved("request granting nothing", false);
  a.reportProgress("x", l.leaseId, l.startId + 3, 3, 0, 20);
  moved("cursor progress", false);
  a.reportProgress("x", l.leaseId, l.endId, 7, 0, 30);
  moved("completion", true);
  // A resent final report changes nothing but acknowledges the completion:
  // an HA leader must not answer it before the completion is durable.
  assert.equal(
    a.reportProgress("x", l.leaseId, l.endId, 7, 0, 31).leaseCompleted,
    true,
  );
  moved("resent final report", true);
  a.tick(40);
  moved("quiet tick", false);
  const [m] = a.requestLease("y", 1, 50).leases;
  moved("grant", true);
  a.heartbeat("x", {}, 140);
  a.heartbeat("y", {}, 140);
  a.tick(160);
  moved("expiry", true);
  assert.ok(m);
});
