import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import {
  DataLoader,
  ImageFolderLoader,
  mix,
  MixCapTooSmallError,
} from "../../mod.ts";
import { nativeTest } from "../_helpers/native.ts";
import { listLocalFiles } from "../../lib/snapshot/index_base.ts";
import { startS3 } from "../_helpers/s3rver.ts";
import {
  freshStore,
  imageDataset,
  maxPrefixDeviation,
  rawDataset,
} from "./_fixture.ts";

const quiet = () => {};

Deno.test("mix: one shared cap under a slow consumer (effective cap = min of the sources' and the mix's)", async () => {
  const manifestStore = await freshStore();
  const HW: [number, number] = [32, 32];
  const batchBytes = 4 * 3 * 32 * 32 * 4; // decoded tensor of a 4-sample batch
  // Room for ~3 batches (+ their JPEGs), plus the decode working memory the
  // budget reserves for two images decoding at once (≈0.3 MiB each natively,
  // ≈2 MiB with sharp when libmx8_ffi is unavailable).
  const cap = 3 * batchBytes + 64 * 1024 + 5 * 2 ** 20;
  const o = {
    batchSizeSamples: 4,
    resizeHw: HW,
    manifestStore,
    prefetchBatches: 8,
    maxQueueBatches: 16,
  };
  const rssBefore = Deno.memoryUsage().rss;
  await using m = mix({
    a: new ImageFolderLoader(await imageDataset("a", 42, 1), {
      ...o,
      maxInflightBytes: 64 * 2 ** 20,
    }),
    b: new ImageFolderLoader(await imageDataset("b", 18, 2), {
      ...o,
      maxInflightBytes: 32 * 2 ** 20,
    }),
  }, {
    weights: [0.6, 0.4],
    maxInflightBytes: cap,
    maxProcessRssBytes: rssBefore + 512 * 2 ** 20,
    onSourceExhausted: "allow",
    log: quiet,
  });
  let batches = 0, maxInflight = 0;
  for await (const _ of m) {
    batches++;
    // A slow consumer: every source has time to fill whatever the budget allows.
    await new Promise((r) => setTimeout(r, 15));
    maxInflight = Math.max(maxInflight, m.stats().inflightBytes);
  }
  const s = m.stats();
  assert.equal(batches, 11 + 5);
  assert.equal(s.maxInflightBytes, cap, "the mix's cap is the smallest");
  assert.ok(
    s.inflightHighWaterBytes <= cap,
    `${s.inflightHighWaterBytes} > ${cap}`,
  );
  assert.ok(
    maxInflight > batchBytes,
    "the sources did prefetch into the shared budget",
  );
  assert.ok(s.processRssBytes > 0 && s.processRssBytes < s.maxProcessRssBytes);
  assert.equal(s.inflightBytes, 0);
});

Deno.test("mix: a cap too small for sample granularity is refused with the numbers", async () => {
  const manifestStore = await freshStore();
  const o = {
    batchSizeSamples: 8,
    resizeHw: [32, 32] as [number, number],
    manifestStore,
  };
  const m = mix([
    new ImageFolderLoader(await imageDataset("a", 42, 1), o),
    new ImageFolderLoader(await imageDataset("b", 18, 2), o),
  ], { granularity: "sample", maxInflightBytes: 100_000, log: quiet });
  await assert.rejects(
    () => m.next(),
    /holds one decoded batch per source plus the mixed batch \(294912 bytes\), more than maxInflightBytes 100000/,
  );
});

