/**
 * Deterministic photo-like JPEG fixtures in ImageFolder layout.
 *
 * Images are smooth multi-colour gradients with soft-edged shapes, low
 * frequency texture and per-pixel grain, drawn from a seeded PRNG, so they
 * compress like photographs (tens of KB at 500×375) rather than like flat
 * colour. The same seed and options always produce the same bytes.
 *
 * CLI: `scripts/gen_jpegs.ts`.
 *
 * @module
 */

import sharp from "sharp";
import { join } from "node:path";

/** Options for {@linkcode generatePhotoJpegs}. */
export interface GeneratePhotoJpegsOptions {
  /** Total number of images, spread round-robin over the classes. */
  count: number;
  /** Number of classes (named `class_000`, ...) or explicit class names. Default 4. */
  classes?: number | readonly string[];
  /** Image width in pixels. Default 500. */
  width?: number;
  /** Image height in pixels. Default 375. */
  height?: number;
  /** PRNG seed; image `i` uses `seed * 1_000_003 + i`. Default 1. */
  seed?: number;
  /** Inclusive JPEG quality range, one value drawn per image. Default `[80, 95]`. */
  qualityRange?: readonly [number, number];
  /** Keep files that already exist (non-empty) instead of rewriting them. Default false. */
  skipExisting?: boolean;
  /** Images encoded concurrently. Default 4. */
  concurrency?: number;
}

/** Options for {@linkcode photoJpeg}. */
export interface PhotoJpegOptions {
  /** Width in pixels. Default 500. */
  width?: number;
  /** Height in pixels. Default 375. */
  height?: number;
  /** JPEG quality 1–100. Default 90. */
  quality?: number;
}

/**
 * Returns a mulberry32 PRNG: a function yielding floats in [0, 1).
 *
 * @param seed 32-bit seed.
 * @returns The generator.
 *
 * @example Same seed, same sequence
 * ```ts
 * import { mulberry32 } from "./photos.ts";
 * import assert from "node:assert/strict";
 * assert.equal(mulberry32(7)(), mulberry32(7)());
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Renders a deterministic photo-like RGB image (interleaved, 3 bytes per
 * pixel, row-major).
 *
 * @param seed PRNG seed.
 * @param width Width in pixels.
 * @param height Height in pixels.
 * @returns `width * height * 3` bytes.
 *
 * @example Deterministic pixels
 * ```ts
 * import { renderPhotoRgb } from "./photos.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(renderPhotoRgb(3, 16, 8), renderPhotoRgb(3, 16, 8));
 * ```
 */
export function renderPhotoRgb(
  seed: number,
  width: number,
  height: number,
): Uint8Array {
  const rand = mulberry32(seed);
  const color = () => [rand() * 255, rand() * 255, rand() * 255];
  const n = width * height;
  const acc = new Float32Array(n * 3);
  // Background: bilinear blend of four corner colours.
  const [c00, c10, c01, c11] = [color(), color(), color(), color()];
  for (let y = 0; y < height; y++) {
    const v = height > 1 ? y / (height - 1) : 0;
    for (let x = 0; x < width; x++) {
      const u = width > 1 ? x / (width - 1) : 0;
      const i = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        acc[i + c] = (1 - v) * ((1 - u) * c00[c] + u * c10[c]) +
          v * ((1 - u) * c01[c] + u * c11[c]);
      }
    }
  }
  // Soft-edged ellipses and rectangles.
  const shapes = 3 + Math.floor(rand() * 6);
  for (let s = 0; s < shapes; s++) {
    const col = color();
    const cx = rand() * width, cy = rand() * height;
    const rx = (0.05 + rand() * 0.3) * width;
    const ry = (0.05 + rand() * 0.3) * height;
    const alpha = 0.4 + rand() * 0.6;
    const soft = 0.05 + rand() * 0.3;
    const ellipse = rand() < 0.6;
    const x0 = Math.max(0, Math.floor(cx - rx * (1 + soft)));
    const x1 = Math.min(width, Math.ceil(cx + rx * (1 + soft)));
    const y0 = Math.max(0, Math.floor(cy - ry * (1 + soft)));
    const y1 = Math.min(height, Math.ceil(cy + ry * (1 + soft)));
    for (let y = y0; y < y1; y++) {
      const dy = (y - cy) / ry;
      for (let x = x0; x < x1; x++) {
        const dx = (x - cx) / rx;
        const d = ellipse
          ? Math.sqrt(dx * dx + dy * dy)
          : Math.max(Math.abs(dx), Math.abs(dy));
        const edge = Math.min(1, Math.max(0, (1 + soft - d) / soft));
        if (edge <= 0) continue;
        const a = alpha * edge;
        const i = (y * width + x) * 3;
        for (let c = 0; c < 3; c++) {
          acc[i + c] += a * (col[c] - acc[i + c]);
        }
      }
    }
  }
  // Low-frequency texture plus grain.
  const waves = Array.from({ length: 2 }, () => ({
    fx: (rand() - 0.5) * 0.15,
    fy: (rand() - 0.5) * 0.15,
    phase: rand() * Math.PI * 2,
    amp: 4 + rand() * 10,
  }));
  const detail = [
    valueNoise(rand, width, height, 24, 6 + rand() * 10),
    valueNoise(rand, width, height, 5, 4 + rand() * 8),
  ];
  const grain = 4 + rand() * 8;
  const out = new Uint8Array(n * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let t = detail[0][y * width + x] + detail[1][y * width + x];
      for (const w of waves) {
        t += w.amp * Math.sin(w.fx * x + w.fy * y + w.phase);
      }
      const i = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const noise = (rand() + rand() - 1) * grain;
        const value = acc[i + c] + t + noise;
        out[i + c] = value < 0 ? 0 : value > 255 ? 255 : Math.round(value);
      }
    }
  }
  return out;
}

