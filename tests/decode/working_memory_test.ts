import assert from "node:assert/strict";
import {
  coefficientBytes,
  jpegScale,
  nativeWorkingMemory,
  sharpWorkingMemory,
} from "../../lib/decode/working_memory.ts";
import type { ImageHeader } from "../../lib/decode/image_header.ts";

const yuv420 = [{ h: 2, v: 2 }, { h: 1, v: 1 }, { h: 1, v: 1 }];
const target = { height: 224, width: 224, maxPixels: 100_000_000 };

Deno.test("jpegScale mirrors the native decoder's pick_factor", () => {
  // The same cases as ffi/src/decode.rs picks_smallest_factor_covering_target.
  assert.deepEqual(jpegScale(500, 375, 224, 224, true), [5, 8]);
  assert.deepEqual(jpegScale(500, 375, 224, 224, false), [1, 1]);
  assert.deepEqual(jpegScale(1000, 750, 224, 224, false), [1, 2]);
  assert.deepEqual(jpegScale(4000, 3000, 224, 224, true), [1, 8]);
  assert.deepEqual(jpegScale(4000, 3000, 224, 224, false), [1, 8]);
  assert.deepEqual(jpegScale(100, 100, 224, 224, true), [1, 1]);
  assert.deepEqual(jpegScale(224, 224, 224, 224, true), [1, 1]);
});

Deno.test("working memory: progressive keeps full-size coefficients, baseline only scaled planes", () => {
  const prog: ImageHeader = {
    format: "jpeg",
    width: 12000,
    height: 8000,
    components: yuv420,
    progressive: true,
    fullCoefficients: true,
  };
  const base: ImageHeader = {
    ...prog,
    progressive: false,
    fullCoefficients: false,
  };
  assert.equal(coefficientBytes(prog), 12000 * 8000 * 3);
  assert.equal(coefficientBytes(base), 0);
  // Measured (fresh process, one decode): 281 MiB native, 285 MiB sharp.
  const n = nativeWorkingMemory(prog, target).bytes;
  assert.ok(n > 275 * 2 ** 20 && n < 290 * 2 ** 20, `${n}`);
  // Baseline at 1/8: about 1500×1000 planes, a few MiB.
  const b = nativeWorkingMemory(base, target).bytes;
  assert.ok(b > 2 * 2 ** 20 && b < 8 * 2 ** 20, `${b}`);
  assert.ok(sharpWorkingMemory(prog, target).bytes >= n);
  assert.equal(
    nativeWorkingMemory(prog, target).image,
    "progressive JPEG 12000×8000, 3 components",
  );
});

Deno.test("working memory: data no decoder reads needs no pixel memory", () => {
  // Both decoders refuse it at the header, before allocating pixels.
  for (const model of [nativeWorkingMemory, sharpWorkingMemory]) {
    const w = model(null, target);
    assert.ok(w.bytes <= 2 * 2 ** 20, `${w.bytes}`);
    assert.equal(w.pixels, 0);
    assert.equal(w.image, "data no decoder here reads");
  }
});

Deno.test("working memory: an image over maxPixels is refused before decoding, so it needs only fixed memory", () => {
  const small = { ...target, maxPixels: 1_000_000 };
  const png: ImageHeader = { format: "png", width: 2000, height: 1000 };
  const jpeg: ImageHeader = {
    format: "jpeg",
    width: 2000,
    height: 1000,
    components: yuv420,
    progressive: true,
    fullCoefficients: true,
  };
  for (const model of [nativeWorkingMemory, sharpWorkingMemory]) {
    for (const header of [png, jpeg]) {
      const w = model(header, small);
      assert.ok(w.bytes <= 2 * 2 ** 20, `${w.image}: ${w.bytes}`);
      assert.equal(w.pixels, 0);
    }
  }
  // At the limit it is decoded, and sized.
  assert.ok(sharpWorkingMemory(png, { ...small, maxPixels: 2e6 }).bytes > 16e6);
});

Deno.test("working memory: formats sized from sharp's header reader decode whole, limited to their size", () => {
  const tiff: ImageHeader = { format: "tiff", width: 100, height: 100 };
  const w = sharpWorkingMemory(tiff, target);
  assert.equal(w.pixels, 100 * 100);
  assert.equal(w.image, "TIFF 100×100");
  assert.ok(w.bytes >= 100 * 100 * 8 && w.bytes < 3 * 2 ** 20, `${w.bytes}`);
});
