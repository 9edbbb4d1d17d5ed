/**
 * Test helper for the Python suite: runs the Deno loader on a link and
 * prints one JSON line per batch — ids, labels and the SHA-256 of the batch
 * bytes (image tensor or raw payload) — so Python can compare bit for bit.
 *
 * `deno run -A reference.ts LINK OPTIONS_JSON`
 *
 * @module
 */
import { createHash } from "node:crypto";
import { loader } from "../../../../lib/loader/loader.ts";

const [link, json] = Deno.args;
const options = { ...JSON.parse(json), log: () => {} };
const sha = (b: ArrayBufferView) =>
  createHash("sha256").update(
    new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
  ).digest("hex");
await using l = loader(link, options);
for await (const b of l) {
  const line = "images" in b
    ? {
      sample_ids: Array.from(b.sampleIds, Number),
      labels: Array.from(b.labels, Number),
      shape: b.images.shape,
      sha256: sha(b.images.data),
    }
    : {
      sample_ids: Array.from(b.sampleIds, Number),
      labels: Array.from(b.labelIds, Number),
      offsets: Array.from(b.offsets, Number),
      sha256: sha(b.payload),
    };
  console.log(JSON.stringify(line));
}
