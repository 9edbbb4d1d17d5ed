import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { DataLoader } from "../../lib/loader/data_loader.ts";
import {
  DecodeError,
  ImageFolderLoader,
} from "../../lib/loader/image_folder.ts";
import { FsManifestStore } from "../../lib/manifest_store/fs.ts";
import { listLocalFiles } from "../../lib/snapshot/index_base.ts";
import { createDecoder } from "../../lib/decode/select.ts";
import { startS3 } from "../_helpers/s3rver.ts";
import { startFaultyProxy } from "../_helpers/faulty_proxy.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";
import { assertSameBatches, imageFolderFixture, storeDir } from "./_fixture.ts";

async function store() {
  return new FsManifestStore(await storeDir());
}

async function allIds(
  loader: AsyncIterable<{ sampleIds: BigInt64Array }>,
): Promise<number[]> {
  const ids: number[] = [];
  for await (const b of loader) ids.push(...Array.from(b.sampleIds, Number));
  return ids;
}

Deno.test("ImageFolderLoader: NCHW float32 in [0,1], labels are the class dirs", async () => {
  const dir = await imageFolderFixture();
  const manifestStore = await store();
  await using loader = new ImageFolderLoader(dir, {
    batchSizeSamples: 10,
    resizeHw: [16, 24],
    manifestStore,
  });
  const files = await listLocalFiles(dir);
  const seen: number[] = [];
  for await (const { images, labels, sampleIds } of loader) {
    const b = sampleIds.length;
    assert.deepEqual(images.shape, [b, 3, 16, 24]);
    assert.equal(images.dtype, "float32");
    assert.ok(images.data instanceof Float32Array);
    assert.equal(images.data.length, b * 3 * 16 * 24);
    let min = Infinity, max = -Infinity;
    for (const v of images.data) {
      (min = Math.min(min, v), max = Math.max(max, v));
    }
    assert.ok(min >= 0 && max <= 1 && max > min, `range [${min}, ${max}]`);
    for (let i = 0; i < b; i++) {
      const id = Number(sampleIds[i]);
      const cls = files[id].rel.split("/")[0];
      assert.equal(loader.classes[Number(labels[i])], cls);
      seen.push(id);
    }
  }
  assert.deepEqual(loader.classes, ["cat", "dog", "eel"]);
  assert.deepEqual(seen, Array.from({ length: 48 }, (_, i) => i));
  const s = loader.stats();
  assert.equal(s.deliveredSamplesTotal, 48);
  assert.equal(s.deliveredBatchesTotal, 5);
  assert.ok(["native", "sharp"].includes(s.decodeBackend));
  assert.equal(s.inflightBytes, 0, "everything released after the last batch");
});

Deno.test("ImageFolderLoader: toFloat false gives uint8; sharp backend says so", async () => {
  const dir = await imageFolderFixture();
  await using loader = new ImageFolderLoader(dir, {
    batchSizeSamples: 48,
    resizeHw: [8, 8],
    toFloat: false,
    decodeBackend: "sharp",
    manifestStore: await store(),
  });
  const first = await loader.next();
  assert.ok(first!.images.data instanceof Uint8Array);
  assert.equal(first!.images.dtype, "uint8");
  assert.equal(loader.stats().decodeBackend, "sharp");
});

Deno.test("DataLoader: raw payload bytes equal the files; offsets have B+1 entries", async () => {
  const dir = await imageFolderFixture();
  await using loader = new DataLoader(dir, {
    batchSizeSamples: 7,
    manifestStore: await store(),
  });
  const files = await listLocalFiles(dir);
  let n = 0;
  for await (const batch of loader) {
    assert.equal(batch.offsets.length, batch.sampleIds.length + 1);
    for (let i = 0; i < batch.sampleIds.length; i++) {
      const id = Number(batch.sampleIds[i]);
      assert.deepEqual(
        batch.sample(i),
        await Deno.readFile(`${dir}/${files[id].rel}`),
      );
      n++;
    }
  }
  assert.equal(n, 48);
});

