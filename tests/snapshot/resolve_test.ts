import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import {
  S3Error,
  SnapshotNotFoundError,
  StoreError,
} from "../../lib/errors.ts";
import { canonicalBase, resolveDataset } from "../../lib/snapshot/resolve.ts";
import { FsManifestStore } from "../../lib/manifest_store/fs.ts";
import { intentKey } from "../../lib/manifest_store/keys.ts";
import { S3ManifestStore } from "../../lib/manifest_store/s3.ts";
import { startS3 } from "../_helpers/s3rver.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";

const FILES = {
  "cat/001.jpg": "c1",
  "cat/002.jpg": "c22",
  "dog/001.jpg": "d1",
  "a-b.txt": "x", // sorts before "cat/": '-' (0x2d) < 'c'
  "_mx8/ignored.txt": "no",
  "shards/ignored.tar": "no",
};

Deno.test("indexing a dir lists every file sorted by path, skipping _mx8/ and shards/", async () => {
  await using data = await tempDir();
  await using st = await tempDir();
  await writeTree(data.path, FILES);
  const snap = await resolveDataset(data.path, {
    store: new FsManifestStore(st.path),
  });
  assert.equal(snap.samples, 4);
  assert.equal(snap.indexed, true);
  assert.equal(
    new TextDecoder().decode(snap.manifestBytes),
    "schema_version=0\n0\ta-b.txt\t\t\t\n1\tcat/001.jpg\t\t\t\n2\tcat/002.jpg\t\t\t\n3\tdog/001.jpg\t\t\t\n",
  );
});

Deno.test("plain reuses the current snapshot; @refresh re-indexes; @sha256 pins", async () => {
  await using data = await tempDir();
  await using st = await tempDir();
  const store = new FsManifestStore(st.path);
  await writeTree(data.path, FILES);
  const first = await resolveDataset(data.path, { store });
  await writeTree(data.path, { "dog/002.jpg": "new" });
  const plain = await resolveDataset(data.path + "/", { store });
  assert.equal(plain.indexed, false);
  assert.equal(
    plain.manifestHash,
    first.manifestHash,
    "plain keeps the old snapshot",
  );
  const refreshed = await resolveDataset(data.path + "@refresh", { store });
  assert.equal(refreshed.indexed, true);
  assert.equal(refreshed.samples, 5);
  assert.notEqual(refreshed.manifestHash, first.manifestHash);
  const pinned = await resolveDataset(
    `${data.path}@sha256:${first.manifestHash}`,
    { store },
  );
  assert.equal(pinned.samples, 4);
  assert.equal(pinned.indexed, false);
  const after = await resolveDataset(data.path, { store });
  assert.equal(
    after.manifestHash,
    refreshed.manifestHash,
    "plain follows the refresh",
  );
});

Deno.test("an unknown @sha256 names the store", async () => {
  await using st = await tempDir();
  const h = "12".repeat(32);
  await assert.rejects(
    () =>
      resolveDataset(`/nowhere@sha256:${h}`, {
        store: new FsManifestStore(st.path),
      }),
    (err: unknown) => {
      assert.ok(err instanceof SnapshotNotFoundError);
      assert.ok(err.message.includes(st.path));
      assert.ok(err.message.includes(h));
      return true;
    },
  );
});

Deno.test("a corrupted by-hash object is detected", async () => {
  await using data = await tempDir();
  await using st = await tempDir();
  await writeTree(data.path, { "a.jpg": "a" });
  const store = new FsManifestStore(st.path);
  const snap = await resolveDataset(data.path, { store });
  const path = `${st.path}/by-hash/${snap.manifestHash}`;
  await Deno.chmod(path, 0o644);
  await Deno.writeTextFile(path, "schema_version=0\n");
  await assert.rejects(() => resolveDataset(data.path, { store }), StoreError);
});

Deno.test("a dir, a .tsv and an s3 prefix with the same rows have the same hash", async () => {
  await using data = await tempDir();
  await using st = await tempDir();
  await using s3 = await startS3(["dsb"]);
  const store = new FsManifestStore(st.path);
  await writeTree(data.path, FILES);
  const fromDir = await resolveDataset(data.path, { store });
  const tsv = `${data.path}/_mx8/copy.tsv`;
  await Deno.writeFile(tsv, fromDir.manifestBytes);
  const fromTsv = await resolveDataset(tsv, { store });
  for (const [rel, body] of Object.entries(FILES)) {
    await s3.client.send(
      new PutObjectCommand({ Bucket: "dsb", Key: `raw/${rel}`, Body: body }),
    );
  }
  // A folder marker is not a sample.
  await s3.client.send(
    new PutObjectCommand({ Bucket: "dsb", Key: "raw/empty/", Body: "" }),
  );
  const fromS3 = await resolveDataset("s3://dsb/raw/", { store });
  assert.equal(fromTsv.manifestHash, fromDir.manifestHash);
  assert.equal(fromS3.manifestHash, fromDir.manifestHash);
  assert.equal(fromS3.base, "s3://dsb/raw");
});

Deno.test("a packed dataset's _mx8/manifest.tsv is the manifest (local and S3)", async () => {
  await using data = await tempDir();
  await using st = await tempDir();
  await using s3 = await startS3(["dsb"]);
  const manifest = "schema_version=0\n0\tshards/shard-00000.tar\t512\t3\t\n";
  await writeTree(data.path, {
    "_mx8/manifest.tsv": manifest,
    "shards/shard-00000.tar": "x",
  });
  await s3.client.send(
    new PutObjectCommand({
      Bucket: "dsb",
      Key: "packed/_mx8/manifest.tsv",
      Body: manifest,
    }),
  );
  const store = new FsManifestStore(st.path);
  const local = await resolveDataset(data.path, { store });
  const remote = await resolveDataset("s3://dsb/packed", { store });
  assert.equal(local.samples, 1);
  assert.equal(remote.manifestHash, local.manifestHash);
});

Deno.test("an S3 store holds snapshots; S3 errors name bucket, key and code", async () => {
  await using data = await tempDir();
  await using s3 = await startS3(["stb"]);
  await writeTree(data.path, { "a.jpg": "a" });
  const store = new S3ManifestStore("s3://stb/m", s3.client);
  const snap = await resolveDataset(data.path, { store });
  assert.equal(
    (await store.getCurrent(intentKey(canonicalBase(data.path))))?.hash,
    snap.manifestHash,
  );
  await assert.rejects(
    () => resolveDataset("s3://nobucket/x", { store }),
    (err: unknown) => {
      assert.ok(err instanceof S3Error, String(err));
      assert.match(
        err.message,
        /s3:\/\/nobucket\/x\/_mx8\/manifest\.tsv failed: NoSuchBucket/,
      );
      return true;
    },
  );
});

Deno.test("an empty dataset is a clear error", async () => {
  await using data = await tempDir();
  await using st = await tempDir();
  await assert.rejects(
    () => resolveDataset(data.path, { store: new FsManifestStore(st.path) }),
    /No objects found under/,
  );
});
