import assert from "node:assert/strict";
import { StoreError } from "../../lib/errors.ts";
import { FsManifestStore } from "../../lib/manifest_store/fs.ts";
import { intentKey, safeComponent } from "../../lib/manifest_store/keys.ts";
import { S3ManifestStore } from "../../lib/manifest_store/s3.ts";
import type { ManifestStore } from "../../lib/manifest_store/store.ts";
import { sha256Hex } from "../../lib/util/sha256.ts";
import { startS3 } from "../_helpers/s3rver.ts";
import { tempDir } from "../_helpers/tmp.ts";

const enc = new TextEncoder();
const H = "ab".repeat(32);

async function exerciseStore(store: ManifestStore): Promise<void> {
  assert.equal(await store.getManifest(H), null);
  await store.putManifest(H, enc.encode("one"));
  await store.putManifest(H, enc.encode("one")); // same bytes again: fine
  assert.deepEqual(await store.getManifest(H), enc.encode("one"));
  await assert.rejects(
    () => store.putManifest(H, enc.encode("two")),
    StoreError,
  );
  assert.deepEqual(
    await store.getManifest(H),
    enc.encode("one"),
    "conflict must not overwrite",
  );

  // Labels are write-once too: a different file for H is handed back,
  // never stored.
  assert.equal(await store.getLabels(H), null);
  assert.equal(await store.putLabels(H, enc.encode("0\tcat\n")), null);
  assert.equal(await store.putLabels(H, enc.encode("0\tcat\n")), null);
  assert.deepEqual(
    await store.putLabels(H, enc.encode("0\tant\n")),
    enc.encode("0\tcat\n"),
  );
  assert.deepEqual(await store.getLabels(H), enc.encode("0\tcat\n"));

  const key = intentKey("/data/x");
  assert.equal(await store.getCurrent(key), null);
  await store.setCurrent(key, H);
  const cur = await store.getCurrent(key);
  assert.equal(cur?.hash, H);
  assert.ok(cur!.updatedAtMs > Date.now() - 120_000);
  await store.setCurrent(key, "cd".repeat(32), "listing", 'etag "x"');
  const withIdentity = await store.getCurrent(key);
  assert.equal(withIdentity?.hash, "cd".repeat(32));
  assert.equal(withIdentity?.source, "listing");
  assert.equal(withIdentity?.identity, 'etag "x"');

  const release = await store.tryLock(key, 60_000);
  assert.ok(release, "first lock is granted");
  assert.equal(await store.tryLock(key, 60_000), null, "held lock is refused");
  await release!();
  const again = await store.tryLock(key, 60_000);
  assert.ok(again, "released lock can be taken again");
  // A lock older than the stale limit is taken over.
  const takeover = await store.tryLock(key, -1);
  assert.ok(takeover, "stale lock is taken over");
  await takeover!();

  for (const bad of ["../x", "a/b", "a\\b", ".."]) {
    await assert.rejects(() => store.getManifest(bad), /must not contain/);
    await assert.rejects(() => store.setCurrent(bad, H), /must not contain/);
  }
}

Deno.test("fs store: create-exclusive manifests, atomic current, locks, traversal refused", async () => {
  await using dir = await tempDir();
  await exerciseStore(new FsManifestStore(dir.path));
});

Deno.test("s3 store (s3rver): same contract as the fs store", async () => {
  await using s3 = await startS3(["store"]);
  await exerciseStore(
    new S3ManifestStore("s3://store/mx8/manifests", s3.client),
  );
});

Deno.test("intent key is sha256_ + sha256 of the base without trailing slash", () => {
  assert.equal(intentKey("s3://b/p/"), "sha256_" + sha256Hex("s3://b/p"));
  assert.equal(intentKey("s3://b/p"), intentKey("s3://b/p//"));
});

Deno.test("safeComponent accepts plain names", () => {
  assert.equal(safeComponent("x", H), H);
});
