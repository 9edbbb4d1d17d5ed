import assert from "node:assert/strict";
import { ImageFolderLoader, mix } from "../../mod.ts";
import { freshStore, imageDataset } from "./_fixture.ts";

const quiet = () => {};
const HW: [number, number] = [12, 16];
const PLANE = 3 * HW[0] * HW[1];

async function sources(batch = 5) {
  const manifestStore = await freshStore();
  const opts = { batchSizeSamples: batch, resizeHw: HW, manifestStore };
  return {
    a: new ImageFolderLoader(await imageDataset("a", 42, 1), opts),
    b: new ImageFolderLoader(await imageDataset("b", 18, 2), opts),
  };
}

/** Each source's pixels by sample id, read by a plain loader. */
async function pixelsOf(dir: string): Promise<Map<number, Float32Array>> {
  const m = new Map<number, Float32Array>();
  await using l = new ImageFolderLoader(dir, {
    batchSizeSamples: 7,
    resizeHw: HW,
    manifestStore: await freshStore(),
  });
  for await (const b of l) {
    b.sampleIds.forEach((id, i) =>
      m.set(
        Number(id),
        (b.images.data as Float32Array).slice(i * PLANE, (i + 1) * PLANE),
      )
    );
  }
  return m;
}

Deno.test("mix sample: every batch holds both sources in ratio, each prefix of samples within ±1, pixels intact", async () => {
  const want = [
    await pixelsOf(await imageDataset("a", 42, 1)),
    await pixelsOf(await imageDataset("b", 18, 2)),
  ];
  const m = mix(await sources(), {
    weights: { a: 0.7, b: 0.3 },
    granularity: "sample",
    batchSizeSamples: 10,
    seed: 3,
    onSourceExhausted: "allow",
    log: quiet,
  });
  const seq: number[] = [];
  const ids: number[][] = [[], []];
  let batches = 0;
  for await (const batch of m) {
    batches++;
    assert.deepEqual(batch.images.shape.slice(1), [3, ...HW]);
    const n = batch.sampleIds.length;
    for (let i = 0; i < n; i++) {
      const s = Number(batch.sourceIds[i]), id = Number(batch.sampleIds[i]);
      seq.push(s);
      ids[s].push(id);
      const px = (batch.images.data as Float32Array).subarray(
        i * PLANE,
        (i + 1) * PLANE,
      );
      assert.deepEqual(px, want[s].get(id), `source ${s} sample ${id}`);
    }
    // At each batch boundary: counts within ±1 of 0.7/0.3 of the samples so far.
    const c0 = seq.filter((s) => s === 0).length;
    assert.ok(
      Math.abs(c0 - 0.7 * seq.length) <= 1 + 1e-9,
      `after ${seq.length}`,
    );
    if (batches <= 5) {
      assert.ok(
        n === 10 &&
          Math.abs(batch.sourceIds.filter((s) => s === 1n).length - 3) <= 1,
      );
    }
  }
  // Every sample of each source, once, in its own order.
  assert.deepEqual(ids[0], Array.from({ length: 42 }, (_, i) => i));
  assert.deepEqual(ids[1], Array.from({ length: 18 }, (_, i) => i));
  assert.equal(seq.length, 60);
  const st = m.stats();
  assert.equal(st.mixGranularity, "sample");
  assert.equal(st.mixSources[0].deliveredBytes, 42 * PLANE * 4);
  assert.equal(st.inflightBytes, 0, "all returned after close");
});

Deno.test("mix sample: a schedule moves the ratio; every sample prefix within ±1 of its integral", async () => {
  const m = mix(await sources(), {
    schedule: [
      { atSamples: 0, weights: { a: 0.9, b: 0.1 } },
      { atSamples: 40, weights: { a: 0.3, b: 0.7 } },
    ],
    granularity: "sample",
    batchSizeSamples: 8,
    seed: 1,
    onSourceExhausted: "allow",
    log: quiet,
  });
  const seq: number[] = [];
  for await (const b of m) seq.push(...Array.from(b.sourceIds, Number));
  const target = (n: number) =>
    n <= 40 ? 0.9 * n - 0.3 * n * n / 40 : 24 + 0.3 * (n - 40);
  let c0 = 0;
  // Until a source runs out (b has 18 samples), the schedule is exact.
  for (let n = 1; n <= seq.length; n++) {
    if (seq[n - 1] === 0) c0++;
    if (n - c0 >= 18 || c0 >= 42) break;
    assert.ok(
      Math.abs(c0 - target(n)) <= 1 + 1e-9,
      `n=${n}: ${c0} vs ${target(n)}`,
    );
  }
  assert.equal(seq.length, 60);
});

Deno.test("mix sample: different image shapes are refused, naming both sources", async () => {
  const manifestStore = await freshStore();
  const m = mix({
    a: new ImageFolderLoader(await imageDataset("a", 42, 1), {
      resizeHw: [8, 8],
      manifestStore,
    }),
    b: new ImageFolderLoader(await imageDataset("b", 18, 2), {
      resizeHw: [8, 9],
      manifestStore,
    }),
  }, { granularity: "sample", log: quiet });
  await assert.rejects(
    () => m.next(),
    /source "b" has \[8,9\] float32, "a" has \[8,8\] float32/,
  );
});
