import assert from "node:assert/strict";
import { lastLine, runScript, show, SMALL_DEMO2 } from "./_run.ts";

Deno.test("burnin.sh: one run of demo2 with a varied seed and kill timing passes", async () => {
  const r = await runScript("burnin.sh", {
    ...SMALL_DEMO2,
    MX8_KILL_AFTER_MS: "500", // run 1 kills at half of it: 250 ms
    MX8_BURNIN_RUNS: "1",
    MX8_BURNIN_SEED: "41",
  });
  assert.equal(r.code, 0, show(r));
  assert.match(
    r.stdout,
    /^burnin run 1\/1: seed=42 kill_after_ms=250 kill_agent=0$/m,
  );
  assert.match(r.stdout, /^ {2}demo2 PASS samples=600 /m);
  assert.match(lastLine(r.stdout), /^burnin PASS runs=1 seconds=[\d.]+$/);
  assert.deepEqual(r.leftovers, []);
});

Deno.test("burnin.sh: a failing run fails the burn-in and names it", async () => {
  const r = await runScript("burnin.sh", {
    MX8_BURNIN_RUNS: "1",
    MX8_TOTAL_SAMPLES: "0",
  });
  assert.equal(r.code, 1, show(r));
  assert.match(r.stdout, /demo2 FAIL: MX8_TOTAL_SAMPLES must be >= 1/);
  assert.match(lastLine(r.stdout), /^burnin FAIL runs=1 failed=1 \(runs 1\) /);
});
