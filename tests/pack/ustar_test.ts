import assert from "node:assert/strict";
import {
  TAR_BLOCK,
  TAR_END,
  tarEntrySpan,
  tarPadding,
  ustarHeader,
} from "../../lib/pack/ustar.ts";

const dec = new TextDecoder();
const field = (h: Uint8Array, at: number, len: number) =>
  dec.decode(h.subarray(at, at + len));

Deno.test("ustarHeader: fields of a regular file with mode 0644, uid/gid 0, mtime 0", () => {
  const h = ustarHeader("00000000000000000042.jpg", 1234);
  assert.equal(h.length, TAR_BLOCK);
  assert.equal(field(h, 0, 25), "00000000000000000042.jpg\0");
  assert.equal(field(h, 100, 8), "0000644\0");
  assert.equal(field(h, 108, 8), "0000000\0");
  assert.equal(field(h, 116, 8), "0000000\0");
  assert.equal(field(h, 124, 12), "00000002322\0");
  assert.equal(field(h, 136, 12), "00000000000\0");
  assert.equal(field(h, 156, 1), "0");
  assert.equal(field(h, 257, 8), "ustar\x0000");
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) {
    sum += i >= 148 && i < 156 ? 0x20 : h[i];
  }
  assert.equal(field(h, 148, 8), sum.toString(8).padStart(6, "0") + "\0 ");
});

Deno.test("ustarHeader: sizes of 8 GiB and more use GNU base-256", () => {
  const size = 8 * 2 ** 30 + 5;
  const h = ustarHeader("x.bin", size);
  assert.equal(h[124], 0x80);
  let v = 0;
  for (let i = 125; i < 136; i++) v = v * 256 + h[i];
  assert.equal(v, size);
  assert.equal(field(ustarHeader("y", 8 ** 11 - 1), 124, 12), "77777777777\0");
});

Deno.test("ustarHeader: rejects empty or over-long names and bad sizes", () => {
  assert.throws(() => ustarHeader("", 1), RangeError);
  assert.throws(() => ustarHeader("a".repeat(101), 1), RangeError);
  assert.doesNotThrow(() => ustarHeader("a".repeat(100), 1));
  assert.throws(() => ustarHeader("a", -1), RangeError);
  assert.throws(() => ustarHeader("a", 1.5), RangeError);
});

Deno.test("tarPadding / tarEntrySpan / TAR_END", () => {
  assert.equal(tarPadding(512), 0);
  assert.equal(tarPadding(1), 511);
  assert.equal(tarPadding(513), 511);
  assert.equal(tarEntrySpan(1), 1024);
  assert.equal(tarEntrySpan(1024), 1536);
  assert.equal(TAR_END.length, 1024);
  assert.ok(TAR_END.every((b) => b === 0));
});
