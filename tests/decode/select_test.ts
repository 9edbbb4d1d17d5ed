import assert from "node:assert/strict";
import {
  createDecoder,
  NativeWithSharpFallback,
  SharpDecoder,
} from "../../lib/decode/mod.ts";
import { NativeDecoder } from "../../lib/native/mod.ts";
import { nativeMissing, photoJpeg, solid } from "../native/_fixtures.ts";

Deno.test("sharp backend is selected by name", () => {
  const decoder = createDecoder({ backend: "sharp" });
  assert.equal(decoder.name, "sharp");
  assert.ok(decoder instanceof SharpDecoder);
  decoder.close();
});

Deno.test("an unknown backend is a TypeError", () => {
  // @ts-expect-error: testing a runtime check
  assert.throws(() => createDecoder({ backend: "gpu" }), TypeError);
});

Deno.test({
  name: "auto reports native when the library is built",
  ignore: nativeMissing,
  fn() {
    const decoder = createDecoder({ backend: "auto", threads: 2 });
    assert.equal(decoder.name, "native");
    assert.ok(decoder instanceof NativeWithSharpFallback);
    decoder.close();
    const strict = createDecoder({ backend: "native" });
    assert.equal(strict.name, "native");
    assert.ok(strict instanceof NativeDecoder);
    strict.close();
  },
});

Deno.test({
  name:
    "auto delegates non-JPEG samples to sharp while native reports them as errors",
  ignore: nativeMissing,
  async fn() {
    const jpeg = await photoJpeg(3, { width: 64, height: 48 });
    const png = await solid(20, 20, [200, 100, 30], "png");
    const webp = await solid(20, 20, [10, 20, 200], "webp");
    const corrupt = jpeg.subarray(0, 100);
    const opts = { height: 8, width: 8, toFloat: false };

    const strict = createDecoder({ backend: "native" });
    const s = await strict.decodeBatch([jpeg, png], opts);
    assert.equal(s.errors[0], null);
    assert.match(s.errors[1]!, /not a JPEG: looks like PNG/);
    s.release();
    strict.close();

    const auto = createDecoder({ backend: "auto" });
    const batch = await auto.decodeBatch([jpeg, png, webp, corrupt], opts);
    assert.deepEqual(batch.errors.slice(0, 3), [null, null, null]);
    assert.match(batch.errors[3]!, /corrupt JPEG/);
    const n = 64;
    assert.ok(
      Math.abs(batch.data[3 * n + 0 * n + 5] - 200) <= 2,
      "PNG red plane",
    );
    assert.ok(
      Math.abs(batch.data[3 * n + 2 * n + 5] - 30) <= 2,
      "PNG blue plane",
    );
    assert.ok(
      Math.abs(batch.data[6 * n + 2 * n + 5] - 200) <= 3,
      "WebP blue plane",
    );
    batch.release();
    auto.close();
  },
});
