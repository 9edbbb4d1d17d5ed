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

function tree(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < 60; i++) {
    out[`c${i % 2}/${String(i).padStart(4, "0")}.bin`] = `${tag}${
      String(i).padStart(4, "0")
    } `.repeat(500);
  }
  return out;
}

Deno.test("DataLoader: a dataset repacked while it is read gives its old bytes or a clear error, never the new pack's bytes", async () => {
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
  await using loader = new DataLoader(dst.path, {
    batchSizeSamples: 2,
    prefetchBatches: 1,
    manifestStore: openManifestStore(st.path),
    log: () => {},
  });
  const dec = new TextDecoder();
  const read: string[] = [];
  const it = loader[Symbol.asyncIterator]();
  const first = await it.next();
  assert.ok(!first.done);
  for (let i = 0; i < first.value.sampleIds.length; i++) {
    read.push(dec.decode(first.value.sample(i)).slice(0, 5));
  }
  const repacked = await pack(b.path, "--overwrite");
  assert.equal(repacked.code, 0, repacked.stderr);
  let error: unknown;
  try {
    for (let r = await it.next(); !r.done; r = await it.next()) {
      for (let i = 0; i < r.value.sampleIds.length; i++) {
        read.push(dec.decode(r.value.sample(i)).slice(0, 5));
      }
    }
  } catch (err) {
    error = err;
  }
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
