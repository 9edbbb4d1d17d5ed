import assert from "node:assert/strict";
import {
  MANIFEST_CHUNK_BYTES,
  manifestChunks,
} from "../../lib/coordinator/manifest_chunks.ts";

Deno.test("manifestChunks: 1 MiB chunks that concatenate to the input", () => {
  assert.equal(MANIFEST_CHUNK_BYTES, 1048576);
  const bytes = new Uint8Array(3 * MANIFEST_CHUNK_BYTES + 5).map((_, i) => i);
  const chunks = [...manifestChunks(bytes)];
  assert.deepEqual(chunks.map((c) => c.length), [
    MANIFEST_CHUNK_BYTES,
    MANIFEST_CHUNK_BYTES,
    MANIFEST_CHUNK_BYTES,
    5,
  ]);
  assert.deepEqual(chunks.at(-1), bytes.subarray(3 * MANIFEST_CHUNK_BYTES));
  assert.deepEqual(
    [...manifestChunks(bytes.subarray(0, MANIFEST_CHUNK_BYTES))].length,
    1,
  );
  assert.deepEqual([...manifestChunks(new Uint8Array())], []);
  assert.throws(() => [...manifestChunks(bytes, 0)], RangeError);
});
