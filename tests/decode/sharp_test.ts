import assert from "node:assert/strict";
import { SharpDecoder } from "../../lib/decode/mod.ts";
import { NativeDecoder } from "../../lib/native/mod.ts";
import {
  compare,
  nativeMissing,
  photoJpeg,
  solid,
} from "../native/_fixtures.ts";

Deno.test("sharp backend writes [B, 3, H, W] NCHW planes", async () => {
  const decoder = new SharpDecoder();
  assert.equal(decoder.name, "sharp");
  const jpeg = await solid(64, 48, [200, 100, 30]);
  for (const toFloat of [true, false]) {
    const batch = await decoder.decodeBatch([jpeg, jpeg], {
      height: 20,
      width: 30,
      toFloat,
    });
    assert.deepEqual(batch.shape, [2, 3, 20, 30]);
    assert.equal(batch.dtype, toFloat ? "float32" : "uint8");
    assert.equal(batch.bytes, 2 * 3 * 20 * 30 * (toFloat ? 4 : 1));
    const scale = toFloat ? 255 : 1;
    const n = 600;
    for (const [c, want] of [[0, 200], [1, 100], [2, 30]]) {
      for (const b of [0, 1]) {
        const v = batch.data[(b * 3 + c) * n + 123] * scale;
        assert.ok(Math.abs(v - want) <= 2, `b${b} c${c}: ${v}`);
      }
    }
    batch.release();
    assert.equal(batch.data.length, 0);
  }
});

Deno.test("sharp backend reports per-sample errors and decodes other formats", async () => {
  const decoder = new SharpDecoder({ concurrency: 3 });
  const good = await photoJpeg(5, { width: 80, height: 60 });
  const png = await solid(10, 10, [1, 2, 3], "png");
  const big = await solid(1000, 800, [1, 2, 3]);
  const batch = await decoder.decodeBatch(
    [
      good,
      good.subarray(0, 500),
      new Uint8Array([1, 2, 3, 4]),
      new Uint8Array(0),
      png,
      big,
    ],
    { height: 16, width: 16, maxPixels: 500_000 },
  );
  const [ok, truncated, garbage, empty, pngErr, bigErr] = batch.errors;
  assert.equal(ok, null);
  assert.equal(pngErr, null);
  assert.ok(truncated);
  assert.match(garbage!, /unsupported image format/);
  assert.match(empty!, /empty input/);
  assert.match(
    bigErr!,
    /JPEG 1000×800.* has 800000 pixels, over maxPixels 500000$/,
  );
  const per = 3 * 16 * 16;
  assert.ok(batch.data.subarray(per, 2 * per).every((v) => v === 0));
});

Deno.test({
  name: "sharp and native backends agree on layout and values",
  ignore: nativeMissing,
  async fn() {
    const jpegs = await Promise.all(
      [1, 2].map((s) => photoJpeg(s, { width: 300, height: 200 })),
    );
    const viaSharp = await new SharpDecoder().decodeBatch(jpegs, {
      height: 96,
      width: 128,
      toFloat: false,
    });
    using native = new NativeDecoder();
    using viaNative = await native.decodeBatch(jpegs, {
      height: 96,
      width: 128,
      toFloat: false,
    });
    assert.deepEqual(viaSharp.shape, viaNative.shape);
    const n = 96 * 128;
    for (let b = 0; b < 2; b++) {
      // Turn the sharp NCHW slot back into HWC to reuse `compare`.
      const hwc = new Uint8Array(n * 3);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < 3; c++) {
          hwc[i * 3 + c] = viaSharp.data[(b * 3 + c) * n + i];
        }
      }
      const { mae } = compare(viaNative.data, b, hwc, 96, 128);
      assert.ok(mae <= 2, `image ${b}: MAE ${mae}`);
    }
  },
});
