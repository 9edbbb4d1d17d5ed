import assert from "node:assert/strict";
import {
  AUTOTUNE_TUNING,
  AutotuneController,
  type AutotuneSignals,
  type AutotuneState,
  autotuneStep,
  initialAutotuneState,
} from "../../lib/autotune/controller.ts";
import type { AutotuneKnobs } from "../../lib/autotune/knobs.ts";

const calm: AutotuneSignals = {
  waitRatio: 0,
  rssBytes: 500,
  rssCapBytes: 1000,
  inflightBytes: 100,
  inflightCapBytes: 1000,
};
const starving: AutotuneSignals = { ...calm, waitRatio: 0.5 };
const mid: AutotuneKnobs = { prefetchBatches: 4, maxQueueBatches: 64, want: 2 };
const near = (a: number, b: number) =>
  assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

/** A state whose wait EWMA already says "starving" and whose PID is calm. */
function warm(overrides: Partial<AutotuneState> = {}): AutotuneState {
  return {
    ...initialAutotuneState(),
    ticks: 5,
    waitEwma: 0.5,
    rssEwma: 0.5,
    pid: { p: 0, i: 0, d: 0, prevError: -0.4 },
    ...overrides,
  };
}

Deno.test("hard cut on RSS ratio >= 0.97: x0.5, x0.7, x0.5 floored, cooldown 2", () => {
  const step = autotuneStep({ ...calm, rssBytes: 970 }, {
    profile: "balanced",
    knobs: { prefetchBatches: 7, maxQueueBatches: 100, want: 3 },
    state: warm({ increases: 1 }),
  });
  assert.equal(step.decision, "hard_cut");
  assert.deepEqual(step.knobs, {
    prefetchBatches: 3,
    maxQueueBatches: 70,
    want: 1,
  });
  assert.equal(step.state.cooldown, 2);
  assert.equal(step.state.increases, 0);
  near(step.rssRatio, 0.97);
});

Deno.test("hard cut on inflight ratio >= 0.98, not below", () => {
  const options = { profile: "balanced" as const, knobs: mid, state: warm() };
  const at = autotuneStep({ ...calm, inflightBytes: 980 }, options);
  assert.equal(at.decision, "hard_cut");
  assert.deepEqual(at.knobs, {
    prefetchBatches: 2,
    maxQueueBatches: 44,
    want: 1,
  });
  const below = autotuneStep({ ...calm, inflightBytes: 979 }, options);
  assert.notEqual(below.decision, "hard_cut");
  assert.notEqual(
    autotuneStep({ ...calm, rssBytes: 969 }, options).decision,
    "hard_cut",
  );
});

Deno.test("soft cut when pressure >= 0.6: prefetch -1, queue -2, want kept", () => {
  // RSS EWMA lags high after a spike while the raw ratio is under 0.97.
  const state = warm({
    rssEwma: 1.4,
    pid: { p: 0, i: 0.5, d: 0, prevError: 0.4 },
    increases: 1,
  });
  const step = autotuneStep({ ...starving, rssBytes: 950 }, {
    profile: "balanced",
    knobs: mid,
    state,
  });
  assert.equal(step.decision, "soft_cut");
  assert.ok(step.state.pressure >= 0.6);
  assert.deepEqual(step.knobs, {
    prefetchBatches: 3,
    maxQueueBatches: 62,
    want: 2,
  });
  assert.equal(step.state.increases, 0);
});

Deno.test("pressure formula: e = (ewma - 0.9) / 0.1; clamp(1.5e + 0.2i + 0.1(e - prevError), 0, 1)", () => {
  const state = warm({
    rssEwma: 0.905,
    pid: { p: 0, i: 0.01, d: 0, prevError: 0.02 },
  });
  const step = autotuneStep({ ...calm, rssBytes: 910 }, {
    profile: "balanced",
    knobs: mid,
    state,
  });
  const rssEwma = 0.905 + 0.2 * (0.91 - 0.905);
  const e = (rssEwma - 0.9) / 0.1;
  near(step.state.rssEwma, rssEwma);
  near(step.state.pid.p, 1.5 * e);
  near(step.state.pid.i, 0.01 + e);
  near(step.state.pid.d, 0.1 * (e - 0.02));
  near(step.state.pid.prevError, e);
  near(step.state.pressure, 1.5 * e + 0.2 * (0.01 + e) + 0.1 * (e - 0.02));
  assert.ok(step.state.pressure > 0 && step.state.pressure < 1, "not clamped");
  // below target: negative error, pressure clamped to 0
  const low = autotuneStep(calm, { profile: "balanced", knobs: mid });
  assert.equal(low.state.pressure, 0);
  assert.ok(low.state.pid.p < 0);
  // far above target: clamped to 1
  const high = autotuneStep({ ...calm, rssBytes: 960 }, {
    profile: "balanced",
    knobs: mid,
    state: warm({ rssEwma: 2 }),
  });
  assert.equal(high.state.pressure, 1);
});

Deno.test("EWMAs start at the first measurement, then alpha 0.2; integral clamped at +-0.5", () => {
  const step = autotuneStep({ ...calm, waitRatio: 1 }, {
    profile: "safe",
    knobs: mid,
  });
  near(step.state.waitEwma, 1);
  near(step.state.rssEwma, calm.rssBytes / calm.rssCapBytes);
  assert.equal(step.state.ticks, 1);
  assert.equal(step.state.pid.i, -0.5, "(0.5 - 0.9) / 0.1 = -4, clamped");
  const second = autotuneStep({ ...calm, waitRatio: 0 }, {
    profile: "safe",
    knobs: mid,
    state: step.state,
  });
  near(second.state.waitEwma, 0.8);
  let state: AutotuneState | undefined;
  for (let i = 0; i < 40; i++) {
    state = autotuneStep({ ...calm, rssBytes: 960 }, {
      profile: "safe",
      knobs: mid,
      state,
    }).state;
  }
  near(state!.pid.i, 0.5);
  assert.equal(AUTOTUNE_TUNING.integralLimit, 0.5);
});

