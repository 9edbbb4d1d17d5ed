import assert from "node:assert/strict";
import { DataLoader, mix, MixSourceExhaustedError } from "../../mod.ts";
import {
  freshStore,
  maxPrefixDeviation,
  rawDataset,
  sequenceHash,
} from "./_fixture.ts";

const quiet = () => {};

async function sources(batch = 4) {
  const manifestStore = await freshStore();
  const opts = { batchSizeSamples: batch, manifestStore };
  return {
    web: new DataLoader(await rawDataset("web", 140), opts),
    books: new DataLoader(await rawDataset("books", 60), opts),
  };
}

/** Runs a mix to its end: per batch (source, ids). */
async function drain(
  m: AsyncIterable<{ sourceIds: BigInt64Array; sampleIds: BigInt64Array }>,
) {
  const units: number[] = [];
  const pairs: [number, number][] = [];
  for await (const b of m) {
    units.push(Number(b.sourceIds[0]));
    for (let i = 0; i < b.sampleIds.length; i++) {
      pairs.push([Number(b.sourceIds[i]), Number(b.sampleIds[i])]);
    }
  }
  return { units, pairs };
}

Deno.test("mix batch: same inputs → same sequence; another seed → another, every sample once", async () => {
  const run = async (seed: number) =>
    drain(mix(await sources(), {
      weights: { web: 0.7, books: 0.3 },
      seed,
      onSourceExhausted: "allow",
      log: quiet,
    }));
  const a = await run(7), b = await run(7), c = await run(8);
  assert.equal(await sequenceHash(a.pairs), await sequenceHash(b.pairs));
  assert.notEqual(await sequenceHash(a.pairs), await sequenceHash(c.pairs));
  for (const r of [a, c]) {
    const web = r.pairs.filter(([s]) => s === 0).map(([, id]) => id);
    const books = r.pairs.filter(([s]) => s === 1).map(([, id]) => id);
    assert.deepEqual(web, Array.from({ length: 140 }, (_, i) => i));
    assert.deepEqual(books, Array.from({ length: 60 }, (_, i) => i));
  }
});

Deno.test("mix batch: every prefix of batches within ±1 of the weights (both seeds)", async () => {
  for (const seed of [1, 2]) {
    const m = mix(await sources(), {
      weights: [0.7, 0.3],
      seed,
      onSourceExhausted: "allow",
      log: quiet,
    });
    const { units } = await drain(m);
    // 35 web batches, 15 books batches: exact until both run out together.
    assert.equal(units.length, 50);
    assert.ok(maxPrefixDeviation(units, [0.7, 0.3]) <= 1 + 1e-9);
    const s = m.stats();
    assert.equal(s.mixSources[0].deliveredSamples, 140);
    assert.equal(s.mixSources[1].deliveredUnits, 15);
    assert.equal(s.inflightBytes, 0);
  }
});

Deno.test("mix batch: onSourceExhausted error names the source and its counts", async () => {
  const m = mix(await sources(), { weights: [0.5, 0.5], log: quiet });
  await assert.rejects(
    () => drain(m),
    (e: unknown) => {
      assert.ok(e instanceof MixSourceExhaustedError);
      assert.equal(e.source, "books");
      assert.match(e.message, /"books" ran out after 60 samples in 15 batches/);
      assert.match(e.message, /onSourceExhausted: "allow"/);
      return true;
    },
  );
});

Deno.test("mix batch: allow drains the rest and says so; cycle repeats the small source", async () => {
  const events: [string, Record<string, unknown>][] = [];
  const allow = mix(await sources(), {
    weights: [0.5, 0.5],
    onSourceExhausted: "allow",
    log: (e, f) => events.push([e, f]),
  });
  const a = await drain(allow);
  assert.equal(a.pairs.length, 200);
  const st = allow.stats().mixSources;
  assert.ok(st[1].dropped && st[1].ranOut);
  assert.deepEqual(
    events.map(([e, f]) => [e, f.source, f.deliveredUnits, f.n]),
    [["mix_source_ran_out", "books", 15, 30], [
      "mix_source_ran_out",
      "web",
      35,
      50,
    ]],
  );
  // Exact 50/50 while both ran.
  assert.ok(maxPrefixDeviation(a.units, [0.5, 0.5], 30) <= 1);

  const cycle = mix(await sources(), {
    weights: [0.5, 0.5],
    onSourceExhausted: "cycle",
    log: quiet,
  });
  const c = await drain(cycle);
  // Ends when web (35 batches) ran out: books repeated from its next epoch.
  const webIds = c.pairs.filter(([s]) => s === 0).map(([, id]) => id);
  assert.deepEqual(webIds, Array.from({ length: 140 }, (_, i) => i));
  assert.ok(maxPrefixDeviation(c.units, [0.5, 0.5]) <= 1);
  const cs = cycle.stats().mixSources;
  assert.equal(cs[1].repetitions, 2);
  assert.ok(Math.abs(cs[1].deliveredUnits - cs[0].deliveredUnits) <= 1);

  const capped = mix(await sources(), {
    weights: [0.5, 0.5],
    onSourceExhausted: "cycle",
    maxRepetitions: 1,
    log: quiet,
  });
  const k = await drain(capped);
  assert.equal(k.pairs.filter(([s]) => s === 1).length, 120);
  assert.equal(capped.stats().mixSources[1].dropped, true);
});
