import assert from "node:assert/strict";
import {
  jitteredPeriodMs,
  MIN_PERIOD_FRACTION,
  randomPhaseMs,
} from "../../lib/distributed/jitter.ts";

Deno.test("randomPhaseMs covers [0, period)", () => {
  assert.equal(randomPhaseMs(800, () => 0), 0);
  assert.equal(randomPhaseMs(800, () => 0.5), 400);
  assert.ok(randomPhaseMs(800, () => 0.9999) < 800);
});

Deno.test("jitteredPeriodMs stays within (0.9 · period, period], never later", () => {
  assert.equal(jitteredPeriodMs(1000, () => 0), 1000);
  assert.equal(jitteredPeriodMs(1000, () => 0.5), 950);
  for (let i = 0; i < 1000; i++) {
    const p = jitteredPeriodMs(1000);
    assert.ok(p > 1000 * MIN_PERIOD_FRACTION && p <= 1000, String(p));
  }
});
