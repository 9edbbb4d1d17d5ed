import assert from "node:assert/strict";
import { LinkError } from "../lib/errors.ts";
import { isManifestHash, normalizeBase, parseLink } from "../lib/link.ts";

const H = "0123456789abcdef".repeat(4);

Deno.test("parseLink: a plain base has mode plain", () => {
  assert.deepEqual(parseLink("/data/train"), {
    raw: "/data/train",
    base: "/data/train",
    mode: "plain",
  });
});

Deno.test("parseLink: @refresh splits at the last @", () => {
  const l = parseLink("s3://b/user@host/train@refresh");
  assert.equal(l.mode, "refresh");
  assert.equal(l.base, "s3://b/user@host/train");
});

Deno.test("parseLink: @sha256 pins the hash", () => {
  const l = parseLink(`/d@sha256:${H}`);
  assert.equal(l.mode, "pinned");
  assert.equal(l.manifestHash, H);
  assert.equal(l.base, "/d");
});

Deno.test("parseLink: an unknown suffix stays part of the base", () => {
  assert.equal(parseLink("/data/v@2").base, "/data/v@2");
});

Deno.test("parseLink: malformed or traversal hashes are rejected", () => {
  for (
    const bad of [
      "abc",
      H.toUpperCase(),
      "../../etc/passwd",
      H + "0",
      `${H.slice(1)}/`,
    ]
  ) {
    assert.throws(() => parseLink(`/d@sha256:${bad}`), LinkError);
  }
});

Deno.test("parseLink: empty link and empty base are errors", () => {
  assert.throws(() => parseLink(""), LinkError);
  assert.throws(() => parseLink("@refresh"), /no base/);
});

Deno.test("normalizeBase strips trailing slashes; isManifestHash checks 64 hex", () => {
  assert.equal(normalizeBase("s3://b/p///"), "s3://b/p");
  assert.equal(normalizeBase("/"), "/");
  assert.ok(isManifestHash(H));
  assert.ok(!isManifestHash(H.slice(2)));
});