/** Bilinearly interpolated random lattice (cell size `cell`), values in ±amp. */
function valueNoise(
  rand: () => number,
  width: number,
  height: number,
  cell: number,
  amp: number,
): Float32Array {
  const gw = Math.ceil(width / cell) + 2, gh = Math.ceil(height / cell) + 2;
  const grid = Float32Array.from(
    { length: gw * gh },
    () => (rand() * 2 - 1) * amp,
  );
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const gy = y / cell, y0 = Math.floor(gy), fy = gy - y0;
    for (let x = 0; x < width; x++) {
      const gx = x / cell, x0 = Math.floor(gx), fx = gx - x0;
      const i = y0 * gw + x0;
      const top = grid[i] + (grid[i + 1] - grid[i]) * fx;
      const bottom = grid[i + gw] + (grid[i + gw + 1] - grid[i + gw]) * fx;
      out[y * width + x] = top + (bottom - top) * fy;
    }
  }
  return out;
}

/**
 * Encodes one deterministic photo-like JPEG in memory.
 *
 * @param seed PRNG seed.
 * @param options Size and quality.
 * @returns The JPEG bytes.
 *
 * @example A 64×48 JPEG
 * ```ts
 * import { photoJpeg } from "./photos.ts";
 * import assert from "node:assert/strict";
 * const jpeg = await photoJpeg(1, { width: 64, height: 48 });
 * assert.equal(jpeg[0], 0xff);
 * assert.equal(jpeg[1], 0xd8);
 * ```
 */
export async function photoJpeg(
  seed: number,
  options: PhotoJpegOptions = {},
): Promise<Uint8Array> {
  const { width = 500, height = 375, quality = 90 } = options;
  const rgb = renderPhotoRgb(seed, width, height);
  const buf = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .jpeg({ quality, chromaSubsampling: "4:2:0" })
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Writes `count` deterministic photo-like JPEGs as `dir/<class>/<nnnnn>.jpg`
 * (ImageFolder layout; image `i` goes to class `i % classes`).
 *
 * @param dir Output directory (created if missing).
 * @param options Count, classes, size, seed and quality range.
 * @returns The written paths, in index order.
 * @throws {RangeError} If `count` is negative or there are no classes.
 *
 * @example Two images in two classes
 * ```ts
 * import { generatePhotoJpegs } from "./photos.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const paths = await generatePhotoJpegs(dir, { count: 2, classes: 2, width: 32, height: 24 });
 * assert.equal(paths.length, 2);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function generatePhotoJpegs(
  dir: string,
  options: GeneratePhotoJpegsOptions,
): Promise<string[]> {
  const {
    count,
    classes = 4,
    width = 500,
    height = 375,
    seed = 1,
    qualityRange = [80, 95],
    skipExisting = false,
    concurrency = 4,
  } = options;
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`Invalid count: "${count}"`);
  }
  const names = typeof classes === "number"
    ? Array.from(
      { length: classes },
      (_, i) => `class_${String(i).padStart(3, "0")}`,
    )
    : [...classes];
  if (names.length === 0) {
    throw new RangeError("At least one class is required");
  }
  for (const name of names) {
    await Deno.mkdir(join(dir, name), { recursive: true });
  }
  const paths = Array.from(
    { length: count },
    (_, i) =>
      join(dir, names[i % names.length], `${String(i).padStart(5, "0")}.jpg`),
  );
  const [qLo, qHi] = qualityRange;
  let next = 0;
  const work = async () => {
    while (next < count) {
      const i = next++;
      const path = paths[i];
      if (skipExisting) {
        const size = await Deno.stat(path).then((s) => s.size, () => 0);
        if (size > 0) continue;
      }
      const imageSeed = (seed * 1_000_003 + i) >>> 0;
      const quality = qLo +
        Math.floor(mulberry32(imageSeed ^ 0x5bd1e995)() * (qHi - qLo + 1));
      const jpeg = await photoJpeg(imageSeed, { width, height, quality });
      await Deno.writeFile(path, jpeg);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, work));
  return paths;
}
