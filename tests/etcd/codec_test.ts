import assert from "node:assert/strict";
import {
  decodeBytes,
  decodeText,
  encodeBytes,
  encodeText,
  prefixEnd,
  readId,
  readInt,
} from "../../lib/etcd/codec.ts";

Deno.test("codec: text and bytes round-trip through base64", () => {
  for (const s of ["", "/mx8/jobs/a", "ünïcødé ✓", "x".repeat(100_000)]) {
    assert.equal(decodeText(encodeText(s)), s);
  }
  const bytes = new Uint8Array(70_000).map((_, i) => i % 256);
  assert.deepEqual(decodeBytes(encodeBytes(bytes)), bytes);
  assert.equal(encodeText("a"), "YQ==");
  assert.equal(decodeText(undefined), "");
});

Deno.test("codec: bad base64 is a SyntaxError that quotes it", () => {
  assert.throws(
    () => decodeBytes("!!notbase64"),
    /Invalid base64.*!!notbase64/,
  );
});

Deno.test("codec: int64 strings, omitted zeros, lease ids past 2^53", () => {
  assert.equal(readInt("42", "revision"), 42);
  assert.equal(readInt(undefined, "revision"), 0);
  assert.throws(() => readInt("9223372036854775807", "revision"), /"revision"/);
  assert.throws(() => readInt("abc", "TTL"), /"TTL" is not an integer/);
  assert.equal(readId("7587867986541139213"), "7587867986541139213");
  assert.equal(readId(undefined), "0");
  assert.throws(() => readId("1e5"), /lease id/);
});

Deno.test("codec: prefixEnd bumps the last byte below 0xff", () => {
  assert.equal(decodeText(prefixEnd("/mx8/a/")), "/mx8/a0");
  assert.equal(decodeText(prefixEnd("ab")), "ac");
  assert.deepEqual(
    decodeBytes(prefixEnd("a\u00ff")),
    new Uint8Array([0x61, 0xc3, 0xc0]),
  );
});