nativeTest(
  "mix: sample sources whose held batches do not fit together fail naming the source and the bytes (the mix waited forever)",
  async () => {
    // 400×300 JPEGs to 32×32: each source batch holds its compressed bytes
    // and decode working memory (≈0.55 MB with the tensor) until the mixed
    // batch is decoded, far more than the tensors the up-front check counts
    // (294 912 bytes). One such batch fits in 700 000 bytes, two do not.
    const manifestStore = await freshStore();
    const o = {
      batchSizeSamples: 8,
      resizeHw: [32, 32] as [number, number],
      manifestStore,
      log: quiet,
    };
    const m = mix([
      new ImageFolderLoader(await imageDataset("p", 32, 1, [400, 300]), o),
      new ImageFolderLoader(await imageDataset("q", 32, 2, [400, 300]), o),
    ], {
      granularity: "sample",
      maxInflightBytes: 700_000,
      onSourceExhausted: "allow",
      log: quiet,
    });
    let hang: ReturnType<typeof setTimeout> | undefined;
    const err = await Promise.race([
      (async () => {
        for await (const _ of m) { /* never reached */ }
      })().then(() => new Error("the mix ended without an error"), (e) => e),
      new Promise((r) => {
        hang = setTimeout(() => r(new Error("the mix waited forever")), 60_000);
      }),
    ]);
    clearTimeout(hang);
    assert.ok(err instanceof MixCapTooSmallError, String(err));
    assert.equal(err.capBytes, 700_000);
    assert.ok(err.usedBytes + err.needBytes > 700_000);
    assert.match(
      err.message,
      /source "1"'s next batch needs \d+ bytes while \d+ are held .* raise maxInflightBytes .* or use granularity "batch"/,
    );
    assert.equal(m.stats().inflightBytes, 0, "every reservation returned");
    await assert.rejects(() => m.next(), MixCapTooSmallError);

    // The same sources at a cap that holds a batch of each: the whole epoch.
    const ok = mix([
      new ImageFolderLoader(await imageDataset("p", 32, 1, [400, 300]), o),
      new ImageFolderLoader(await imageDataset("q", 32, 2, [400, 300]), o),
    ], { granularity: "sample", maxInflightBytes: 2_000_000, log: quiet });
    let n = 0;
    for await (const b of ok) n += b.sampleIds.length;
    assert.equal(n, 64);
  },
);

Deno.test("mix: a local and an S3 (s3rver) source mixed, exact and complete", async () => {
  await using s3 = await startS3(["mixb"]);
  const dir = await rawDataset("books", 60);
  for (const f of await listLocalFiles(dir)) {
    await s3.client.send(
      new PutObjectCommand({
        Bucket: "mixb",
        Key: `books/${f.rel}`,
        Body: await Deno.readFile(`${dir}/${f.rel}`),
      }),
    );
  }
  const manifestStore = await freshStore();
  const o = { batchSizeSamples: 4, manifestStore };
  await using m = mix({
    web: new DataLoader(await rawDataset("web", 140), o),
    books: new DataLoader("s3://mixb/books", o),
  }, {
    weights: { web: 0.7, books: 0.3 },
    seed: 5,
    onSourceExhausted: "allow",
    log: quiet,
  });
  const units: number[] = [];
  const text: string[][] = [[], []];
  for await (const b of m) {
    const s = Number(b.sourceIds[0]);
    units.push(s);
    for (let i = 0; i < b.sampleIds.length; i++) {
      text[s].push(
        new TextDecoder().decode(b.sample(i)).split(" ").slice(0, 2).join(" "),
      );
    }
  }
  assert.ok(maxPrefixDeviation(units, [0.7, 0.3]) <= 1 + 1e-9);
  const sorted = (xs: string[]) =>
    xs.map((t) => Number(t.split(" ")[1])).sort((a, b) => a - b);
  assert.ok(text[1].every((t) => t.startsWith("books ")));
  assert.ok(text[0].every((t) => t.startsWith("web ")));
  assert.deepEqual(sorted(text[1]), Array.from({ length: 60 }, (_, i) => i));
  assert.deepEqual(sorted(text[0]), Array.from({ length: 140 }, (_, i) => i));
  const st = m.stats().mixSources;
  assert.equal(st[1].deliveredSamples, 60);
  assert.ok(st[1].manifestHash.length === 64);
});
