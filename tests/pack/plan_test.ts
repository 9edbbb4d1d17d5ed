import assert from "node:assert/strict";
import { entryName, extensionOf } from "../../lib/pack/entry_name.ts";
import {
  dataOffset,
  planShards,
  shardLocation,
  shardName,
} from "../../lib/pack/plan.ts";

const files = (...sizes: number[]) =>
  sizes.map((size, i) => ({ rel: `c/${i}.jpg`, size }));

Deno.test("extensionOf / entryName: last dot of the basename, case kept", () => {
  assert.equal(extensionOf("cat/IMG.JPEG"), ".JPEG");
  assert.equal(extensionOf("a.tar.gz"), ".gz");
  assert.equal(extensionOf("v1.2/readme"), "");
  assert.equal(extensionOf(".hidden"), "");
  assert.equal(extensionOf("x/.hidden.png"), ".png");
  assert.equal(extensionOf("trailing."), ".");
  assert.equal(entryName(0, "a.png"), "00000000000000000000.png");
  assert.equal(entryName(123456, "noext"), "00000000000000123456");
});

Deno.test("shardName / shardLocation", () => {
  assert.equal(shardName(0), "shard-00000.tar");
  assert.equal(shardName(123456), "shard-123456.tar");
  assert.equal(shardLocation(7), "shards/shard-00007.tar");
});

Deno.test("planShards: offsets and sizes of one shard", () => {
  const plan = planShards(files(1000, 512, 1), 1 << 20, "src");
  assert.deepEqual([...plan.shardOf], [0, 0, 0]);
  assert.deepEqual([...plan.headerOffset], [0, 1536, 2560]);
  assert.deepEqual([0, 1, 2].map((i) => dataOffset(plan, i)), [
    512,
    2048,
    3072,
  ]);
  assert.deepEqual(plan.shardSizes, [3584 + 1024]);
  assert.equal(plan.dataBytes, 1513);
});

Deno.test("planShards: a shard closes before it would exceed the limit", () => {
  // Each entry spans 1024 bytes; end blocks 1024: 3 entries fit in 4096.
  const plan = planShards(files(...Array(7).fill(100)), 4096, "src");
  assert.deepEqual([...plan.shardOf], [0, 0, 0, 1, 1, 1, 2]);
  assert.deepEqual(plan.shardSizes, [4096, 4096, 2048]);
  for (const s of plan.shardSizes) assert.ok(s <= 4096);
});

Deno.test("planShards: a file bigger than a shard gets a shard of its own", () => {
  const plan = planShards(files(100, 10_000, 100), 4096, "src");
  assert.deepEqual([...plan.shardOf], [0, 1, 2]);
  assert.deepEqual(plan.shardSizes, [2048, 512 + 10_240 + 1024, 2048]);
});

Deno.test("planShards: a zero-length file is an error naming it", () => {
  assert.throws(
    () => planShards(files(5, 0), 4096, "/data/src/"),
    /Cannot pack \/data\/src\/c\/1\.jpg: the file is empty \(0 bytes\)/,
  );
});

Deno.test("planShards: an extension too long for a tar name is an error naming it", () => {
  const rel = "a." + "x".repeat(80);
  assert.throws(
    () => planShards([{ rel, size: 1 }], 4096, "s3://b/p"),
    /Cannot pack s3:\/\/b\/p\/a\.x+: its extension is too long/,
  );
  assert.doesNotThrow(() =>
    planShards([{ rel: "a." + "x".repeat(79), size: 1 }], 4096, "s")
  );
});
