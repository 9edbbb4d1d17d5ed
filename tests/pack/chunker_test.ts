import assert from "node:assert/strict";
import { Chunker } from "../../lib/pack/chunker.ts";

Deno.test("Chunker: exact chunks, bytes in order, fresh buffers without reuse", async () => {
  const chunks: Uint8Array[] = [];
  const c = new Chunker(5, (b) => {
    chunks.push(b);
    return Promise.resolve();
  });
  const all = Uint8Array.from({ length: 23 }, (_, i) => i);
  await c.write(all.subarray(0, 2));
  await c.write(all.subarray(2, 14));
  await c.write(all.subarray(14));
  await c.end();
  assert.deepEqual(chunks.map((b) => b.length), [5, 5, 5, 5, 3]);
  assert.deepEqual(
    chunks.flatMap((b) => [...b]),
    [...all],
  );
  assert.notEqual(chunks[0].buffer, chunks[1].buffer);
});

Deno.test("Chunker: nextBuffer supplies the buffers (one reused here)", async () => {
  const buffers = new Set<ArrayBufferLike>();
  const shared = new Uint8Array(4);
  const c = new Chunker(4, (b) => {
    buffers.add(b.buffer);
    return Promise.resolve();
  }, () => shared);
  await c.write(new Uint8Array(17));
  await c.end();
  assert.deepEqual([...buffers], [shared.buffer]);
  const bad = new Chunker(4, () => Promise.resolve(), () => new Uint8Array(3));
  await assert.rejects(bad.write(new Uint8Array(1)), RangeError);
});
