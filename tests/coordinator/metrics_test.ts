import assert from "node:assert/strict";
import { METRICS, renderMetrics } from "../../lib/coordinator/metrics.ts";

const COUNTERS = {
  register_total: 3,
  heartbeat_total: 40,
  request_lease_total: 7,
  leases_granted_total: 5,
  leases_expired_total: 1,
  ranges_requeued_total: 2,
  progress_total: 9,
  active_leases: 1,
  registered_nodes: 2,
};

Deno.test("renderMetrics: every spec counter plus job gauges, with HELP and TYPE", () => {
  const text = renderMetrics({
    counters: COUNTERS,
    jobReady: true,
    jobDrained: true,
    completedSamples: 10,
    totalSamples: 10,
    worldSize: 2,
  });
  for (const [name, value] of Object.entries(COUNTERS)) {
    assert.match(text, new RegExp(`^${name} ${value}$`, "m"));
    assert.match(text, new RegExp(`^# TYPE ${name} (counter|gauge)$`, "m"));
  }
  assert.match(text, /^job_drained 1$/m);
  assert.match(text, /^job_ready 1$/m);
  assert.match(text, /^completed_samples 10$/m);
  assert.match(text, /^total_samples 10$/m);
  assert.match(text, /^world_size 2$/m);
  assert.ok(text.endsWith("\n"));
  const samples = text.split("\n").filter((l) => l && !l.startsWith("#"));
  assert.equal(samples.length, METRICS.length);
  for (const m of METRICS) {
    assert.equal(m.name.endsWith("_total"), m.type === "counter", m.name);
  }
});
