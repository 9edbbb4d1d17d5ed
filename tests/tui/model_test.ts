import assert from "node:assert/strict";
import { buildView, type HealthOptions } from "../../lib/tui/model.ts";
import {
  newTracker,
  type Tracker,
  trackError,
  trackSnapshot,
} from "../../lib/tui/tracker.ts";
import { FakeJob } from "./_fake_coordinator.ts";
import { nodeLine } from "../../lib/tui/_nodes_panel.ts";

const OPTS: HealthOptions = { staleHeartbeatMs: 5000, leaseStallMs: 10000 };

/** A job on a manual clock starting at t = 1_000_000. */
function clockJob(): { job: FakeJob; clock: { t: number } } {
  const clock = { t: 1_000_000 };
  return { job: new FakeJob(() => clock.t), clock };
}

function track(t: Tracker, job: FakeJob): Tracker {
  return trackSnapshot(t, job.snapshot(), job.now());
}

Deno.test("model: a running job with fresh heartbeats is healthy", () => {
  const { job } = clockJob();
  const v = buildView(track(newTracker(), job), OPTS, job.now());
  assert.equal(v.health, "healthy");
  assert.deepEqual(v.reasons, []);
  assert.equal(v.staleNodes, 0);
  assert.equal(v.maxHbAgeMs, 40);
  assert.deepEqual(
    v.nodes.map((n) => [n.nodeId, n.rank, n.hbAgeMs, n.status]),
    [
      ["node-a", 0, 40, "ok"],
      ["node-b", 1, 40, "ok"],
      ["node-c", 2, 40, "ok"],
    ],
  );
  assert.equal(v.activeLeases, 2);
  // 1000 in completed ranges + 200 + 100 below the live cursors.
  assert.equal(v.completedSamples, 1300);
  assert.equal(v.nodes[0].inflightCapBytes, 256 * 1048576);
  assert.equal(v.nodes[0].want, 2);
  assert.equal(v.nodes[0].rssPressure, false);
});

Deno.test("model: hb_age_ms uses the coordinator clock only", () => {
  const { job, clock } = clockJob();
  job.stop("node-b");
  clock.t += 5000;
  // The local clock passed to buildView is far away: it must not matter.
  const v = buildView(track(newTracker(), job), OPTS, 42);
  const b = v.nodes.find((n) => n.nodeId === "node-b")!;
  assert.equal(b.hbAgeMs, 5000);
  assert.equal(b.status, "ok", "exactly the threshold is not stale");
  assert.equal(v.health, "healthy");
});

Deno.test("model: a node past --stale-heartbeat-ms is stale and the job degraded", () => {
  const { job, clock } = clockJob();
  job.stop("node-b");
  clock.t += 5001;
  const v = buildView(track(newTracker(), job), OPTS, 0);
  assert.equal(v.health, "degraded");
  assert.equal(v.staleNodes, 1);
  assert.equal(v.maxHbAgeMs, 5001);
  assert.equal(v.nodes[1].status, "stale");
  assert.match(v.reasons[0], /node-b stale: hb_age_ms 5001 > 5000/);
});

Deno.test("model: a departed node counts as stale", () => {
  const { job } = clockJob();
  job.nodes.get("node-c")!.departed = true;
  const v = buildView(track(newTracker(), job), OPTS, 0);
  assert.equal(v.health, "degraded");
  assert.equal(v.nodes[2].status, "departed");
  assert.equal(v.staleNodes, 1);
  assert.match(v.reasons[0], /node-c departed/);
});

Deno.test("model: RSS at 90% of its cap degrades, 89% does not", () => {
  const { job } = clockJob();
  const cap = 1024 * 1048576;
  job.nodes.get("node-a")!.rss = Math.floor(cap * 0.89);
  let v = buildView(track(newTracker(), job), OPTS, 0);
  assert.equal(v.health, "healthy");
  job.nodes.get("node-a")!.rss = Math.ceil(cap * 0.9);
  v = buildView(track(newTracker(), job), OPTS, 0);
  assert.equal(v.health, "degraded");
  assert.equal(v.nodes[0].rssPressure, true);
  assert.match(v.reasons[0], /node-a rss 90% of max_process_rss_bytes/);
  // The ratio is configurable.
  v = buildView(track(newTracker(), job), { ...OPTS, rssWarnRatio: 0.95 }, 0);
  assert.equal(v.health, "healthy");
});

