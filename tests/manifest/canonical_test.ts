import assert from "node:assert/strict";
import { canonicalManifest } from "../../lib/manifest/canonical.ts";
import { parseManifest, serializeManifest } from "../../lib/manifest/tsv.ts";

const enc = new TextEncoder();
const reference = (bytes: Uint8Array) =>
  serializeManifest(parseManifest(bytes, "m.tsv"));

Deno.test("canonicalManifest: canonical input comes back as the very same bytes", async () => {
  const rows = Array.from({ length: 3000 }, (_, i) => ({
    sampleId: i,
    location: `shards/shard-${String(i >> 10).padStart(5, "0")}.tar`,
    byteOffset: 512 + i * 1024,
    byteLength: 1 + i,
    decodeHint: i % 2 ? `mx8:vision:imagefolder;label_id=${i % 7}` : undefined,
  }));
  const bytes = serializeManifest(rows);
  assert.ok(bytes.length > 1 << 17, "several stream pieces' worth");
  assert.equal(await canonicalManifest(bytes, "m.tsv"), bytes);
});

Deno.test("canonicalManifest: non-canonical input gives serializeManifest(parseManifest(input))", async () => {
  const cases = [
    // comments and blank lines in the middle
    "schema_version=0\n# note\n0\ta.jpg\t\t\t\n\n1\tb.jpg\t0\t5\thint\n",
    // rows out of id order (the stream refuses; the fallback sorts)
    "schema_version=0\n1\tb.jpg\t\t\t\n0\ta.jpg\t\t\t\n",
    // no final newline, leading comment
    "# made by hand\nschema_version=0\n0\ta.jpg\t\t\t",
    // header only
    "schema_version=0\n",
    // a byte-order mark before the header
    "\ufeffschema_version=0\n0\ta.jpg\t\t\t\n",
  ];
  for (const text of cases) {
    const bytes = enc.encode(text);
    assert.deepEqual(
      await canonicalManifest(bytes, "m.tsv"),
      reference(bytes),
      JSON.stringify(text),
    );
  }
});

Deno.test("canonicalManifest: malformed input fails with parseManifest's error", async () => {
  const cases = [
    "",
    "schema_version=9\n",
    "schema_version=0\n0\ta.jpg\t1\t\t\n",
    "schema_version=0\n0\ta.jpg\t\t\t\n0\tb.jpg\t\t\t\n",
    "schema_version=0\n0\ta.jpg\t\t\t\n2\tc.jpg\t\t\t\n",
    "schema_version=0\n0\ta.jpg\t\t\tx\ry\r\n",
  ];
  for (const text of cases) {
    const bytes = enc.encode(text);
    let want: Error | undefined;
    try {
      parseManifest(bytes, "m.tsv");
    } catch (err) {
      want = err as Error;
    }
    assert.ok(want, `parseManifest refuses ${JSON.stringify(text)}`);
    await assert.rejects(canonicalManifest(bytes, "m.tsv"), (err: Error) => {
      assert.equal(err.name, want!.name);
      assert.equal(err.message, want!.message);
      return true;
    });
  }
});
