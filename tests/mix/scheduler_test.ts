import assert from "node:assert/strict";
import { Prng } from "../../lib/lease/prng.ts";
import { MixScheduler, type SchedulerConfig } from "../../lib/mix/scheduler.ts";
import type { WeightPoint } from "../../lib/mix/weight_curve.ts";

function normalized(ws: number[]): number[] {
  const s = ws.reduce((a, b) => a + b, 0);
  return ws.map((w) => w / s);
}

/** Independent closed-form target: ∫₀ⁿ of the piecewise-linear weight. */
function expectedTarget(points: WeightPoint[], i: number, n: number): number {
  let acc = 0;
  for (let p = 0; p < points.length; p++) {
    const a = points[p].at;
    if (n <= a) break;
    const next = points[p + 1];
    const b = next ? Math.min(n, next.at) : n;
    const wa = points[p].weights[i];
    const wb = next
      ? wa + (next.weights[i] - wa) * (b - a) / (next.at - a)
      : wa;
    acc += (b - a) * (wa + wb) / 2;
  }
  return acc;
}

function randomConfig(rng: Prng, scheduled: boolean): SchedulerConfig {
  const k = 2 + rng.nextBelow(9);
  const w = () =>
    normalized(Array.from({ length: k }, () => 1 + rng.nextBelow(1000)));
  const points: WeightPoint[] = [{ at: 0, weights: w() }];
  if (scheduled) {
    let at = 0;
    for (let p = 0; p < 1 + rng.nextBelow(3); p++) {
      at += 1 + rng.nextBelow(400);
      points.push({ at, weights: w() });
    }
  }
  return { points, seed: BigInt(rng.nextU32()), epoch: rng.nextBelow(5) };
}

function run(config: SchedulerConfig, units: number): number[] {
  const s = new MixScheduler(config);
  return Array.from({ length: units }, () => s.next());
}

/** Max |count_i − target_i(n)| over every prefix of `picks`. */
function maxDeviation(points: WeightPoint[], picks: number[]): number {
  const k = points[0].weights.length;
  const c = new Array(k).fill(0);
  let worst = 0;
  picks.forEach((p, u) => {
    c[p]++;
    for (let i = 0; i < k; i++) {
      worst = Math.max(
        worst,
        Math.abs(c[i] - expectedTarget(points, i, u + 1)),
      );
    }
  });
  return worst;
}

Deno.test("scheduler: every prefix within ±1 of the weights' integral (200 random static mixes)", () => {
  const rng = new Prng(11n, 0);
  for (let t = 0; t < 200; t++) {
    const cfg = randomConfig(rng, false);
    const dev = maxDeviation(cfg.points, run(cfg, 1500));
    assert.ok(
      dev <= 1 + 1e-9,
      `case ${t}: deviation ${dev} ${JSON.stringify(cfg.points)}`,
    );
  }
});

Deno.test("scheduler: every prefix within ±1 under piecewise-linear schedules (200 random)", () => {
  const rng = new Prng(12n, 0);
  for (let t = 0; t < 200; t++) {
    const cfg = randomConfig(rng, true);
    const dev = maxDeviation(cfg.points, run(cfg, 1500));
    assert.ok(
      dev <= 1 + 1e-9,
      `case ${t}: deviation ${dev} ${JSON.stringify(cfg.points)}`,
    );
  }
});

Deno.test("scheduler: same config → same order; another seed or epoch → another, equally exact order", () => {
  const points = [{ at: 0, weights: [0.7, 0.3] }];
  const a = run({ points, seed: 7n, epoch: 0 }, 2000);
  assert.deepEqual(run({ points, seed: 7n, epoch: 0 }, 2000), a);
  const b = run({ points, seed: 8n, epoch: 0 }, 2000);
  const c = run({ points, seed: 7n, epoch: 1 }, 2000);
  assert.notDeepEqual(b, a);
  assert.notDeepEqual(c, a);
  for (const picks of [a, b, c]) {
    assert.ok(maxDeviation(points, picks) <= 1 + 1e-9);
    assert.equal(picks.filter((p) => p === 0).length, 1400);
  }
  // Orders differ in many places, not only a tie here and there.
  const differ = a.filter((p, i) => p !== b[i]).length;
  assert.ok(differ > 200, `only ${differ} of 2000 units differ`);
});

