import assert from "node:assert/strict";
import { DataLoader, ImageFolderLoader, mix } from "../../mod.ts";
import { freshStore, imageDataset, rawDataset } from "./_fixture.ts";
import { nativeTest } from "../_helpers/native.ts";

const quiet = () => {};

async function tenSources(
  manifestStore?: Awaited<ReturnType<typeof freshStore>>,
) {
  const store = manifestStore ?? await freshStore();
  const out: DataLoader[] = [];
  for (let i = 0; i < 10; i++) {
    out.push(
      new DataLoader(await rawDataset(`s${i}`, 24), {
        batchSizeSamples: 4,
        manifestStore: store,
        prefetchBatches: 1,
        maxQueueBatches: 1,
      }),
    );
  }
  return out;
}

Deno.test("mix: a 10-source mix opens only the sources the plan reaches first, the rest along the plan", async () => {
  const sources = await tenSources();
  // Room for about two of these batches: the plan's look-ahead stays short.
  await using mixed = mix(sources, {
    seed: 3,
    maxInflightBytes: 400,
    onSourceExhausted: "allow",
    log: quiet,
  });
  const first = await mixed.next();
  assert.ok(first);
  const firstSource = Number(first.sourceIds[0]);
  const opened = () => sources.filter((s) => s.manifestHash !== undefined);
  assert.ok(
    sources[firstSource].manifestHash,
    "the first unit's source is open",
  );
  assert.ok(
    opened().length <= 4,
    `after one batch only the plan's next sources are open, got ${opened().length} of 10`,
  );
  const st = mixed.stats().mixSources;
  assert.equal(st.filter((s) => s.opened).length, opened().length);
  // Every sample of every source still comes, once.
  const seen = new Map<number, number[]>();
  const add = (b: { sourceIds: BigInt64Array; sampleIds: BigInt64Array }) =>
    b.sampleIds.forEach((id, k) => {
      const s = Number(b.sourceIds[k]);
      seen.set(s, [...(seen.get(s) ?? []), Number(id)]);
    });
  add(first);
  for await (const b of mixed) add(b);
  for (let i = 0; i < 10; i++) {
    assert.deepEqual(
      seen.get(i)?.sort((a, b) => a - b),
      Array.from({ length: 24 }, (_, k) => k),
      `source ${i}`,
    );
  }
  assert.equal(opened().length, 10);
});

Deno.test("mix: a checkpoint taken before some sources opened resumes exactly", async () => {
  const store = await freshStore();
  const opts = {
    seed: 5,
    maxInflightBytes: 400,
    onSourceExhausted: "allow" as const,
    log: quiet,
  };
  const pairs = async (
    m: AsyncIterable<{ sourceIds: BigInt64Array; sampleIds: BigInt64Array }>,
  ) => {
    const out: string[] = [];
    for await (const b of m) {
      b.sampleIds.forEach((id, k) => out.push(`${b.sourceIds[k]}:${id}`));
    }
    return out;
  };
  const whole = await pairs(mix(await tenSources(store), opts));
  const cut = mix(await tenSources(store), opts);
  const head: string[] = [];
  for (let n = 0; n < 2; n++) {
    const b = (await cut.next())!;
    b.sampleIds.forEach((id, k) => head.push(`${b.sourceIds[k]}:${id}`));
  }
  const notYet = cut.stats().mixSources.filter((s) => !s.opened).length;
  assert.ok(notYet > 0, "some sources are not open at the cut");
  const token = cut.checkpoint();
  await cut.close();
  const rest = await pairs(
    mix(await tenSources(store), { ...opts, resumeFrom: token }),
  );
  assert.deepEqual([...head, ...rest], whole);
});

nativeTest(
  "mix: image sources share one decoder: one native pool of the shared cap, one thread budget",
  async () => {
    const manifestStore = await freshStore();
    const dir = await imageDataset("dec", 48, 11);
    const cap = 8 * 2 ** 20;
    const srcs = Array.from(
      { length: 4 },
      () =>
        new ImageFolderLoader(dir, {
          batchSizeSamples: 4,
          resizeHw: [32, 32],
          decodeBackend: "native",
          decodeThreads: 2,
          prefetchBatches: 4,
          maxQueueBatches: 8,
          manifestStore,
        }),
    );
    await using mixed = mix(srcs, {
      seed: 1,
      maxInflightBytes: cap,
      onSourceExhausted: "allow",
      log: quiet,
    });
    let samples = 0;
    for await (const b of mixed) samples += b.sampleIds.length;
    assert.equal(samples, 4 * 48);
    const s = mixed.stats();
    assert.equal(s.mixDecodeThreadBudget, 2);
    assert.ok(s.mixDecodeThreadsHighWater >= 1);
    assert.ok(
      s.mixDecodeThreadsHighWater <= 2,
      `decode threads at once ${s.mixDecodeThreadsHighWater} > budget 2`,
    );
    assert.equal(s.mixDecodePoolBytes, cap);
    assert.ok(s.inflightHighWaterBytes <= cap);
  },
);
