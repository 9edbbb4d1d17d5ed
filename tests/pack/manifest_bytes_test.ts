import assert from "node:assert/strict";
import { imageFolderHint } from "../../lib/manifest/row.ts";
import { concatBytes } from "../../lib/util/bytes_concat.ts";
import { serializeManifest } from "../../lib/manifest/tsv.ts";
import {
  manifestBytes,
  manifestChunks,
} from "../../lib/pack/manifest_bytes.ts";
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

Deno.test("manifestChunks: whole rows per chunk, one reused buffer, joined = manifestBytes", () => {
  const files = Array.from({ length: 500 }, (_, i) => ({
    rel: `c${i % 4}/f${i}.jpg`,
    size: 1 + (i * 104729) % 900_000,
  }));
  const plan = planShards(files, 4 << 20, "src");
  const labelIds = Int32Array.from(files, (_, i) => i % 4);
  const copies: Uint8Array[] = [];
  const views = new Set<ArrayBufferLike>();
  for (const chunk of manifestChunks(plan, labelIds, 1024)) {
    assert.ok(chunk.length <= 1024 + 200);
    assert.equal(chunk.at(-1), 0x0a, "a chunk ends with a whole row");
    views.add(chunk.buffer);
    copies.push(chunk.slice());
  }
  assert.ok(copies.length > 20, `${copies.length} chunks`);
  assert.equal(views.size, 1, "every chunk is a view of the same buffer");
  assert.deepEqual(concatBytes(copies), manifestBytes(plan, labelIds));
});

Deno.test("manifestChunks: per-row hints (a video's index) replace the label hint, and a row longer than a chunk is whole", () => {
  const files = Array.from({ length: 40 }, (_, i) => ({
    rel: `c${i % 2}/v${i}.mp4`,
    size: 1000 + i,
  }));
  const plan = planShards(files, 1 << 20, "src");
  const labelIds = Int32Array.from(files, (_, i) => i % 2);
  // Row 7's hint is longer than a chunk of 1024 bytes.
  const rowHints = files.map((_, i) =>
    i % 3 === 0
      ? undefined
      : `mx8:video;keys=${"30720,".repeat(i === 7 ? 400 : 3)}0;label_id=${
        i % 2
      }`
  );
  const rows = files.map((f, i) => ({
    sampleId: i,
    location: shardLocation(plan.shardOf[i]),
    byteOffset: dataOffset(plan, i),
    byteLength: f.size,
    decodeHint: rowHints[i] ?? imageFolderHint(labelIds[i]),
  }));
  const copies: Uint8Array[] = [];
  for (const c of manifestChunks(plan, labelIds, 1024, rowHints)) {
    copies.push(c.slice()); // each chunk is valid until the next
  }
  for (const c of copies) assert.equal(c.at(-1), 0x0a);
  assert.deepEqual(concatBytes(copies), serializeManifest(rows));
});
