import assert from "node:assert/strict";
import { DataLoader } from "../../lib/loader/data_loader.ts";
import { ImageFolderLoader } from "../../lib/loader/image_folder.ts";
import { loader } from "../../lib/loader/loader.ts";
import { openManifestStore } from "../../lib/manifest_store/open.ts";
import { startCoordinator, writeDataset } from "../coordinator/_process.ts";
import { tempDir } from "../_helpers/tmp.ts";
import { imageFolderFixture, storeDir } from "./_fixture.ts";

const quiet = () => {};

Deno.test("loader(): raw bytes by default, the same batches as DataLoader", async () => {
  const root = await imageFolderFixture();
  const store = openManifestStore(await storeDir());
  const opts = { batchSizeSamples: 5, manifestStore: store, log: quiet };
  await using raw = loader(root, opts);
  await using ref = new DataLoader(root, opts);
  assert.ok(raw instanceof DataLoader);
  let batches = 0;
  for (;;) {
    const [a, b] = [await raw.next(), await ref.next()];
    if (a === null || b === null) {
      assert.equal(a, b);
      break;
    }
    assert.deepEqual(a.sampleIds, b.sampleIds);
    assert.deepEqual(a.payload, b.payload);
    assert.deepEqual(a.labelIds, b.labelIds);
    batches++;
  }
  assert.equal(batches, Math.ceil(48 / 5));
  assert.equal(raw.stats().deliveredSamplesTotal, 48);
  assert.equal(raw.stats().decodeBackend, "none");
});

Deno.test('loader(): resizeHw or decode: "image" gives decoded NCHW tensors', async () => {
  const root = await imageFolderFixture();
  const store = openManifestStore(await storeDir());
  for (
    const opts of [
      { resizeHw: [20, 24] as [number, number] },
      { decode: "image" as const, resizeHw: [20, 24] as [number, number] },
    ]
  ) {
    await using images = loader(root, {
      ...opts,
      batchSizeSamples: 16,
      manifestStore: store,
      log: quiet,
    });
    assert.ok(images instanceof ImageFolderLoader);
    const first = await images.next();
    assert.ok(first);
    assert.deepEqual(first.images.shape, [16, 3, 20, 24]);
    assert.equal(first.images.dtype, "float32");
    assert.deepEqual(images.classes, ["cat", "dog", "eel"]);
  }
  await using dflt = loader(root, {
    decode: "image",
    batchSizeSamples: 4,
    manifestStore: store,
    log: quiet,
  });
  const b = await dflt.next();
  assert.deepEqual(b?.images.shape, [4, 3, 224, 224]);
});

Deno.test("loader(): a bad decode value or image options without decoding are clear TypeErrors", () => {
  assert.throws(
    () => loader("/x", { decode: "jpeg" } as never),
    {
      name: "TypeError",
      message: 'loader option decode must be "raw" or "image", got "jpeg"',
    },
  );
  assert.throws(
    () => loader("/x", { decode: "raw", resizeHw: [8, 8] } as never),
    /loader options resizeHw need decoded images: pass decode: "image"/,
  );
  assert.throws(
    () => loader("/x", { onDecodeError: "skip", maxPixels: 9 } as never),
    /loader options onDecodeError, maxPixels need decoded images/,
  );
  assert.throws(
    () => loader("/x", { batchSizeSamples: 0 }),
    /Loader option batchSizeSamples must be an integer in 1..16777216, got 0/,
  );
});

Deno.test("loader(): coordUrl leases from a real coordinator process; every sample delivered once", async () => {
  await using dir = await tempDir();
  await writeDataset(`${dir.path}/data`, 37);
  await using coord = await startCoordinator([
    "--job-id",
    "front-door",
    "--dataset",
    `${dir.path}/data@refresh`,
    "--world-size",
    "1",
    "--block-size",
    "10",
  ], { MX8_MANIFEST_STORE: `${dir.path}/store` });
  await using leased = loader("", {
    coordUrl: coord.url,
    jobId: "front-door",
    nodeId: "front-door-node",
    batchSizeSamples: 4,
    log: quiet,
  });
  const ids: number[] = [];
  const text: string[] = [];
  for await (const batch of leased) {
    for (let i = 0; i < batch.sampleIds.length; i++) {
      ids.push(Number(batch.sampleIds[i]));
      text.push(new TextDecoder().decode(batch.sample(i)));
    }
  }
  assert.deepEqual(ids.toSorted((a, b) => a - b), [...Array(37).keys()]);
  // Rows are sorted by path: cat/0000, cat/0002, …, dog/0001, …
  const byId = new Map(ids.map((id, i) => [id, text[i]]));
  assert.equal(byId.get(0), "sample 0");
  assert.equal(byId.get(19), "sample 1");
  assert.equal(leased.manifestHash, coord.manifestHash);
  assert.equal(leased.plannedBatches, undefined, "leases: not known ahead");
});

Deno.test("plannedBatches: the batches a local loader delivers, last one short, from the resume position", async () => {
  const root = await imageFolderFixture(); // 48 samples
  const store = openManifestStore(await storeDir());
  const count = async (l: DataLoader) => {
    let n = 0;
    while (await l.next()) n++;
    return n;
  };
  for (
    const [opts, want] of [
      [{ batchSizeSamples: 5 }, 10],
      [{ batchSizeSamples: 48 }, 1],
      [{ batchSizeSamples: 7, shuffle: true, seed: 3 }, 7],
      [{ batchSizeSamples: 4, startId: 10, endId: 23 }, 4],
      [{ batchSizeSamples: 4, startId: 9, endId: 9 }, 0],
    ] as const
  ) {
    await using l = loader(root, { ...opts, manifestStore: store, log: quiet });
    assert.equal(l.plannedBatches, undefined, "unknown before open");
    await l.open();
    assert.equal(l.plannedBatches, want, JSON.stringify(opts));
    assert.equal(await count(l), want);
    assert.equal(l.plannedBatches, want, "unchanged by delivering");
  }
  await using first = loader(root, {
    batchSizeSamples: 10,
    manifestStore: store,
    log: quiet,
  });
  await first.next();
  await first.next();
  await using rest = loader(root, {
    batchSizeSamples: 10,
    manifestStore: store,
    log: quiet,
    resumeFrom: first.checkpoint(),
  });
  await rest.open();
  assert.equal(rest.plannedBatches, 3);
  assert.equal(await count(rest), 3);
});