Deno.test("model: warming before the barrier, drained after", () => {
  const { job } = clockJob();
  job.ready = false;
  job.leases.clear();
  let v = buildView(track(newTracker(), job), OPTS, 0);
  assert.equal(v.health, "warming");
  assert.match(v.reasons[0], /3\/3 nodes registered/);
  job.ready = true;
  job.drained = true;
  job.completed = 5000;
  v = buildView(track(newTracker(), job), OPTS, 0);
  assert.equal(v.health, "drained");
  assert.equal(v.etaMs, 0);
});

Deno.test("model: after a drain, agents going silent does not degrade the job", () => {
  const { job, clock } = clockJob();
  job.leases.clear();
  job.drained = true;
  job.completed = 5000;
  for (const id of job.nodes.keys()) job.stop(id);
  clock.t += 60_000;
  const v = buildView(track(newTracker(), job), OPTS, 0);
  assert.equal(v.health, "drained");
  assert.equal(v.staleNodes, 3, "nodes are still shown stale");
});

Deno.test("model: active leases without progress for --lease-stall-ms is stalled", () => {
  const { job, clock } = clockJob();
  let t = track(newTracker(), job);
  clock.t += 9_999;
  t = track(t, job);
  assert.equal(buildView(t, OPTS, 0).health, "healthy");
  assert.equal(buildView(t, OPTS, 0).noProgressMs, 9_999);
  clock.t += 1;
  t = track(t, job);
  let v = buildView(t, OPTS, 0);
  assert.equal(v.health, "stalled");
  assert.match(v.reasons[0], /no progress for 10000 ms with 2 active lease/);
  assert.ok(v.leases.every((l) => l.stuck));

  // Stalled outranks degraded.
  job.stop("node-a");
  clock.t += 6000;
  t = track(t, job);
  assert.equal(buildView(t, OPTS, 0).health, "stalled");

  // A cursor moving clears the stall (node-a is still stale: degraded).
  job.leases.get("lease-2")![3] += 10;
  clock.t += 1000;
  t = track(t, job);
  v = buildView(t, OPTS, 0);
  assert.equal(v.health, "degraded");
  assert.equal(v.noProgressMs, 0);
  assert.deepEqual(v.leases.map((l) => [l.leaseId, l.stuck]), [
    ["lease-1", true],
    ["lease-2", false],
  ]);
});

Deno.test("model: no active leases is never a stall", () => {
  const { job, clock } = clockJob();
  job.leases.clear();
  let t = track(newTracker(), job);
  clock.t += 60_000;
  t = track(t, job);
  const v = buildView(t, OPTS, 0);
  assert.equal(v.health, "healthy");
  assert.equal(v.noProgressMs, 0);
});

Deno.test("model: samples/s and ETA over the rate window", () => {
  const { job, clock } = clockJob();
  let t = track(newTracker(), job);
  for (let i = 0; i < 5; i++) {
    clock.t += 1000;
    job.leases.get("lease-1")![3] += 100;
    t = track(t, job);
  }
  const v = buildView(t, OPTS, 0);
  assert.equal(v.samplesPerSec, 100);
  assert.equal(v.completedSamples, 1800);
  assert.equal(v.etaMs, (5000 - 1800) * 10);
  // Old points leave the window (10 s): only the anchor before it stays.
  for (let i = 0; i < 20; i++) {
    clock.t += 1000;
    t = track(t, job);
  }
  assert.ok(t.history.length <= 12, `history ${t.history.length}`);
  assert.equal(buildView(t, OPTS, 0).samplesPerSec, 0);
  assert.equal(buildView(t, OPTS, 0).etaMs, undefined);
});