Deno.test("scheduler: state → new scheduler continues exactly (every cut point)", () => {
  const cfg: SchedulerConfig = {
    points: [{ at: 0, weights: [0.5, 0.3, 0.2] }, {
      at: 90,
      weights: [0.1, 0.1, 0.8],
    }],
    seed: 3n,
    epoch: 2,
  };
  const full = run(cfg, 200);
  for (const cut of [0, 1, 15, 16, 17, 33, 90, 131, 199]) {
    const s = new MixScheduler(cfg);
    for (let u = 0; u < cut; u++) s.next();
    const state = JSON.parse(JSON.stringify(s.state()));
    const r = new MixScheduler(cfg, state);
    const rest = Array.from({ length: 200 - cut }, () => r.next());
    assert.deepEqual(rest, full.slice(cut), `cut at ${cut}`);
    assert.deepEqual(s.clone().next(), full[cut]);
  }
});

Deno.test("scheduler: exhaust renormalizes the rest within ±1 from the counts then", () => {
  const cfg: SchedulerConfig = {
    points: [{ at: 0, weights: [0.5, 0.3, 0.2] }],
    seed: 1n,
    epoch: 0,
  };
  const s = new MixScheduler(cfg);
  for (let u = 0; u < 101; u++) s.next();
  const base = [s.count(0), s.count(1), s.count(2)];
  s.exhaust(0);
  assert.equal(s.active(0), false);
  const picks = Array.from({ length: 500 }, () => s.next());
  assert.ok(!picks.includes(0));
  const c = [0, 0];
  picks.forEach((p, u) => {
    c[p - 1]++;
    const n = u + 1;
    assert.ok(Math.abs(c[0] - n * 0.6) <= 1 + 1e-9, `source 1 at ${n}`);
    assert.ok(Math.abs(c[1] - n * 0.4) <= 1 + 1e-9, `source 2 at ${n}`);
  });
  assert.equal(s.count(1), base[1] + c[0]);
  s.exhaust(1);
  s.exhaust(2);
  assert.equal(s.next(), -1);
});

Deno.test("scheduler: exhaust under a schedule keeps the rest within ±1 of the renormalized integral", () => {
  const points = [{ at: 0, weights: [0.2, 0.3, 0.5] }, {
    at: 300,
    weights: [0.6, 0.3, 0.1],
  }];
  const s = new MixScheduler({ points, seed: 5n, epoch: 0 });
  for (let u = 0; u < 50; u++) s.next();
  s.exhaust(2);
  for (let u = 0; u < 600; u++) {
    s.next();
    for (const i of [0, 1]) {
      assert.ok(Math.abs(s.count(i) - s.target(i)) <= 1 + 1e-9);
    }
  }
  // The renormalized target: ∫ w_i / (w_0 + w_1) from unit 50, via a fine Riemann sum.
  let t0 = 0;
  for (let x = 50; x < 650; x += 0.001) {
    const f = Math.min(1, (x + 0.0005) / 300);
    const w0 = 0.2 + 0.4 * f, w1 = 0.3;
    t0 += 0.001 * w0 / (w0 + w1);
  }
  assert.ok(Math.abs(s.target(0) - s.count(0)) <= 1 + 1e-9);
  assert.ok(Math.abs(s.target(0) - (s.state().phaseBase[0] + t0)) < 0.01);
});

Deno.test("scheduler: a 10-source, 10^8-unit mix starts with O(sources) state", () => {
  const points = [{
    at: 0,
    weights: normalized([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
  }];
  const s = new MixScheduler({ points, seed: 1n, epoch: 0 });
  s.next();
  const state = JSON.stringify(s.state());
  assert.ok(state.length < 2000, `state is ${state.length} chars`);
  // Jumping to unit 10^8 via its state costs one block, not 10^8 steps.
  const far = { ...s.state(), n: 1e8, phaseStart: 0, blockStart: 1e8 };
  far.blockCounts = points[0].weights.map((w) => Math.round(w * 1e8));

  const r = new MixScheduler({ points, seed: 1n, epoch: 0 }, far);
  for (let u = 0; u < 100; u++) r.next();
  for (let i = 0; i < 10; i++) {
    assert.ok(
      Math.abs(r.count(i) - points[0].weights[i] * (1e8 + 100)) <= 1 + 1e-6,
    );
  }
});
