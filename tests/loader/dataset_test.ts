import assert from "node:assert/strict";
import { pack } from "../../lib/pack/pack.ts";
import { openDataset, openDatasetSummary } from "../../lib/loader/dataset.ts";
import { serializeManifest } from "../../lib/manifest/tsv.ts";
import { FsManifestStore } from "../../lib/manifest_store/fs.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";
import { storeDir } from "./_fixture.ts";

Deno.test("openDatasetSummary gives the same snapshot, root and classes as openDataset", async () => {
  await using work = await tempDir();
  await writeTree(`${work.path}/raw`, {
    "cat/1.jpg": "a",
    "cat/2.jpg": "bb",
    "dog/3.jpg": "ccc",
    "eel/4.jpg": "dddd",
  });
  await pack(`${work.path}/raw`, { out: `${work.path}/packed` });
  await writeTree(`${work.path}/flat`, { "1.bin": "x", "2.bin": "y" });
  const store = new FsManifestStore(await storeDir());
  const cases: [string, string[]][] = [
    [`${work.path}/raw`, ["cat", "dog", "eel"]], // folder classes
    [`${work.path}/packed`, ["cat", "dog", "eel"]], // hints + labels.tsv
    [`${work.path}/flat`, []], // no labels
  ];
  for (const [link, classes] of cases) {
    const full = await openDataset(link, store);
    const summary = await openDatasetSummary(link, store);
    assert.deepEqual(full.classes, classes, link);
    assert.deepEqual(summary.classes, classes, link);
    assert.equal(summary.root, full.root, link);
    assert.equal(summary.snapshot.manifestHash, full.snapshot.manifestHash);
    assert.equal(summary.snapshot.samples, full.rows.length);
  }
  const folder = await openDataset(`${work.path}/raw`, store);
  assert.deepEqual([...folder.labelIds], [0, 0, 1, 2]);
});

Deno.test("openDatasetSummary rejects a label id beyond labels.tsv, like openDataset", async () => {
  await using work = await tempDir();
  const rows = [0, 1].map((i) => ({
    sampleId: i,
    location: `shards/shard-00000.tar`,
    byteOffset: 512 + i * 1024,
    byteLength: 1,
    decodeHint: `mx8:vision:imagefolder;label_id=${i * 5}`,
  }));
  await Deno.mkdir(`${work.path}/d/_mx8`, { recursive: true });
  await Deno.writeFile(
    `${work.path}/d/_mx8/manifest.tsv`,
    serializeManifest(rows),
  );
  await Deno.writeTextFile(
    `${work.path}/d/_mx8/labels.tsv`,
    "schema_version=1\n0\tcat\n1\tdog\n",
  );
  const store = new FsManifestStore(await storeDir());
  for (const open of [openDataset, openDatasetSummary]) {
    await assert.rejects(
      open(`${work.path}/d`, store),
      /has 2 labels but the manifest uses label_id 5: repack the dataset/,
    );
  }
});

Deno.test("labels are pinned with their manifest: a pinned link keeps them; other names for the same rows are refused, never given to the pinned hash", async () => {
  await using work = await tempDir();
  await writeTree(`${work.path}/raw`, { "cat/1.jpg": "a", "dog/2.jpg": "bb" });
  const out = `${work.path}/packed`;
  const { manifestHash } = await pack(`${work.path}/raw`, { out });
  const store = new FsManifestStore(await storeDir());
  assert.deepEqual((await openDataset(out, store)).classes, ["cat", "dog"]);
  // Same rows, other names (CRLF, as an editor might save it).
  await Deno.writeTextFile(
    `${out}/_mx8/labels.tsv`,
    "schema_version=1\r\n0\tkitten\r\n1\tpuppy\r\n",
  );
  const pinned = await openDataset(`${out}@sha256:${manifestHash}`, store);
  assert.deepEqual(pinned.classes, ["cat", "dog"]);
  await assert.rejects(
    openDataset(out, store),
    new RegExp(
      `labels\\.tsv names other classes than the labels recorded with manifest sha256:${manifestHash}`,
    ),
  );
  assert.deepEqual(
    (await openDatasetSummary(`${out}@sha256:${manifestHash}`, store)).classes,
    ["cat", "dog"],
  );
});