Deno.test("determinism: same seed/epoch same ids; other epoch other order; each id once", async () => {
  const dir = await imageFolderFixture();
  const manifestStore = await store();
  const run = (epoch: number) =>
    allIds(
      new DataLoader(dir, {
        batchSizeSamples: 5,
        shuffle: true,
        seed: 9,
        epoch,
        manifestStore,
        shuffleBlockSize: 16,
      }),
    );
  const a = await run(0);
  const b = await run(0);
  const c = await run(1);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  for (const ids of [a, c]) {
    assert.deepEqual(
      [...ids].sort((x, y) => x - y),
      Array.from({ length: 48 }, (_, i) => i),
    );
  }
});

Deno.test("determinism holds whatever prefetchBatches is", async () => {
  const dir = await imageFolderFixture();
  const manifestStore = await store();
  const run = (prefetchBatches: number) =>
    allIds(
      new DataLoader(dir, {
        batchSizeSamples: 3,
        shuffle: true,
        seed: 1,
        prefetchBatches,
        manifestStore,
      }),
    );
  assert.deepEqual(await run(1), await run(8));
});

Deno.test("checkpoint/resumeFrom: resume after N batches yields exactly the remaining ids", async () => {
  const dir = await imageFolderFixture();
  const manifestStore = await store();
  const opts = {
    batchSizeSamples: 5,
    shuffle: true,
    seed: 5,
    epoch: 2,
    manifestStore,
  };
  const full = await allIds(new DataLoader(dir, opts));
  const first = new DataLoader(dir, opts);
  const head: number[] = [];
  for (let i = 0; i < 3; i++) {
    head.push(...Array.from((await first.next())!.sampleIds, Number));
  }
  const token = first.checkpoint();
  await first.close();
  const rest = await allIds(
    new DataLoader(dir, { ...opts, seed: 777, resumeFrom: token }),
  );
  assert.deepEqual(head, full.slice(0, 15));
  assert.deepEqual(rest, full.slice(15));
});

Deno.test("resumeFrom: a token from another manifest is rejected clearly", async () => {
  await using other = await tempDir();
  await writeTree(other.path, { "a/1.bin": "x", "b/2.bin": "y" });
  const dir = await imageFolderFixture();
  const manifestStore = await store();
  const l1 = new DataLoader(other.path, { manifestStore });
  await l1.open();
  const token = l1.checkpoint();
  await l1.close();
  const l2 = new DataLoader(dir, { manifestStore, resumeFrom: token });
  await assert.rejects(
    () => l2.next(),
    /resumeFrom token is for manifest [0-9a-f]{64} but .* resolved to [0-9a-f]{64}: open the loader with .*@sha256:/,
  );
  await assert.rejects(
    () => new DataLoader(dir, { manifestStore, resumeFrom: "garbage" }).next(),
    /not an MX8 loader checkpoint/,
  );
});

Deno.test("memory contract: a slow consumer keeps inflight high-water ≤ maxInflightBytes", async () => {
  const dir = await imageFolderFixture();
  const files = await listLocalFiles(dir);
  const biggest = Math.max(...files.map((f) => f.size));
  // Decode working memory is part of the budget too (2 images at once).
  const decoder = createDecoder({ backend: "auto" });
  const work = Math.max(
    ...await Promise.all(
      files.map(async (f) =>
        (await decoder.workingMemory(await Deno.readFile(`${dir}/${f.rel}`), {
          height: 16,
          width: 16,
        })).bytes
      ),
    ),
  );
  decoder.close();
  // room for ~2 batches of 2
  const cap = biggest * 4 + 16 * 16 * 3 * 4 * 2 * 2 + 2 * 2 * work;
  await using loader = new ImageFolderLoader(dir, {
    batchSizeSamples: 2,
    resizeHw: [16, 16],
    maxInflightBytes: cap,
    prefetchBatches: 8,
    maxQueueBatches: 16,
    manifestStore: await store(),
  });
  let batches = 0;
  for await (const _ of loader) {
    batches++;
    assert.ok(loader.stats().inflightBytes <= cap);
    await new Promise((r) => setTimeout(r, 15)); // slow consumer: the pipeline fills up
  }
  const s = loader.stats();
  assert.equal(batches, 24);
  assert.ok(
    s.inflightHighWaterBytes <= cap,
    `${s.inflightHighWaterBytes} > ${cap}`,
  );
  assert.ok(s.inflightHighWaterBytes > cap / 3, "the pipeline did run ahead");
  assert.ok(s.ramHighWaterBytes >= s.inflightHighWaterBytes);
});

