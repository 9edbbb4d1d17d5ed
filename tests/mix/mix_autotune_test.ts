import assert from "node:assert/strict";
import { DataLoader, mix } from "../../mod.ts";
import { AUTOTUNE_PROFILES } from "../../lib/autotune/profiles.ts";
import { freshStore, rawDataset } from "./_fixture.ts";

const quiet = () => {};

async function three(own?: { profile: "safe"; tickMs: number }) {
  const manifestStore = await freshStore();
  const out: DataLoader[] = [];
  for (const [name, n] of [["x", 40], ["y", 24], ["z", 16]] as const) {
    out.push(
      new DataLoader(await rawDataset(name, n), {
        batchSizeSamples: 4,
        manifestStore,
        autotune: own,
      }),
    );
  }
  return out;
}

Deno.test("mix autotune: one controller for the mix sets every source's knobs; the sources run none", async () => {
  const sources = await three();
  await using mixed = mix(sources, {
    seed: 2,
    // No tick during the test: the sources keep the start knobs.
    autotune: { profile: "balanced", tickMs: 600_000 },
    onSourceExhausted: "allow",
    log: quiet,
  });
  const p = AUTOTUNE_PROFILES.balanced;
  let samples = 0;
  for await (const b of mixed) {
    samples += b.sampleIds.length;
    if (samples === 4) {
      const s = mixed.stats();
      assert.equal(s.autotuneEnabled, true);
      assert.equal(s.autotuneProfile, "balanced");
      for (const src of sources) {
        const st = src.stats();
        assert.equal(st.autotuneEnabled, false, "no controller of its own");
        assert.equal(st.effectivePrefetchBatches, p.startPrefetchBatches);
        assert.equal(st.effectiveMaxQueueBatches, p.startMaxQueueBatches);
      }
    }
  }
  assert.equal(samples, 80);
});

Deno.test("mix autotune: without the mix option the first source's setting drives the one controller", async () => {
  const sources = await three({ profile: "safe", tickMs: 5 });
  await using mixed = mix(sources, {
    seed: 2,
    onSourceExhausted: "allow",
    log: quiet,
  });
  let batches = 0;
  for await (const _ of mixed) {
    // Ticks every 5 ms: whatever the controller chose, every source runs it.
    const s = mixed.stats();
    assert.equal(s.autotuneEnabled, true);
    assert.equal(s.autotuneProfile, "safe");
    for (const src of sources) {
      const st = src.stats();
      assert.equal(st.autotuneEnabled, false);
      assert.equal(st.effectivePrefetchBatches, s.effectivePrefetchBatches);
      assert.equal(st.effectiveMaxQueueBatches, s.effectiveMaxQueueBatches);
    }
    batches++;
    await new Promise((r) => setTimeout(r, 2));
  }
  assert.equal(batches, 20);
});
