import assert from "node:assert/strict";
import sharp from "sharp";
import { createDecoder } from "../../lib/decode/mod.ts";
import { readImageHeader } from "../../lib/decode/image_header.ts";
import {
  nativeWorkingMemory,
  sharpWorkingMemory,
} from "../../lib/decode/working_memory.ts";
import { nativeMissing, photoJpeg, sharpRgb } from "../native/_fixtures.ts";

/** Mean of values scaled to [0, 1]. */
function mean(data: ArrayLike<number>, scale: number): number {
  let s = 0;
  for (let i = 0; i < data.length; i++) s += data[i];
  return s / data.length / scale;
}

Deno.test({
  name:
    "auto decodes a CMYK JPEG like sharp (colour-managed), not brighter; the plain RGB source agrees",
  ignore: nativeMissing,
  async fn() {
    const src = await photoJpeg(1, { width: 160, height: 120, quality: 92 });
    const cmyk = new Uint8Array(
      await sharp(src).toColourspace("cmyk").jpeg({ quality: 95 }).toBuffer(),
    );
    assert.equal((await sharp(cmyk).metadata()).space, "cmyk");
    const opts = { height: 120, width: 160, toFloat: false } as const;
    const auto = createDecoder({ backend: "auto", threads: 1 });
    try {
      const batch = await auto.decodeBatch([cmyk, src], opts);
      assert.deepEqual(batch.errors, [null, null]);
      const per = 3 * 120 * 160;
      const got = mean(batch.data.subarray(0, per), 255);
      const fromSource = mean(batch.data.subarray(per, 2 * per), 255);
      batch.release();
      const ref = mean((await sharpRgb(cmyk)).data, 255);
      // Decoded without a colour transform (R = C·K/255) this image comes out
      // about 0.03 brighter than sharp's colour-managed decode.
      assert.ok(
        Math.abs(got - ref) < 0.002,
        `CMYK mean ${got.toFixed(4)} vs sharp ${ref.toFixed(4)}`,
      );
      assert.ok(
        Math.abs(got - fromSource) < 0.03,
        `CMYK mean ${got.toFixed(4)} vs RGB source ${fromSource.toFixed(4)}`,
      );
    } finally {
      auto.close();
    }
  },
});

Deno.test({
  name:
    "auto sizes a CMYK JPEG (decoded by sharp) with sharp's model, an RGB one with the native model",
  ignore: nativeMissing,
  async fn() {
    const src = await photoJpeg(1, { width: 1600, height: 1200 });
    const cmyk = new Uint8Array(
      await sharp(src).toColourspace("cmyk").jpeg().toBuffer(),
    );
    const target = { height: 64, width: 64, maxPixels: 100_000_000 };
    const auto = createDecoder({ backend: "auto", threads: 1 });
    try {
      const cmykHeader = readImageHeader(cmyk)!;
      assert.equal(cmykHeader.components!.length, 4);
      assert.deepEqual(
        await auto.workingMemory(cmyk, target),
        sharpWorkingMemory(cmykHeader, target),
      );
      assert.deepEqual(
        await auto.workingMemory(src, target),
        nativeWorkingMemory(readImageHeader(src), target),
      );
    } finally {
      auto.close();
    }
  },
});