Deno.test("memory contract: a batch larger than the cap fails with the spec's text", async () => {
  const dir = await imageFolderFixture();
  const loader = new DataLoader(dir, {
    batchSizeSamples: 48,
    maxInflightBytes: 1000,
    manifestStore: await store(),
  });
  await assert.rejects(
    () => loader.next(),
    /^Error: batch payload bytes \d+ exceeds max_inflight_bytes 1000|batch payload bytes \d+ exceeds max_inflight_bytes 1000/,
  );
  assert.equal(loader.stats().inflightBytes, 0);
});

Deno.test("memory contract: an RSS cap below current RSS fails fast with the spec's text", async () => {
  const dir = await imageFolderFixture();
  const loader = new DataLoader(dir, {
    maxProcessRssBytes: 1024 * 1024,
    manifestStore: await store(),
  });
  await assert.rejects(
    () => loader.next(),
    /process rss \d+ exceeds max_process_rss_bytes 1048576/,
  );
  assert.equal(loader.stats().inflightBytes, 0, "nothing leaked");
});

Deno.test("decode errors: error names sample id + location; skip drops and counts", async () => {
  await using ds = await tempDir();
  const dir = await imageFolderFixture();
  for (const cls of ["cat", "dog"]) {
    await Deno.mkdir(`${ds.path}/${cls}`);
    for (const e of Deno.readDirSync(`${dir}/${cls}`)) {
      await Deno.copyFile(
        `${dir}/${cls}/${e.name}`,
        `${ds.path}/${cls}/${e.name}`,
      );
    }
  }
  await Deno.writeTextFile(
    `${ds.path}/cat/zzz_broken.jpg`,
    "not a jpeg at all",
  );
  const manifestStore = await store();
  const strict = new ImageFolderLoader(ds.path, {
    resizeHw: [8, 8],
    manifestStore,
  });
  await assert.rejects(async () => {
    for await (const _ of strict) { /* drain */ }
  }, (err: unknown) => {
    assert.ok(err instanceof DecodeError, String(err));
    assert.equal(err.sampleId, 16);
    assert.match(
      err.message,
      /cannot decode sample 16 \(cat\/zzz_broken\.jpg\)/,
    );
    return true;
  });
  const lenient = new ImageFolderLoader(ds.path, {
    resizeHw: [8, 8],
    batchSizeSamples: 5,
    onDecodeError: "skip",
    manifestStore,
    log: () => {},
  });
  const ids = await allIds(lenient);
  assert.equal(ids.length, 32);
  assert.ok(!ids.includes(16));
  assert.equal(lenient.stats().decodeErrorsSkippedTotal, 1);
});

Deno.test("S3: the same dataset through s3rver equals the local one batch for batch", async () => {
  await using s3 = await startS3(["imgs"]);
  const dir = await imageFolderFixture();
  for (const f of await listLocalFiles(dir)) {
    await s3.client.send(
      new PutObjectCommand({
        Bucket: "imgs",
        Key: `train/${f.rel}`,
        Body: await Deno.readFile(`${dir}/${f.rel}`),
      }),
    );
  }
  const manifestStore = await store();
  const opts = {
    batchSizeSamples: 8,
    resizeHw: [12, 12] as [number, number],
    shuffle: true,
    seed: 3,
    manifestStore,
  };
  const local = new ImageFolderLoader(dir, opts);
  const remote = new ImageFolderLoader("s3://imgs/train", opts);
  await assertSameBatches(local, remote);
});

