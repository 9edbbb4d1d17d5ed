/**
 * The demo's image dataset: a few thousand deterministic photo-like JPEGs in
 * ImageFolder layout, made fast by rendering a handful of large base photos
 * once and deriving every image from one with native sharp operations
 * (random crop, flip, brightness/saturation/hue shift, JPEG quality 80–95).
 *
 * @module
 */
import sharp from "sharp";
import { join } from "node:path";
import { mulberry32, renderPhotoRgb } from "./photos.ts";

/** Options of {@linkcode makeDemoImages}. */
export interface DemoImagesOptions {
  /** Images to write. */
  count: number;
  /** Class names (images go round-robin). */
  classes: readonly string[];
  /** Output size (default 500×375). */
  width?: number;
  /** Output height (default 375). */
  height?: number;
  /** Seed (default 42). */
  seed?: number;
  /** Called after each image. */
  onProgress?: (done: number, total: number) => void;
}

const BASE_W = 1000;
const BASE_H = 750;

/**
 * Writes the demo images as `dir/<class>/<nnnnn>.jpg`.
 *
 * @param dir Output directory.
 * @param options Count, classes, size, seed.
 * @returns Bytes written.
 */
export async function makeDemoImages(
  dir: string,
  options: DemoImagesOptions,
): Promise<number> {
  const { count, classes, width = 500, height = 375, seed = 42 } = options;
  // One base photo per class (raw RGB), so classes look different.
  const raw = { raw: { width: BASE_W, height: BASE_H, channels: 3 as const } };
  const baseBufs = classes.map((_, k) =>
    renderPhotoRgb(seed * 7919 + k, BASE_W, BASE_H)
  );
  for (const c of classes) await Deno.mkdir(join(dir, c), { recursive: true });
  let next = 0;
  let done = 0;
  let bytes = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const k = i % classes.length;
      const r = mulberry32((seed * 1_000_003 + i) >>> 0);
      const scale = 0.55 + r() * 0.45; // crop 55–100 % of the base
      const cw = Math.floor(BASE_W * scale), ch = Math.floor(BASE_H * scale);
      const left = Math.floor(r() * (BASE_W - cw)),
        top = Math.floor(r() * (BASE_H - ch));
      let img = sharp(baseBufs[k], raw).extract({
        left,
        top,
        width: cw,
        height: ch,
      })
        .resize(width, height, { fit: "fill" })
        .modulate({
          brightness: 0.8 + r() * 0.4,
          saturation: 0.7 + r() * 0.6,
          hue: Math.floor(r() * 40 - 20),
        });
      if (r() < 0.5) img = img.flop();
      const jpeg = await img.jpeg({
        quality: 80 + Math.floor(r() * 16),
        chromaSubsampling: "4:2:0",
      }).toBuffer();
      await Deno.writeFile(
        join(dir, classes[k], `${String(i).padStart(5, "0")}.jpg`),
        jpeg,
      );
      bytes += jpeg.length;
      options.onProgress?.(++done, count);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return bytes;
}
