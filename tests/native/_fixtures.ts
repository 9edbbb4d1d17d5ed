// Shared fixtures for the native and decode tests.

import sharp from "sharp";

export { photoJpeg } from "../../scripts/gen_jpegs.ts";
export { nativeMissing } from "../_helpers/native.ts";

/** A solid-colour image encoded by sharp. */
export async function solid(
  width: number,
  height: number,
  rgb: [number, number, number],
  format: "jpeg" | "png" | "webp" | "gif" = "jpeg",
): Promise<Uint8Array> {
  const [r, g, b] = rgb;
  const img = sharp({
    create: { width, height, channels: 3, background: { r, g, b } },
  });
  const buf =
    await (format === "jpeg" ? img.jpeg({ quality: 95 }) : img[format]())
      .toBuffer();
  return new Uint8Array(buf);
}

/** sharp's decode of `image`, optionally resized with the linear kernel, as HWC RGB. */
export async function sharpRgb(
  image: Uint8Array,
  size?: { height: number; width: number },
): Promise<{ data: Uint8Array; width: number; height: number }> {
  let pipeline = sharp(image).removeAlpha().toColourspace("srgb");
  if (size) {
    pipeline = pipeline.resize({ ...size, fit: "fill", kernel: "linear" });
  }
  const { data, info } = await pipeline.raw().toBuffer({
    resolveWithObject: true,
  });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

/** Per-channel differences between NCHW slot `index` of `nchw` and HWC `hwc` (both 0..255). */
export function compare(
  nchw: ArrayLike<number>,
  index: number,
  hwc: Uint8Array,
  height: number,
  width: number,
  scale = 1,
): { psnr: number; mae: number; max: number } {
  const n = height * width;
  const base = index * 3 * n;
  let se = 0, ae = 0, max = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const d = Math.abs(nchw[base + c * n + i] * scale - hwc[i * 3 + c]);
      se += d * d;
      ae += d;
      if (d > max) max = d;
    }
  }
  const mse = se / (3 * n);
  return {
    psnr: mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse),
    mae: ae / (3 * n),
    max,
  };
}
