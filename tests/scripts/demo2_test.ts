import assert from "node:assert/strict";
import { lastLine, runScript, show, SMALL_DEMO2 } from "./_run.ts";

Deno.test("demo2.sh: an agent killed mid-lease, requeue, drain, every id delivered; cleans up", async () => {
  const r = await runScript("demo2.sh", SMALL_DEMO2);
  assert.equal(r.code, 0, show(r));
  assert.match(
    lastLine(r.stdout),
    /^demo2 PASS samples=600 delivered=(\d+) duplicates=\d+ leases_expired=[1-9]\d* ranges_requeued=[1-9]\d* drained=true seconds=[\d.]+$/,
  );
  for (
    const check of [
      /^check killed agent: agent-0 died by SIGKILL/m,
      /^check ids cover 0\.\.599: delivered=\d+ unique=600 missing=0 out_of_range=0 /m,
      /^check drained: job_drained=1 completed_samples=600 \.\.\. ok$/m,
      /^check metrics: leases_expired_total=\d+ ranges_requeued_total=\d+ \(both >= 1\) \.\.\. ok$/m,
    ]
  ) assert.match(r.stdout, check);
  assert.deepEqual(r.leftovers, [], "temp dirs removed");
});

Deno.test("demo2.sh: bad settings fail fast with a reason", async () => {
  const r = await runScript("demo2.sh", { MX8_AGENTS: "1" });
  assert.equal(r.code, 1, show(r));
  assert.equal(
    lastLine(r.stdout),
    "demo2 FAIL: MX8_AGENTS must be >= 2 (one is killed)",
  );
  const bad = await runScript("demo2.sh", { MX8_TOTAL_SAMPLES: "lots" });
  assert.equal(bad.code, 1);
  assert.match(
    lastLine(bad.stdout),
    /^demo2 FAIL: MX8_TOTAL_SAMPLES must be a non-negative integer, got .lots.$/,
  );
});

Deno.test("demo2.sh: a kill that comes after the agent finished is reported, not passed", async () => {
  const r = await runScript("demo2.sh", {
    ...SMALL_DEMO2,
    MX8_TOTAL_SAMPLES: "60",
    MX8_BLOCK_SIZE: "10",
    MX8_SINK_SLEEP_MS: "0",
    MX8_KILL_AFTER_MS: "60000",
  });
  assert.equal(r.code, 1, show(r));
  assert.match(
    lastLine(r.stdout),
    /^demo2 FAIL: agent-0 was not killed mid-job \(exit 0\)/,
  );
  assert.deepEqual(r.leftovers, [], "temp dirs removed on failure too");
});
