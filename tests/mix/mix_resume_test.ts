import assert from "node:assert/strict";
import {
  DataLoader,
  ImageFolderLoader,
  mix,
  MixChangedError,
  type MixOptions,
} from "../../mod.ts";
import { freshStore, imageDataset, rawDataset } from "./_fixture.ts";

const quiet = () => {};

async function raw() {
  const manifestStore = await freshStore();
  const opts = { batchSizeSamples: 4, manifestStore, shuffle: true, seed: 5 };
  return {
    web: new DataLoader(await rawDataset("web", 140), opts),
    books: new DataLoader(await rawDataset("books", 60), opts),
  };
}

type Pair = [number, number];

async function take(
  m: {
    next(): Promise<
      { sourceIds: BigInt64Array; sampleIds: BigInt64Array } | null
    >;
  },
  batches = Infinity,
): Promise<Pair[]> {
  const out: Pair[] = [];
  for (let k = 0; k < batches; k++) {
    const b = await m.next();
    if (!b) break;
    b.sampleIds.forEach((id, i) =>
      out.push([Number(b.sourceIds[i]), Number(id)])
    );
  }
  return out;
}

Deno.test("mix resume (batch, cycle): checkpoint mid-epoch + resume = the uninterrupted run", async () => {
  const opts: MixOptions = {
    weights: { web: 0.5, books: 0.5 },
    seed: 9,
    onSourceExhausted: "cycle",
    log: quiet,
  };
  const full = await take(mix(await raw(), opts));
  // Cut before and after books' first restart (it runs out at unit 30).
  for (const cut of [11, 41]) {
    const first = mix(await raw(), opts);
    const head = await take(first, cut);
    const token = first.checkpoint();
    await first.close();
    await using second = mix(await raw(), { ...opts, resumeFrom: token });
    const tail = await take(second);
    assert.deepEqual([...head, ...tail], full, `cut after ${cut} batches`);
    assert.equal(second.stats().mixReplanned, false);
  }
});

Deno.test("mix resume (sample): a cut inside source batches resumes exactly", async () => {
  const HW: [number, number] = [8, 8];
  const sources = async () => {
    const manifestStore = await freshStore();
    const o = { batchSizeSamples: 5, resizeHw: HW, manifestStore };
    return [
      new ImageFolderLoader(await imageDataset("a", 42, 1), o),
      new ImageFolderLoader(await imageDataset("b", 18, 2), o),
    ];
  };
  const opts: MixOptions = {
    weights: [2, 1],
    granularity: "sample",
    batchSizeSamples: 7,
    seed: 4,
    onSourceExhausted: "allow",
    log: quiet,
  };
  const full = await take(mix(await sources(), opts));
  const first = mix(await sources(), opts);
  const head = await take(first, 3); // 21 samples: mid-batch for both sources
  const token = first.checkpoint();
  await first.close();
  await using second = mix(await sources(), { ...opts, resumeFrom: token });
  assert.deepEqual([...head, ...await take(second)], full);
});

Deno.test("mix resume: changed weights are refused naming them; allowMixChange re-plans from the counts", async () => {
  const opts: MixOptions = {
    weights: { web: 0.7, books: 0.3 },
    seed: 2,
    onSourceExhausted: "allow",
    log: quiet,
  };
  const first = mix(await raw(), opts);
  const head = await take(first, 10);
  const token = first.checkpoint();
  await first.close();
  const changed = {
    ...opts,
    weights: { web: 0.4, books: 0.6 },
    resumeFrom: token,
  };
  const refused = mix(await raw(), changed);
  await assert.rejects(() => refused.next(), (e: unknown) => {
    assert.ok(e instanceof MixChangedError);
    assert.match(
      e.message,
      /weights were \{web=0\.7 books=0\.3\}, now \{web=0\.4 books=0\.6\}/,
    );
    assert.match(e.message, /allowMixChange: true/);
    return true;
  });
  const seedChanged = mix(await raw(), { ...opts, seed: 3, resumeFrom: token });
  await assert.rejects(() => seedChanged.next(), /seed was 2, now 3/);

  await using replanned = mix(await raw(), {
    ...changed,
    allowMixChange: true,
  });
  const tail = await take(replanned);
  assert.equal(replanned.stats().mixReplanned, true);
  // Every sample exactly once across the cut.
  const all = [...head, ...tail];
  for (const [s, n] of [[0, 140], [1, 60]]) {
    const ids = all.filter(([x]) => x === s).map(([, id]) => id).sort((a, b) =>
      a - b
    );
    assert.deepEqual(ids, Array.from({ length: n }, (_, i) => i));
  }
  // After the cut: counts within ±1 of recorded counts + the new weights.
  const units = tail.filter((_, i) => i % 4 === 0).map(([s]) => s);
  let c1 = 0;
  for (let n = 1; n <= units.length; n++) {
    if (units[n - 1] === 1) c1++;
    if (c1 + head.filter(([s]) => s === 1).length / 4 >= 15) break;
    assert.ok(Math.abs(c1 - 0.6 * n) <= 1 + 1e-9, `unit ${n} after the cut`);
  }
});

Deno.test("mix resume: another source manifest is refused even with allowMixChange", async () => {
  const first = mix(await raw(), {
    seed: 1,
    onSourceExhausted: "allow",
    log: quiet,
  });
  await take(first, 3);
  const token = first.checkpoint();
  await first.close();
  const manifestStore = await freshStore();
  const o = { batchSizeSamples: 4, manifestStore, shuffle: true, seed: 5 };
  const other = mix({
    web: new DataLoader(await rawDataset("web", 140), o),
    books: new DataLoader(await rawDataset("books", 64), o),
  }, {
    seed: 1,
    onSourceExhausted: "allow",
    resumeFrom: token,
    allowMixChange: true,
    log: quiet,
  });
  await assert.rejects(() => other.next(), /manifest|resolved to/);
});
