import assert from "node:assert/strict";
import {
  DecodeError,
  ImageFolderLoader,
  mix,
  MixSourceExhaustedError,
} from "../../mod.ts";
import type { MixOptions } from "../../lib/mix/options.ts";
import { freshStore, imageDataset } from "./_fixture.ts";
import { nativeTest } from "../_helpers/native.ts";

const quiet = () => {};
const HW: [number, number] = [12, 16];
const PLANE = 3 * HW[0] * HW[1];

/**
 * Two image sources (42 and 18 JPEGs). `skip` makes every source skip bad
 * images, which turns the mix's direct decode off (it copies instead).
 */
async function sources(
  o: { skip?: boolean; batch?: number; cap?: number; sharp?: boolean } = {},
) {
  const manifestStore = await freshStore();
  const opts = {
    batchSizeSamples: o.batch ?? 5,
    resizeHw: HW,
    manifestStore,
    onDecodeError: o.skip ? "skip" as const : "error" as const,
    ...(o.sharp ? { decodeBackend: "sharp" as const } : {}),
    log: quiet,
  };
  return {
    a: new ImageFolderLoader(await imageDataset("a", 42, 1), opts),
    b: new ImageFolderLoader(await imageDataset("b", 18, 2), opts),
  };
}

interface Run {
  batches: { ids: number[]; src: number[]; px: Float32Array }[];
  error?: unknown;
  assembly: string;
  inflightAfter: number;
}

async function run(
  options: MixOptions,
  o: { skip?: boolean; batch?: number } = {},
): Promise<Run> {
  const m = mix(await sources(o), { log: quiet, ...options });
  const batches: Run["batches"] = [];
  let error: unknown;
  try {
    for await (const b of m) {
      batches.push({
        ids: Array.from(b.sampleIds, Number),
        src: Array.from(b.sourceIds, Number),
        px: (b.images.data as Float32Array).slice(),
      });
    }
  } catch (err) {
    error = err;
  }
  const s = m.stats();
  return {
    batches,
    error,
    assembly: s.mixSampleAssembly,
    inflightAfter: s.inflightBytes,
  };
}

const base: MixOptions = {
  weights: { a: 0.7, b: 0.3 },
  granularity: "sample",
  batchSizeSamples: 8,
  seed: 5,
};

nativeTest(
  "mix sample direct: decoding into the mixed batch gives the copying assembler's batches, sample for sample and pixel for pixel",
  async () => {
    const direct = await run({ ...base, onSourceExhausted: "allow" });
    const copy = await run({ ...base, onSourceExhausted: "allow" }, {
      skip: true,
    });
    assert.equal(direct.assembly, "direct");
    assert.equal(copy.assembly, "copy");
    assert.equal(direct.error, undefined);
    assert.equal(direct.batches.length, copy.batches.length);
    direct.batches.forEach((b, i) => {
      assert.deepEqual(b.ids, copy.batches[i].ids, `batch ${i} ids`);
      assert.deepEqual(b.src, copy.batches[i].src, `batch ${i} sources`);
      assert.equal(b.px.length, b.ids.length * PLANE);
      assert.deepEqual(b.px, copy.batches[i].px, `batch ${i} pixels`);
    });
    assert.equal(direct.batches.flatMap((b) => b.ids).length, 60);
    assert.equal(direct.inflightAfter, 0);
  },
);

Deno.test("mix sample direct: a source running out under error / cycle surfaces exactly where the copying assembler has it", async () => {
  // b (18) runs out after ~36 samples at 0.5/0.5 while a has more.
  const even: MixOptions = { ...base, weights: { a: 1, b: 1 } };
  const direct = await run({ ...even, onSourceExhausted: "error" });
  const copy = await run({ ...even, onSourceExhausted: "error" }, {
    skip: true,
  });
  assert.ok(direct.error instanceof MixSourceExhaustedError);
  assert.ok(copy.error instanceof MixSourceExhaustedError);
  assert.equal(direct.error.message, copy.error.message);
  assert.match(direct.error.message, /"b"/);
  assert.deepEqual(
    direct.batches.map((b) => b.ids),
    copy.batches.map((b) => b.ids),
  );
  assert.ok(direct.batches.length >= 4, "batches came before the error");
  assert.equal(direct.inflightAfter, 0);

  const cycleOpts: MixOptions = {
    ...even,
    onSourceExhausted: "cycle",
    maxRepetitions: 1,
  };
  const dc = await run(cycleOpts), cc = await run(cycleOpts, { skip: true });
  assert.equal(dc.error, undefined);
  assert.deepEqual(dc.batches.map((b) => b.ids), cc.batches.map((b) => b.ids));
  assert.deepEqual(dc.batches.map((b) => b.src), cc.batches.map((b) => b.src));
  // b was read twice (18 + 18), a once (42): all of it, in ratio until b's end.
  const fromB = dc.batches.flatMap((b) => b.src).filter((s) => s === 1);
  assert.equal(fromB.length, 36);
  assert.equal(dc.inflightAfter, 0);
});

