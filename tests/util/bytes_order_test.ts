import assert from "node:assert/strict";
import { compareUtf8 } from "../../lib/util/bytes_order.ts";

const enc = new TextEncoder();
function reference(a: string, b: string): number {
  const x = enc.encode(a);
  const y = enc.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

Deno.test("compareUtf8: orders like UTF-8 bytes, astral and private-use characters included", () => {
  // U+FF5E (3 UTF-8 bytes, code unit 0xFF5E) sorts before U+1F600 (4 bytes,
  // code units 0xD83D 0xDE00) in UTF-8 but after it in UTF-16.
  assert.ok(compareUtf8("a\uff5e", "a\u{1f600}") < 0);
  assert.ok("a\uff5e" > "a\u{1f600}"); // the UTF-16 order differs
  assert.ok(compareUtf8("a\ue000", "a\ud800") < 0); // lone surrogate = U+FFFD
  assert.equal(compareUtf8("class_1/x.jpg", "class_1/x.jpg"), 0);
  assert.ok(compareUtf8("a/b", "a/b/c") < 0);
  assert.ok(compareUtf8("a/b/c", "a/b") > 0);
});

Deno.test("compareUtf8: agrees in sign with the byte comparison on random strings", () => {
  const alphabet = [
    "a",
    "b",
    "/",
    ".",
    "é",
    "\u00ff",
    "\u0800",
    "\ue000",
    "\uffff",
    "\u{10000}",
    "\u{1f600}",
    "\ud800",
    "\udfff",
  ];
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const word = () =>
    Array.from(
      { length: Math.floor(rand() * 5) },
      () => alphabet[Math.floor(rand() * alphabet.length)],
    ).join("");
  for (let i = 0; i < 20_000; i++) {
    const a = word();
    const b = rand() < 0.3 ? a + word() : word();
    assert.equal(
      Math.sign(compareUtf8(a, b)),
      Math.sign(reference(a, b)),
      `${JSON.stringify(a)} vs ${JSON.stringify(b)}`,
    );
  }
});
