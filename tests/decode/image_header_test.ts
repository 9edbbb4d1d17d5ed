import assert from "node:assert/strict";
import sharp from "sharp";
import { readImageHeader } from "../../lib/decode/image_header.ts";

const base = () =>
  sharp({
    create: { width: 40, height: 30, channels: 3, background: "#204080" },
  });

Deno.test("readImageHeader: JPEG size, sampling, progressive vs baseline", async () => {
  const b = readImageHeader(
    await base().jpeg({ chromaSubsampling: "4:2:0" }).toBuffer(),
  )!;
  assert.deepEqual(b, {
    format: "jpeg",
    width: 40,
    height: 30,
    components: [{ h: 2, v: 2 }, { h: 1, v: 1 }, { h: 1, v: 1 }],
    progressive: false,
    fullCoefficients: false,
  });
  const p = readImageHeader(
    await base().jpeg({ progressive: true, chromaSubsampling: "4:4:4" })
      .toBuffer(),
  )!;
  assert.equal(p.progressive, true);
  assert.equal(p.fullCoefficients, true);
  assert.deepEqual(p.components, [{ h: 1, v: 1 }, { h: 1, v: 1 }, {
    h: 1,
    v: 1,
  }]);
  const grey = readImageHeader(
    await base().toColourspace("b-w").jpeg().toBuffer(),
  )!;
  assert.equal(grey.components!.length, 1);
});

Deno.test("readImageHeader: PNG, GIF, WebP sizes; unknown or truncated → null", async () => {
  for (
    const [format, bytes] of [
      ["png", await base().png().toBuffer()],
      ["gif", await base().gif().toBuffer()],
      ["webp", await base().webp().toBuffer()],
      ["webp", await base().webp({ lossless: true }).toBuffer()],
    ] as const
  ) {
    const h = readImageHeader(bytes)!;
    assert.deepEqual([h.format, h.width, h.height], [format, 40, 30], format);
  }
  assert.equal(readImageHeader(new TextEncoder().encode("hello")), null);
  const jpeg = await base().jpeg().toBuffer();
  assert.equal(readImageHeader(jpeg.subarray(0, 20)), null);
  assert.equal(readImageHeader(new Uint8Array([0xff, 0xd8, 0x00, 0x01])), null);
});

Deno.test("readImageHeader: a JPEG with two SOF markers has no header (libjpeg refuses it: no other size is decoded)", async () => {
  const jpeg = new Uint8Array(
    await base().jpeg({ progressive: true }).toBuffer(),
  );
  let at = 2, sof = -1, sos = -1;
  while (sos < 0) {
    const marker = jpeg[at + 1];
    if (marker === 0xc2) sof = at;
    if (marker === 0xda) sos = at;
    at += 2 + ((jpeg[at + 2] << 8) | jpeg[at + 3]);
  }
  const len = (jpeg[sof + 2] << 8) | jpeg[sof + 3];
  const second = jpeg.slice(sof, sof + 2 + len);
  second.set([0, 8, 0, 8], 5); // claims 8×8
  const twoSof = new Uint8Array([
    ...jpeg.subarray(0, sos),
    ...second,
    ...jpeg.subarray(sos),
  ]);
  assert.equal(readImageHeader(twoSof), null);
  await assert.rejects(
    sharp(twoSof).raw().toBuffer(),
    /two SOF markers/,
  );
});