Deno.test("additive increase: +1 prefetch, +2 queue, want +1 every second increase", () => {
  const tuner = new AutotuneController("throughput", {
    prefetchBatches: 4,
    maxQueueBatches: 128,
    want: 2,
  });
  const seen: [string, number, number, number][] = [];
  for (let i = 0; i < 5; i++) {
    const { decision, knobs } = tuner.step({ ...starving, waitRatio: 1 });
    seen.push([
      decision,
      knobs.prefetchBatches,
      knobs.maxQueueBatches,
      knobs.want,
    ]);
  }
  assert.deepEqual(seen, [
    ["increase", 5, 130, 2],
    ["increase", 6, 132, 3],
    ["increase", 7, 134, 3],
    ["increase", 8, 136, 4],
    ["increase", 9, 138, 4],
  ]);
});

Deno.test("increase needs wait EWMA > 0.05, pressure <= 0.3, inflight <= 0.85", () => {
  const options = { profile: "balanced" as const, knobs: mid };
  assert.equal(
    autotuneStep(starving, { ...options, state: warm() }).decision,
    "increase",
  );
  assert.equal(
    autotuneStep({ ...calm }, { ...options, state: warm({ waitEwma: 0.06 }) })
      .decision,
    "hold",
    "EWMA 0.048 after a zero-wait tick",
  );
  assert.equal(
    autotuneStep({ ...starving, inflightBytes: 860 }, {
      ...options,
      state: warm(),
    }).decision,
    "hold",
  );
  assert.equal(
    autotuneStep({ ...starving, inflightBytes: 850 }, {
      ...options,
      state: warm(),
    }).decision,
    "increase",
  );
  // e ≈ 0.3 → pressure ≈ 0.45 + small terms: between the increase and soft-cut lines.
  const pressured = warm({
    rssEwma: 0.93,
    pid: { p: 0, i: 0, d: 0, prevError: 0.3 },
  });
  const step = autotuneStep({ ...starving, rssBytes: 930 }, {
    ...options,
    state: pressured,
  });
  assert.ok(step.state.pressure > 0.3 && step.state.pressure < 0.6);
  assert.equal(step.decision, "hold");
});

Deno.test("cooldown: two ticks after a hard cut never increase", () => {
  const tuner = new AutotuneController("balanced");
  for (let i = 0; i < 3; i++) tuner.step(starving);
  assert.equal(tuner.lastDecision, "increase");
  tuner.step({ ...starving, rssBytes: 990 });
  assert.equal(tuner.lastDecision, "hard_cut");
  assert.equal(tuner.state.cooldown, 2);
  const after = [1, 2, 3].map(() => {
    const { decision, state } = tuner.step({ ...starving, rssBytes: 100 });
    return [decision, state.cooldown];
  });
  assert.deepEqual(after, [["hold", 1], ["hold", 0], ["increase", 0]]);
});

Deno.test("hold keeps knobs but still clamps them to the rails", () => {
  const step = autotuneStep(calm, {
    profile: "safe",
    knobs: { prefetchBatches: 10, maxQueueBatches: 1, want: 9 },
    state: warm({ waitEwma: 0 }),
  });
  assert.equal(step.decision, "hold");
  assert.deepEqual(step.knobs, {
    prefetchBatches: 4,
    maxQueueBatches: 8,
    want: 2,
  });
});

Deno.test("the controller never returns a cap and never mutates its inputs", () => {
  const signals = { ...calm, rssBytes: 990 };
  const knobs = { ...mid };
  const state = warm();
  const frozen = structuredClone({ signals, knobs, state });
  const step = autotuneStep(signals, { profile: "balanced", knobs, state });
  assert.deepEqual(Object.keys(step.knobs).sort(), [
    "maxQueueBatches",
    "prefetchBatches",
    "want",
  ]);
  assert.deepEqual(Object.keys(step).sort(), [
    "decision",
    "inflightRatio",
    "knobs",
    "rssRatio",
    "state",
  ]);
  assert.deepEqual({ signals, knobs, state }, frozen);
});

Deno.test("bad signals and unknown caps", () => {
  const options = { profile: "balanced" as const, knobs: mid };
  assert.throws(
    () => autotuneStep({ ...calm, waitRatio: NaN }, options),
    RangeError,
  );
  assert.throws(
    () => autotuneStep({ ...calm, rssBytes: -1 }, options),
    RangeError,
  );
  assert.throws(
    () => autotuneStep(calm, { ...options, profile: "x" as "safe" }),
    RangeError,
  );
  const uncapped = autotuneStep(
    { ...starving, rssCapBytes: 0, inflightCapBytes: 0 },
    { ...options, state: warm() },
  );
  assert.equal(uncapped.rssRatio, 0);
  assert.equal(uncapped.inflightRatio, 0);
  assert.equal(uncapped.decision, "increase");
  const over = autotuneStep({ ...calm, waitRatio: 3 }, options);
  near(over.state.waitEwma, 1); // the wait ratio is clamped to 1
});
