import assert from "node:assert/strict";
import { imageFolderHint } from "../../lib/manifest/row.ts";
import { serializeManifest } from "../../lib/manifest/tsv.ts";
import { manifestBytes } from "../../lib/pack/manifest_bytes.ts";
import { dataOffset, planShards, shardLocation } from "../../lib/pack/plan.ts";

Deno.test("manifestBytes: the bytes serializeManifest gives for the pack's rows", () => {
  const files = Array.from({ length: 300 }, (_, i) => ({
    rel: `c${i % 3}/é${i}.jpg`,
    size: 1 + (i * 7919) % 5000,
  }));
  const plan = planShards(files, 64 * 1024, "src");
  assert.ok(plan.shardSizes.length > 3);
  const labelIds = Int32Array.from(files, (_, i) => i % 3);
  for (const ids of [undefined, labelIds]) {
    const rows = files.map((f, i) => ({
      sampleId: i,
      location: shardLocation(plan.shardOf[i]),
      byteOffset: dataOffset(plan, i),
      byteLength: f.size,
      decodeHint: ids ? imageFolderHint(ids[i]) : undefined,
    }));
    assert.deepEqual(manifestBytes(plan, ids), serializeManifest(rows));
  }
});
