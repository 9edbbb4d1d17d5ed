import assert from "node:assert/strict";
import sharp from "sharp";
import { probeImageHeader } from "../../lib/decode/probe.ts";

const base = (width: number, height: number) =>
  sharp({
    create: { width, height, channels: 3, background: "#204080" },
  });

Deno.test("probeImageHeader: TIFF, AVIF and SVG sizes come from sharp's header reader", async () => {
  const tiff = await base(100, 60).tiff().toBuffer();
  assert.deepEqual(await probeImageHeader(tiff), {
    format: "tiff",
    width: 100,
    height: 60,
  });
  const avif = await base(100, 60).avif().toBuffer();
  assert.deepEqual(await probeImageHeader(avif), {
    format: "heif",
    width: 100,
    height: 60,
  });
  const svg = new TextEncoder().encode(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 30 20"><rect width="30" height="20"/></svg>`,
  );
  assert.deepEqual(await probeImageHeader(svg), {
    format: "svg",
    width: 30,
    height: 20,
  });
});

Deno.test("probeImageHeader: JPEG, PNG, GIF, WebP are parsed without sharp", async () => {
  const png = await base(7, 5).png().toBuffer();
  assert.deepEqual(await probeImageHeader(png), {
    format: "png",
    width: 7,
    height: 5,
  });
  const jpeg = await probeImageHeader(await base(7, 5).jpeg().toBuffer());
  assert.equal(jpeg?.components?.length, 3);
});

Deno.test("probeImageHeader: bytes no decoder here reads are null (BMP, garbage, a truncated TIFF)", async () => {
  // 2×1 24-bit BMP: libvips as shipped with sharp has no BMP loader.
  const bmp = new Uint8Array(62);
  const dv = new DataView(bmp.buffer);
  bmp.set([0x42, 0x4d]);
  dv.setUint32(2, 62, true);
  dv.setUint32(10, 54, true);
  dv.setUint32(14, 40, true);
  dv.setInt32(18, 2, true);
  dv.setInt32(22, 1, true);
  dv.setUint16(26, 1, true);
  dv.setUint16(28, 24, true);
  assert.equal(await probeImageHeader(bmp), null);
  assert.equal(
    await probeImageHeader(new TextEncoder().encode("not an image")),
    null,
  );
  const tiff = await base(100, 60).tiff().toBuffer();
  assert.equal(await probeImageHeader(tiff.subarray(0, 6)), null);
  assert.equal(await probeImageHeader(new Uint8Array(0)), null);
});
