/**
 * A loader reading a packed dataset while `mx8 pack --overwrite` replaces
 * it never returns the new pack's bytes as the old snapshot's samples: a
 * shard it holds open keeps its bytes; a shard opened after the repack is
 * an error naming the dataset and the fix.
 */
import assert from "node:assert/strict";
import { DataLoader } from "../../lib/loader/data_loader.ts";
import { openManifestStore } from "../../lib/manifest_store/open.ts";
import { runMx8 } from "../_helpers/mx8.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";
import { startS3 } from "../_helpers/s3rver.ts";

function tree(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < 60; i++) {
    out[`c${i % 2}/${String(i).padStart(4, "0")}.bin`] = `${tag}${
      String(i).padStart(4, "0")
    } `.repeat(500);
  }
  return out;
}

/** Reads `dst` through a DataLoader, repacking it from `b` after the first batch. */
async function readAcrossRepack(
  dst: string,
  storeDir: string,
  repack: () => Promise<void>,
): Promise<{ read: string[]; error: unknown }> {
  await using loader = new DataLoader(dst, {
    batchSizeSamples: 2,
    prefetchBatches: 1,
    manifestStore: openManifestStore(storeDir),
    log: () => {},
  });
  const dec = new TextDecoder();
  const read: string[] = [];
  const it = loader[Symbol.asyncIterator]();
  let error: unknown;
  try {
    for (let r = await it.next(); !r.done; r = await it.next()) {
      for (let i = 0; i < r.value.sampleIds.length; i++) {
        read.push(dec.decode(r.value.sample(i)).slice(0, 5));
      }
      if (read.length === 2) await repack();
    }
  } catch (err) {
    error = err;
  }
  return { read, error };
}

Deno.test("DataLoader: a local dataset repacked while it is read gives its old bytes or a clear error, never the new pack's bytes", async () => {
  await using a = await tempDir();
  await using b = await tempDir();
  await using dst = await tempDir();
  await using st = await tempDir();
  await writeTree(a.path, tree("A"));
  await writeTree(b.path, tree("B"));
  const pack = (src: string, ...more: string[]) =>
    runMx8([
      "pack",
      "--in",
      src,
      "--out",
      dst.path,
      "--shard-mb",
      "0.02",
      ...more,
    ]);
  assert.equal((await pack(a.path)).code, 0);
  const { read, error } = await readAcrossRepack(
    dst.path,
    st.path,
    async () => {
      const repacked = await pack(b.path, "--overwrite");
      assert.equal(repacked.code, 0, repacked.stderr);
    },
  );
  assert.deepEqual(read.filter((s) => !s.startsWith("A")), []);
  // 60 samples over 10 shards: the later shards were opened after the repack.
  assert.ok(read.length < 60, `${read.length} samples read`);
  assert.match(
    String(error),
    new RegExp(
      `${dst.path} was repacked \\(or is being repacked\\) since it was resolved to manifest sha256:[0-9a-f]{64}: ` +
        `${dst.path}/shards/shard-\\d{5}\\.tar no longer holds its samples`,
    ),
  );
});

Deno.test("DataLoader: an S3 dataset repacked while it is read gives its old bytes or a clear error, never the new pack's bytes", async () => {
  await using a = await tempDir();
  await using b = await tempDir();
  await using st = await tempDir();
  await using s3 = await startS3(["out"]);
  await writeTree(a.path, tree("A"));
  await writeTree(b.path, tree("B"));
  const dst = "s3://out/train";
  const pack = (src: string, ...more: string[]) =>
    runMx8(
      ["pack", "--in", src, "--out", dst, "--shard-mb", "0.02", ...more],
      s3.env,
    );
  assert.equal((await pack(a.path)).code, 0);
  const { read, error } = await readAcrossRepack(dst, st.path, async () => {
    const repacked = await pack(b.path, "--overwrite");
    assert.equal(repacked.code, 0, repacked.stderr);
  });
  assert.deepEqual(read.filter((s) => !s.startsWith("A")), []);
  assert.ok(read.length < 60, `${read.length} samples read`);
  assert.match(
    String(error),
    new RegExp(
      `(${dst} was repacked \\(or is being repacked\\) since it was resolved|` +
        `${dst}/shards/shard-\\d{5}\\.tar was replaced since it was first read)`,
    ),
  );
});
