import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Sha256, sha256Hex } from "../../lib/util/sha256.ts";

const node = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

Deno.test("sha256Hex: the FIPS 180-4 examples and node:crypto on every length 0..300 and a few MB", () => {
  assert.equal(
    sha256Hex(""),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  let seed = 1;
  const bytes = new Uint8Array(3 * 1024 * 1024 + 17).map(() =>
    (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24
  );
  for (let n = 0; n <= 300; n++) {
    assert.equal(
      sha256Hex(bytes.subarray(0, n)),
      node(bytes.subarray(0, n)),
      `length ${n}`,
    );
  }
  assert.equal(sha256Hex(bytes), node(bytes));
  assert.equal(
    sha256Hex("é\u{1f600}"),
    node(new TextEncoder().encode("é\u{1f600}")),
  );
});

Deno.test("Sha256: any split of the input gives the one-shot digest; no update after digest", () => {
  const bytes = new Uint8Array(5000).map((_, i) => (i * 31 + 7) & 0xff);
  const want = node(bytes);
  for (const step of [1, 3, 63, 64, 65, 127, 1000, 4999]) {
    const h = new Sha256();
    for (let at = 0; at < bytes.length; at += step) {
      h.update(bytes.subarray(at, at + step));
    }
    assert.equal(h.digestHex(), want, `pieces of ${step}`);
    assert.equal(h.digestHex(), want, "digest twice");
    assert.throws(() => h.update(bytes), /update after digest/);
  }
});