nativeTest(
  "mix sample direct: a slow consumer and a tight cap; closing mid-epoch returns every byte",
  async () => {
    const batchBytes = 5 * PLANE * 4;
    // One batch per source + the mixed batch + JPEGs and decode working memory.
    const cap = 8 * batchBytes + 5 * 2 ** 20;
    const m = mix(await sources(), {
      ...base,
      onSourceExhausted: "allow",
      maxInflightBytes: cap,
      log: quiet,
    });
    let samples = 0, maxInflight = 0;
    for await (const b of m) {
      samples += b.sampleIds.length;
      await new Promise((r) => setTimeout(r, 10));
      maxInflight = Math.max(maxInflight, m.stats().inflightBytes);
    }
    const s = m.stats();
    assert.equal(s.mixSampleAssembly, "direct");
    assert.equal(samples, 60);
    assert.ok(s.inflightHighWaterBytes <= cap);
    assert.ok(maxInflight > batchBytes, "the sources prefetched");
    assert.equal(s.inflightBytes, 0);

    // Stop after two batches while sources and decodes are still ahead (a
    // source batch may be on its way out of a closing loader: repeated).
    for (let r = 0; r < 20; r++) {
      const early = mix(await sources(), {
        ...base,
        onSourceExhausted: "allow",
      });
      let n = 0;
      for await (const _ of early) if (++n === 2) break;
      assert.equal(early.stats().inflightBytes, 0, `run ${r}: all returned`);
    }
  },
);

nativeTest(
  "mix sample direct: an image that does not decode fails the mix naming its sample and file",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "mx8-mix-bad-" });
    try {
      const src = await imageDataset("a", 42, 1);
      for (const cls of ["a", "b"]) {
        await Deno.mkdir(`${dir}/${cls}`);
        for await (const e of Deno.readDir(`${src}/${cls}`)) {
          await Deno.copyFile(
            `${src}/${cls}/${e.name}`,
            `${dir}/${cls}/${e.name}`,
          );
        }
      }
      const victim = [...Deno.readDirSync(`${dir}/b`)].map((e) =>
        e.name
      ).sort()[
        0
      ];
      const jpeg = await Deno.readFile(`${dir}/b/${victim}`);
      // A good header, then the entropy-coded data cut short and garbled.
      const sos = jpeg.findIndex((v, i) => v === 0xff && jpeg[i + 1] === 0xda);
      const bad = jpeg.slice(0, sos + 40);
      bad.fill(0xff, sos + 20);
      await Deno.writeFile(`${dir}/b/${victim}`, bad);
      const manifestStore = await freshStore();
      const o = {
        batchSizeSamples: 5,
        resizeHw: HW,
        manifestStore,
        log: quiet,
      };
      const m = mix({
        a: new ImageFolderLoader(dir, o),
        b: new ImageFolderLoader(await imageDataset("b", 18, 2), o),
      }, { ...base, onSourceExhausted: "allow", log: quiet });
      const err = await (async () => {
        try {
          for await (const _ of m) { /* until the bad image */ }
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      assert.ok(err instanceof DecodeError, String(err));
      assert.ok(err.message.includes(victim), err.message);
      assert.match(err.message, /cannot decode sample \d+/);
      assert.equal(m.stats().mixSampleAssembly, "direct");
      assert.equal(m.stats().inflightBytes, 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("mix sample with sharp sources: a slow consumer and a tight cap finish on the copying path (held undecoded batches would keep sharp's working memory until the budget is full, and wait forever)", async () => {
  const cap = 8 * 5 * PLANE * 4 + 5 * 2 ** 20;
  const m = mix(await sources({ sharp: true }), {
    ...base,
    onSourceExhausted: "allow",
    maxInflightBytes: cap,
    log: quiet,
  });
  let samples = 0;
  for await (const b of m) {
    samples += b.sampleIds.length;
    await new Promise((r) => setTimeout(r, 10));
  }
  const s = m.stats();
  assert.equal(s.mixSampleAssembly, "copy");
  assert.equal(samples, 60);
  assert.ok(s.inflightHighWaterBytes <= cap);
  assert.equal(s.inflightBytes, 0);
});