Deno.test("model: a coordinator restart (clock going back) resets progress history", () => {
  const { job, clock } = clockJob();
  let t = track(newTracker(), job);
  clock.t += 20_000;
  t = track(t, job);
  assert.equal(buildView(t, OPTS, 0).health, "stalled");
  clock.t -= 50_000;
  t = track(t, job);
  const v = buildView(t, OPTS, 0);
  assert.equal(v.health, "healthy");
  assert.equal(t.history.length, 1);
});

Deno.test("model: errors keep the last snapshot and say the coordinator is unreachable", () => {
  const { job } = clockJob();
  let t = track(newTracker(), job);
  t = trackSnapshot(t, job.snapshot(), 1000);
  t = trackError(t, "[unavailable] connect ECONNREFUSED");
  t = trackError(t, "[unavailable] connect ECONNREFUSED");
  const v = buildView(t, OPTS, 4000);
  assert.equal(v.connected, false);
  assert.equal(v.consecutiveErrors, 2);
  assert.equal(v.sinceOkMs, 3000);
  assert.equal(v.lastError, "[unavailable] connect ECONNREFUSED");
  assert.equal(v.health, "healthy", "health still describes the last snapshot");
  const none = buildView(trackError(newTracker(), "boom"), OPTS, 0);
  assert.equal(none.health, "unknown");
  assert.equal(none.hasSnapshot, false);
});

Deno.test("tracker: lease/runtime panels are remembered across polls", () => {
  const { job } = clockJob();
  job.leases.clear();
  job.completed = 0;
  for (const n of job.nodes.values()) n.stats = false;
  let t = track(newTracker(), job);
  assert.equal(t.sawLease, false);
  assert.equal(t.sawRuntime, false);
  job.nodes.get("node-a")!.stats = true;
  job.leases.set("lease-9", ["node-a", 0, 10, 0]);
  t = track(t, job);
  job.leases.clear();
  job.nodes.get("node-a")!.stats = false;
  t = track(t, job);
  assert.equal(t.sawLease, true);
  assert.equal(t.sawRuntime, true);
  job.leases.clear();
  const drained = track(
    newTracker(),
    Object.assign(new FakeJob(), {
      drained: true,
      completed: 0,
      leases: new Map(),
    }),
  );
  assert.equal(drained.sawLease, true);
});

Deno.test("model: cursor moves count as progress even when completed_samples does not move", () => {
  const { job, clock } = clockJob();
  const snap = () => job.snapshot({ completedSamples: 1000n });
  let t = trackSnapshot(newTracker(), snap(), 0);
  for (let i = 0; i < 3; i++) {
    clock.t += 6000;
    job.leases.get("lease-1")![3] += 1;
    t = trackSnapshot(t, snap(), 0);
    assert.equal(buildView(t, OPTS, 0).health, "healthy");
  }
  // A new lease at its start is not progress; only time passes.
  job.leases.set("lease-3", ["node-c", 4000, 5000, 4000]);
  clock.t += 6000;
  t = trackSnapshot(t, snap(), 0);
  assert.equal(buildView(t, OPTS, 0).noProgressMs, 6000);
  clock.t += 4000;
  t = trackSnapshot(t, snap(), 0);
  assert.equal(buildView(t, OPTS, 0).health, "stalled");
});

Deno.test("model: a node running a mix shows each source's target vs actual share", () => {
  const { job } = clockJob();
  job.nodes.get("node-a")!.mix = [
    { name: "web", targetShare: 0.7, actualShare: 0.6875, dropped: false },
    { name: "books", targetShare: 0.3, actualShare: 0.3125, dropped: false },
    { name: "old", targetShare: 0, actualShare: 0, dropped: true },
  ];
  const v = buildView(track(newTracker(), job), OPTS, job.now());
  assert.deepEqual(v.nodes[0].mix.map((m) => [m.name, m.target, m.dropped]), [
    ["web", 0.7, false],
    ["books", 0.3, false],
    ["old", 0, true],
  ]);
  assert.deepEqual(v.nodes[1].mix, []);
  const row = nodeLine(v.nodes[0], 10).toString(400, false);
  assert.match(row, /web 0\.70\/0\.69 books 0\.30\/0\.31 old out/);
  assert.doesNotMatch(
    nodeLine(v.nodes[1], 10).toString(400, false),
    /web|books/,
  );
});
