import assert from "node:assert/strict";
import { LeaseError } from "../../lib/lease/errors.ts";
import { testJob } from "./_job.ts";

Deno.test("CoordinatorJob logs each event once, in order", () => {
  const { job, events, advance } = testJob({ worldSize: 2 });
  job.register("b", undefined);
  job.register("b", undefined); // a refresh is not a new registration
  job.register("a", undefined);
  const [la] = job.requestLease("a", 1).leases;
  const [lb] = job.requestLease("b", 1).leases;
  job.reportProgress("b", lb.leaseId, lb.endId, 4, 40);
  job.reportProgress("b", lb.leaseId, lb.endId, 0, 0); // repeated final report
  job.reportProgress("a", la.leaseId, 1, 1, 10);
  job.heartbeat("b", undefined);
  advance(999);
  job.heartbeat("b", undefined);
  advance(1);
  assert.deepEqual(events.map((e) => e.event), [
    "node_registered",
    "node_registered",
    "job_ready",
    "lease_granted",
    "lease_granted",
    "lease_completed",
    "lease_expired",
    "range_requeued",
    "node_departed",
  ]);
  assert.deepEqual(events[2].members, ["a", "b"]);
  assert.deepEqual(
    [events[5].start_id, events[5].end_id, events[5].node_id],
    [4, 8, "b"],
  );
  assert.deepEqual(
    [events[7].start_id, events[7].end_id, events[7].lease_id],
    [1, 4, la.leaseId],
  );
  assert.equal(events[8].node_id, "a");
});

Deno.test("CoordinatorJob: drain is logged once; no lease_overlap ever", () => {
  const { job, events, advance } = testJob({ worldSize: 1, totalSamples: 9 });
  job.register("a", undefined);
  for (let round = 0; round < 5 && !job.jobDrained; round++) {
    const { leases } = job.requestLease("a", 2);
    for (const l of leases) {
      job.reportProgress("a", l.leaseId, l.startId + 1, 1, 1);
      if (round % 2 === 0) job.reportProgress("a", l.leaseId, l.endId, 1, 1);
    }
    advance(1001); // unfinished leases expire; a departs, then rejoins
    if (!job.jobDrained) job.register("a", undefined);
  }
  assert.equal(job.jobDrained, true);
  advance(10);
  advance(10);
  assert.equal(events.filter((e) => e.event === "job_drained").length, 1);
  assert.equal(events.filter((e) => e.event === "lease_overlap").length, 0);
  assert.equal(
    events.find((e) => e.event === "job_drained")?.completed_samples,
    9,
  );
});

Deno.test("CoordinatorJob: a node silent before the barrier is forgotten", () => {
  const { job, events, advance } = testJob({ worldSize: 2 });
  job.register("a", undefined);
  advance(1000);
  assert.equal(events.at(-1)?.event, "node_departed");
  job.register("a", undefined);
  assert.equal(
    events.filter((e) => e.event === "node_registered").length,
    2,
    "a new registration after being forgotten",
  );
});

Deno.test("CoordinatorJob: refused calls throw LeaseError", () => {
  const { job } = testJob();
  assert.throws(() => job.requestLease("ghost", 1), LeaseError);
  assert.throws(() => job.register("", undefined), {
    code: "invalid_argument",
  });
  assert.throws(
    () => testJob({ resumeFrom: "junk" }),
    { name: "LeaseError", code: "invalid_argument" },
  );
});

Deno.test("CoordinatorJob: tick period is at most 1 s and start/stop are idempotent", async () => {
  assert.equal(testJob({ leaseTtlMs: 10_000 }).job.tickMs, 1000);
  assert.equal(testJob({ leaseTtlMs: 400 }).job.tickMs, 100);
  let ticks = 0;
  const { job } = testJob({ leaseTtlMs: 80 });
  const tick = job.tick.bind(job);
  job.tick = () => {
    ticks++;
    tick();
  };
  job.start();
  job.start();
  await new Promise((r) => setTimeout(r, 100));
  job.stop();
  job.stop();
  const seen = ticks;
  assert.ok(seen >= 2, `${seen} ticks`);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(ticks, seen);
});
