/**
 * Test helper for the Python suite: runs the Deno `mix()` over sources and
 * prints one JSON line per batch — source ids, sample ids, labels and the
 * SHA-256 of the batch bytes — so Python can compare bit for bit.
 *
 * `deno run -A mix_reference.ts SOURCES_JSON MIX_OPTIONS_JSON`, where
 * SOURCES_JSON is `{name: [link, options]}` (camelCase options).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { loader } from "../../../../lib/loader/loader.ts";
import { mix, type MixSource } from "../../../../lib/mix/mix.ts";

const [sourcesJson, optionsJson] = Deno.args;
const given = JSON.parse(sourcesJson) as Record<
  string,
  [string, Record<string, unknown>]
>;
const sources: Record<string, MixSource> = {};
for (const [name, [link, options]] of Object.entries(given)) {
  sources[name] = loader(link, { ...options, log: () => {} }) as MixSource;
}
const sha = (b: ArrayBufferView) =>
  createHash("sha256").update(
    new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
  ).digest("hex");
await using m = mix(sources, { ...JSON.parse(optionsJson), log: () => {} });
for await (const b of m) {
  const x = b as unknown as {
    sourceIds: BigInt64Array;
    sampleIds: BigInt64Array;
    labels?: BigInt64Array;
    labelIds?: BigInt64Array;
    images?: { data: ArrayBufferView; shape: number[] };
    payload?: Uint8Array;
  };
  console.log(JSON.stringify({
    source_ids: Array.from(x.sourceIds, Number),
    sample_ids: Array.from(x.sampleIds, Number),
    labels: Array.from(x.labels ?? x.labelIds!, Number),
    shape: x.images?.shape ?? null,
    sha256: sha(x.images?.data ?? x.payload!),
  }));
}
