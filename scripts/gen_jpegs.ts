/**
 * CLI for the deterministic photo-like JPEG generator (`lib/demo/photos.ts`).
 *
 * ```sh
 * deno run -A scripts/gen_jpegs.ts DIR --count 400 [--classes 4] [--seed 1] \
 *   [--width 500] [--height 375] [--quality 80,95]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { generatePhotoJpegs } from "../lib/demo/photos.ts";

export {
  generatePhotoJpegs,
  type GeneratePhotoJpegsOptions,
  mulberry32,
  photoJpeg,
  type PhotoJpegOptions,
  renderPhotoRgb,
} from "../lib/demo/photos.ts";

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      count: { type: "string", default: "100" },
      classes: { type: "string", default: "4" },
      seed: { type: "string", default: "1" },
      width: { type: "string", default: "500" },
      height: { type: "string", default: "375" },
      quality: { type: "string", default: "80,95" },
    },
  });
  if (positionals.length !== 1) {
    console.error(
      "usage: gen_jpegs.ts DIR [--count N] [--classes K] [--seed S] [--width W] [--height H] [--quality LO,HI]",
    );
    Deno.exit(2);
  }
  const [lo, hi = lo] = values.quality.split(",").map(Number);
  const t0 = performance.now();
  const paths = await generatePhotoJpegs(positionals[0], {
    count: Number(values.count),
    classes: Number(values.classes),
    seed: Number(values.seed),
    width: Number(values.width),
    height: Number(values.height),
    qualityRange: [lo, hi],
  });
  const ms = Math.round(performance.now() - t0);
  console.log(`wrote ${paths.length} images to ${positionals[0]} in ${ms} ms`);
}
