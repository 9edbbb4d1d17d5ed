import assert from "node:assert/strict";
import {
  assignLabelIds,
  encodeLabel,
  parseLabels,
  serializeLabels,
} from "../../lib/manifest/labels.ts";
import { imageFolderHint, labelIdOfHint } from "../../lib/manifest/row.ts";

Deno.test("labels get ids over names sorted by UTF-8 bytes", () => {
  // "Z" (0x5A) < "a" (0x61) < "é" (0xC3 0xA9) < "😀" (0xF0…); UTF-16 order would put 😀 before ｆ.
  assert.deepEqual(assignLabelIds(["é", "a", "Z", "😀", "ｆ", "a"]), [
    "Z",
    "a",
    "é",
    "ｆ",
    "😀",
  ]);
});

Deno.test("labels are percent-encoded except A-Z a-z 0-9 - _ . ~", () => {
  assert.equal(
    encodeLabel("golden retriever/ä~x_y.z-1"),
    "golden%20retriever%2F%C3%A4~x_y.z-1",
  );
  assert.equal(encodeLabel("a\tb"), "a%09b");
});

Deno.test("labels TSV round-trips with a schema_version=1 header", () => {
  const labels = assignLabelIds(["cat", "dog house", "ñandú"]);
  const bytes = serializeLabels(labels);
  const text = new TextDecoder().decode(bytes);
  assert.equal(
    text,
    "schema_version=1\n0\tcat\n1\tdog%20house\n2\t%C3%B1and%C3%BA\n",
  );
  assert.deepEqual(parseLabels(bytes, "l.tsv"), labels);
});

Deno.test("bad labels files are rejected with file:line", () => {
  assert.throws(
    () => parseLabels("schema_version=0\n", "l.tsv"),
    /l\.tsv:1: first line/,
  );
  assert.throws(
    () => parseLabels("schema_version=1\n1\tx\n", "l.tsv"),
    /l\.tsv:2: label_id "1" out of order/,
  );
  assert.throws(
    () => parseLabels("schema_version=1\n0\t%ZZ\n", "l.tsv"),
    /l\.tsv:2: .*percent/,
  );
});

Deno.test("ImageFolder hints carry the label id", () => {
  assert.equal(labelIdOfHint(imageFolderHint(12)), 12);
  assert.equal(labelIdOfHint("other"), undefined);
  assert.equal(labelIdOfHint(undefined), undefined);
});

Deno.test("parseLabels: CRLF line endings read like LF (no \\r in a name)", () => {
  const lf = new TextDecoder().decode(serializeLabels(["cat", "dog"]));
  assert.deepEqual(parseLabels(lf.replaceAll("\n", "\r\n"), "l.tsv"), [
    "cat",
    "dog",
  ]);
});
