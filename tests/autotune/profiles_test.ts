import assert from "node:assert/strict";
import { autotuneStep } from "../../lib/autotune/controller.ts";
import {
  clampKnobs,
  initialKnobs,
  knobsWithinRails,
} from "../../lib/autotune/knobs.ts";
import {
  AUTOTUNE_PROFILES,
  autotuneProfile,
  type AutotuneProfileName,
} from "../../lib/autotune/profiles.ts";
import { defaultRssCapBytes } from "../../lib/autotune/rss_cap.ts";

const MIB = 1048576;
const names: AutotuneProfileName[] = ["safe", "balanced", "throughput"];

Deno.test("profiles match the spec table", () => {
  const table = names.map((name) => {
    const p = AUTOTUNE_PROFILES[name];
    return [
      p.startMaxInflightBytes / MIB,
      p.startMaxQueueBatches,
      p.startPrefetchBatches,
      [p.prefetchRail.min, p.prefetchRail.max],
      [p.queueRail.min, p.queueRail.max],
      [p.wantRail.min, p.wantRail.max],
      p.rssCapFraction,
    ];
  });
  assert.deepEqual(table, [
    [128, 32, 1, [1, 4], [8, 64], [1, 2], 0.6],
    [256, 64, 2, [1, 8], [16, 128], [1, 4], 0.75],
    [512, 128, 4, [2, 16], [32, 256], [1, 8], 0.85],
  ]);
  for (const name of names) {
    assert.ok(
      knobsWithinRails(
        initialKnobs(AUTOTUNE_PROFILES[name]),
        AUTOTUNE_PROFILES[name],
      ),
    );
    assert.ok(Object.isFrozen(AUTOTUNE_PROFILES[name]));
  }
  assert.equal(autotuneProfile("").name, "balanced");
  assert.throws(() => autotuneProfile("toString"), RangeError);
});

Deno.test("rails clamp every knob for each profile, under increase and cut", () => {
  for (const name of names) {
    const p = AUTOTUNE_PROFILES[name];
    assert.deepEqual(
      clampKnobs({ prefetchBatches: 1e6, maxQueueBatches: 1e6, want: 1e6 }, p),
      {
        prefetchBatches: p.prefetchRail.max,
        maxQueueBatches: p.queueRail.max,
        want: p.wantRail.max,
      },
    );
    assert.deepEqual(
      clampKnobs({ prefetchBatches: -5, maxQueueBatches: 0, want: 0 }, p),
      {
        prefetchBatches: p.prefetchRail.min,
        maxQueueBatches: p.queueRail.min,
        want: p.wantRail.min,
      },
    );
    const top = {
      prefetchBatches: p.prefetchRail.max,
      maxQueueBatches: p.queueRail.max,
      want: p.wantRail.max,
    };
    const up = autotuneStep(
      {
        waitRatio: 1,
        rssBytes: 0,
        rssCapBytes: 1,
        inflightBytes: 0,
        inflightCapBytes: 1,
      },
      {
        profile: name,
        knobs: top,
        state: {
          waitEwma: 1,
          rssEwma: 0,
          pid: { p: 0, i: 0, d: 0, prevError: -0.9 },
          pressure: 0,
          cooldown: 0,
          increases: 1,
        },
      },
    );
    assert.equal(up.decision, "increase");
    assert.deepEqual(up.knobs, top);
    const bottom = {
      prefetchBatches: p.prefetchRail.min,
      maxQueueBatches: p.queueRail.min,
      want: p.wantRail.min,
    };
    const down = autotuneStep(
      {
        waitRatio: 0,
        rssBytes: 2,
        rssCapBytes: 1,
        inflightBytes: 0,
        inflightCapBytes: 1,
      },
      { profile: p, knobs: bottom },
    );
    assert.equal(down.decision, "hard_cut");
    assert.deepEqual(down.knobs, bottom);
  }
  assert.throws(
    () =>
      clampKnobs(
        { prefetchBatches: NaN, maxQueueBatches: 1, want: 1 },
        AUTOTUNE_PROFILES.safe,
      ),
    RangeError,
  );
});

Deno.test("defaultRssCapBytes = fraction x min(machine, cgroup)", () => {
  const GiB = 1024 * MIB;
  assert.equal(
    defaultRssCapBytes("safe", 16 * GiB),
    Math.floor(0.6 * 16 * GiB),
  );
  assert.equal(defaultRssCapBytes("balanced", 16 * GiB, 8 * GiB), 6 * GiB);
  assert.equal(
    defaultRssCapBytes(AUTOTUNE_PROFILES.throughput, 4 * GiB, 64 * GiB),
    Math.floor(0.85 * 4 * GiB),
  );
  assert.equal(defaultRssCapBytes("balanced", 4 * GiB, 0), 3 * GiB);
  assert.equal(defaultRssCapBytes("balanced", 4 * GiB, Infinity), 3 * GiB);
  assert.throws(() => defaultRssCapBytes("balanced", 0), RangeError);
  assert.throws(() => defaultRssCapBytes("nope" as "safe", 1), RangeError);
});
