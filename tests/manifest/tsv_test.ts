import assert from "node:assert/strict";
import { ManifestError } from "../../lib/errors.ts";
import {
  manifestHash,
  parseManifest,
  parseManifestRow,
  serializeManifest,
} from "../../lib/manifest/tsv.ts";
import { streamManifestRows } from "../../lib/manifest/stream.ts";
import { sha256Hex } from "../../lib/util/sha256.ts";

const GOOD = [
  "schema_version=0",
  "0\tshards/shard-00000.tar\t512\t100\tmx8:vision:imagefolder;label_id=0",
  "1\ts3://b/k.jpg\t\t\t",
  "2\t/abs/x.png\t\t\t",
  "",
].join("\n");

Deno.test("parseManifest reads rows, ranges and hints", () => {
  const rows = parseManifest(GOOD, "m.tsv");
  assert.deepEqual(rows[0], {
    sampleId: 0,
    location: "shards/shard-00000.tar",
    byteOffset: 512,
    byteLength: 100,
    decodeHint: "mx8:vision:imagefolder;label_id=0",
  });
  assert.deepEqual(rows[1], { sampleId: 1, location: "s3://b/k.jpg" });
  assert.equal(rows.length, 3);
});

Deno.test("serializeManifest is canonical and the hash is sha256 of those bytes", () => {
  const bytes = serializeManifest(parseManifest(GOOD, "m.tsv"));
  assert.equal(new TextDecoder().decode(bytes), GOOD);
  assert.equal(manifestHash(bytes), sha256Hex(GOOD));
});

Deno.test("parseManifest skips blank lines and comments; unsorted rows give the same hash", () => {
  const messy =
    "# made by hand\n\nschema_version=0\n2\t/abs/x.png\t\t\t\n# c\n" +
    "1\ts3://b/k.jpg\t\t\t\n\n0\tshards/shard-00000.tar\t512\t100\tmx8:vision:imagefolder;label_id=0\n";
  const a = manifestHash(serializeManifest(parseManifest(messy, "a")));
  const b = manifestHash(serializeManifest(parseManifest(GOOD, "b")));
  assert.equal(a, b);
});

function rejects(text: string, re: RegExp): void {
  assert.throws(() => parseManifest(text, "bad.tsv"), (err: unknown) => {
    assert.ok(err instanceof ManifestError, String(err));
    assert.match(err.message, re);
    return true;
  });
}

Deno.test("malformed rows are rejected with file:line: reason", () => {
  const h = "schema_version=0\n";
  rejects(h + "0\ta\t\t\n", /^bad\.tsv:2: expected 5 tab-separated columns/);
  rejects(
    h + "x\ta\t\t\t\n",
    /^bad\.tsv:2: sample_id "x" is not a non-negative integer/,
  );
  rejects(h + "-1\ta\t\t\t\n", /bad\.tsv:2: sample_id "-1"/);
  rejects(h + "0\t\t\t\t\n", /bad\.tsv:2: location is empty/);
  rejects(
    h + "0\ta\t5\t\t\n",
    /bad\.tsv:2: byte_offset and byte_length must both be present/,
  );
  rejects(h + "0\ta\t5\t0\t\n", /bad\.tsv:2: byte_length must be > 0/);
  rejects(h + "0\ta\t\t\th\r\r\n", /bad\.tsv:2: a CR inside a row/);
  rejects(h + "0\ta\tb\t\t\t\n", /bad\.tsv:2: expected 5 tab-separated/);
  rejects(
    h + "0\ta\t\t\tmx8:vision:imagefolder;label_id=-1\n",
    /bad\.tsv:2: decode_hint "mx8:vision:imagefolder;label_id=-1" has label_id "-1"/,
  );
  rejects(
    h + "0\ta\t\t\tmx8:vision:imagefolder;label_id=x\n",
    /bad\.tsv:2: .*label_id "x": expected an integer/,
  );
  rejects(h + "0\ta\t1.5\t2\t\n", /bad\.tsv:2: byte_offset "1.5"/);
});

Deno.test("CRLF line endings read like LF and hash as the LF form", () => {
  const lf =
    "schema_version=0\n0\ta.jpg\t\t\tmx8:vision:imagefolder;label_id=0\n";
  const crlf = lf.replaceAll("\n", "\r\n");
  assert.deepEqual(parseManifest(crlf, "m.tsv"), parseManifest(lf, "m.tsv"));
  assert.equal(
    manifestHash(serializeManifest(parseManifest(crlf, "m.tsv"))),
    manifestHash(new TextEncoder().encode(lf)),
  );
});

Deno.test("serializeManifest never writes a location that would not parse back", () => {
  for (const location of ["a\tb.jpg", "a\nb.jpg", "a\rb.jpg", ""]) {
    assert.throws(
      () => serializeManifest([{ sampleId: 0, location }]),
      (err: unknown) =>
        err instanceof ManifestError && /sample 0/.test(err.message),
    );
  }
});

Deno.test("duplicate and missing ids are rejected naming the line", () => {
  rejects(
    "schema_version=0\n0\ta\t\t\t\n0\tb\t\t\t\n",
    /bad\.tsv:3: duplicate sample_id 0 \(first on line 2\)/,
  );
  rejects(
    "schema_version=0\n0\ta\t\t\t\n2\tb\t\t\t\n",
    /bad\.tsv:3: sample_id 2 is out of range/,
  );
});

Deno.test("a missing or wrong header is rejected", () => {
  rejects("0\ta\t\t\t\n", /bad\.tsv:1: first line must be "schema_version=0"/);
  rejects("schema_version=7\n", /unsupported schema_version 7/);
  rejects("", /empty manifest/);
});

Deno.test("parseManifestRow keeps hints verbatim", () => {
  assert.equal(parseManifestRow("3\tx\t\t\ta;b=c", "f", 9).decodeHint, "a;b=c");
});

Deno.test("streamManifestRows yields rows across chunk boundaries in bounded state", async () => {
  const bytes = serializeManifest(
    Array.from(
      { length: 1000 },
      (_, i) => ({ sampleId: i, location: `f/${i}.jpg` }),
    ),
  );
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += 7) yield bytes.subarray(i, i + 7);
  }
  const ids: number[] = [];
  for await (const row of streamManifestRows(chunks(), "stream")) {
    ids.push(row.sampleId);
  }
  assert.equal(ids.length, 1000);
  assert.equal(ids[999], 999);
});

Deno.test("streamManifestRows rejects out-of-order rows", async () => {
  async function* one() {
    yield new TextEncoder().encode("schema_version=0\n1\ta\t\t\t\n");
  }
  await assert.rejects(async () => {
    for await (const _ of streamManifestRows(one(), "s")) { /* drain */ }
  }, /s:2: sample_id 1 out of order: expected 0/);
});
