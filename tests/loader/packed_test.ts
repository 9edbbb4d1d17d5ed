import assert from "node:assert/strict";
import { pack } from "../../lib/pack/pack.ts";
import { ImageFolderLoader } from "../../lib/loader/image_folder.ts";
import { DataLoader } from "../../lib/loader/data_loader.ts";
import { listLocalFiles } from "../../lib/snapshot/list_local.ts";
import { FsManifestStore } from "../../lib/manifest_store/fs.ts";
import { startS3 } from "../_helpers/s3rver.ts";
import { tempDir } from "../_helpers/tmp.ts";
import { assertSameBatches, imageFolderFixture, storeDir } from "./_fixture.ts";

Deno.test("packed dataset: raw bytes come out of the shards; labels come from labels.tsv", async () => {
  await using work = await tempDir();
  const raw = await imageFolderFixture();
  const files = await listLocalFiles(raw);
  await pack(raw, {
    out: `${work.path}/packed`,
    shardMb: 0.05,
    labelMode: "imagefolder",
  });
  const manifestStore = new FsManifestStore(await storeDir());
  const bytes = new DataLoader(`${work.path}/packed`, {
    batchSizeSamples: 7,
    manifestStore,
  });
  let n = 0;
  for await (const b of bytes) {
    for (let i = 0; i < b.sampleIds.length; i++) {
      const f = files[Number(b.sampleIds[i])];
      assert.deepEqual(b.sample(i), await Deno.readFile(`${raw}/${f.rel}`));
      n++;
    }
  }
  assert.equal(n, files.length);
  const images = new ImageFolderLoader(`${work.path}/packed`, {
    batchSizeSamples: 16,
    resizeHw: [8, 8],
    manifestStore,
  });
  for await (const b of images) {
    for (let i = 0; i < b.sampleIds.length; i++) {
      const cls = files[Number(b.sampleIds[i])].rel.split("/")[0];
      assert.equal(images.classes[Number(b.labels[i])], cls);
    }
  }
  assert.deepEqual(images.classes, ["cat", "dog", "eel"]);
});

Deno.test("packed dataset on S3 (pack local → s3rver) equals the local one batch for batch", async () => {
  await using work = await tempDir();
  await using _s3 = await startS3(["packed-ds"]);
  const raw = await imageFolderFixture();
  await pack(raw, {
    out: `${work.path}/packed`,
    shardMb: 0.05,
    labelMode: "imagefolder",
  });
  await pack(raw, {
    out: "s3://packed-ds/train",
    shardMb: 0.05,
    labelMode: "imagefolder",
  });
  const manifestStore = new FsManifestStore(await storeDir());
  const opts = {
    batchSizeSamples: 10,
    resizeHw: [12, 12] as [number, number],
    manifestStore,
  };
  const local = new ImageFolderLoader(`${work.path}/packed`, opts);
  const remote = new ImageFolderLoader("s3://packed-ds/train", opts);
  await assertSameBatches(local, remote);
  assert.deepEqual(remote.classes, local.classes);
});