Deno.test("S3 faults: failed requests are retried and no sample is lost", async () => {
  await using s3 = await startS3(["flaky"]);
  const dir = await imageFolderFixture();
  for (const f of await listLocalFiles(dir)) {
    await s3.client.send(
      new PutObjectCommand({
        Bucket: "flaky",
        Key: `d/${f.rel}`,
        Body: await Deno.readFile(`${dir}/${f.rel}`),
      }),
    );
  }
  const manifestStore = await store();
  // Index through the healthy endpoint, then read through the faulty proxy.
  const clean = new DataLoader("s3://flaky/d", { manifestStore });
  const expected = new Map<number, Uint8Array>();
  for await (const b of clean) {
    for (let i = 0; i < b.sampleIds.length; i++) {
      expected.set(Number(b.sampleIds[i]), b.sample(i).slice());
    }
  }
  // Every third distinct request fails once (alternating 503 and a dropped connection).
  const seen = new Set<string>();
  const proxy = await startFaultyProxy(s3.endpoint, {
    fail: (n, method, url, range) => {
      const key = `${method} ${url} ${range}`;
      if (seen.has(key)) return null;
      seen.add(key);
      return seen.size % 3 === 0 ? (n % 2 ? "503" : "reset") : null;
    },
  });
  Deno.env.set("MX8_S3_ENDPOINT", proxy.endpoint);
  try {
    const flaky = new DataLoader("s3://flaky/d", {
      batchSizeSamples: 6,
      manifestStore,
    });
    const got = new Map<number, Uint8Array>();
    for await (const b of flaky) {
      for (let i = 0; i < b.sampleIds.length; i++) {
        got.set(Number(b.sampleIds[i]), b.sample(i).slice());
      }
    }
    assert.equal(got.size, 48);
    for (const [id, bytes] of expected) {
      assert.deepEqual(got.get(id), bytes, `sample ${id}`);
    }
    assert.ok(proxy.failures > 0, "faults were injected");
    // Every injected failure was answered by a retry (ours, or the HTTP layer's
    // for some dropped connections): each sample needed one HEAD and one GET,
    // and the plain link one GET of s3://flaky/d/_mx8/manifest.tsv (to check
    // the base still has no packed manifest, as when it was indexed).
    assert.equal(proxy.requests, 48 * 2 + 1 + proxy.failures);
    assert.ok(flaky.stats().fetchRetriesTotal > 0, "the reader retried");
  } finally {
    Deno.env.set("MX8_S3_ENDPOINT", s3.endpoint);
    await proxy.close();
  }
});

Deno.test("skip mode: a batch whose every sample fails is not delivered empty; each skipped sample is logged by id, location and reason; checkpoints stay consistent", async () => {
  await using ds = await tempDir();
  const dir = await imageFolderFixture();
  for (const cls of ["cat", "dog"]) {
    await Deno.mkdir(`${ds.path}/${cls}`);
    for (const e of Deno.readDirSync(`${dir}/${cls}`)) {
      await Deno.copyFile(
        `${dir}/${cls}/${e.name}`,
        `${ds.path}/${cls}/${e.name}`,
      );
    }
  }
  // Ids 0 and 1 sort first ("aaa/…"): with 2 samples per batch, batch 0 is all broken.
  await Deno.mkdir(`${ds.path}/aaa`);
  await Deno.writeTextFile(`${ds.path}/aaa/bad0.jpg`, "not a jpeg");
  await Deno.writeTextFile(`${ds.path}/aaa/bad1.jpg`, "truncated");
  const manifestStore = await store();
  const events: Record<string, unknown>[] = [];
  const opts = {
    resizeHw: [8, 8] as [number, number],
    batchSizeSamples: 2,
    onDecodeError: "skip" as const,
    manifestStore,
    log: (event: string, fields: Record<string, unknown>) =>
      events.push({ event, ...fields }),
  };
  const loader = new ImageFolderLoader(ds.path, opts);
  const first = await loader.next();
  assert.ok(first);
  assert.deepEqual(Array.from(first.sampleIds, Number), [2, 3]);
  const token = loader.checkpoint();
  const sizes = [first.sampleIds.length];
  const rest: number[] = [];
  for (let b = await loader.next(); b; b = await loader.next()) {
    sizes.push(b.sampleIds.length);
    rest.push(...Array.from(b.sampleIds, Number));
  }
  assert.ok(!sizes.includes(0), `batch sizes ${sizes}`);
  assert.equal(loader.stats().decodeErrorsSkippedTotal, 2);
  assert.equal(loader.stats().deliveredBatchesTotal, sizes.length);
  const skipped = events.filter((e) => e.event === "decode_error_skipped");
  assert.deepEqual(
    skipped.map((e) => [e.sample_id, e.location]),
    [[0, "aaa/bad0.jpg"], [1, "aaa/bad1.jpg"]],
  );
  // The native decoder's words, or sharp's (without libmx8_ffi).
  assert.match(
    String(skipped[0].reason),
    /not a JPEG|unsupported image format/,
  );
  // Resuming after the first delivered batch yields exactly the rest.
  const resumed = new ImageFolderLoader(ds.path, {
    ...opts,
    resumeFrom: token,
  });
  assert.deepEqual(await allIds(resumed), rest);
});
