/**
 * Upper bounds of the memory a decoder needs to decode one image, beyond the
 * batch tensor it writes into, computed from the image's header (pure).
 *
 * The dominant term is libjpeg's whole-image coefficient buffer: a
 * progressive JPEG (or one whose first scan lacks a component) keeps every
 * DCT coefficient of the image, 2 bytes each, at full size whatever the DCT
 * scaling — about 3 bytes per pixel for 4:2:0, 6 for 4:4:4. A baseline JPEG
 * only buffers one MCU row, and the native decoder's YUV planes at the DCT
 * scale it picks. Measured peak RSS minus RSS before a first decode in a
 * fresh process (threads 1, 224×224 output, including ≈ 2.5 MiB of
 * one-time thread and allocator start-up): 12000×8000 progressive 4:2:0
 * 281 MiB native / 285 sharp (model 278 / 281), 4:4:4 559 / 559 (model
 * 553 / 556), baseline 4:2:0 4.7 / 8.4 MiB (model 3.6 / 7.7).
 *
 * @module
 */
import type { ImageHeader } from "./image_header.ts";

const MIB = 1048576;
/** libjpeg's per-decode state (Huffman, IDCT, colour tables) and Rust scratch. */
const NATIVE_FIXED = MIB / 4;
/** libvips pipeline, thread buffers and sharp's bookkeeping: per decode. */
const SHARP_FIXED = 2 * MIB;

/** What one image's decode needs. */
export interface WorkingMemory {
  /** Upper bound in bytes. */
  bytes: number;
  /** What the image is, for messages (`progressive JPEG 12000×8000, 4:2:0`). */
  image: string;
  /**
   * The most pixels (width × height at full size) the bound allows the
   * decoder to load: sharp is given it as `limitInputPixels`, so an image
   * whose real canvas is larger than its header said (a GIF's logical
   * screen can lie) is refused instead of outgrowing the bound. 0: the
   * decoder must load no pixels (its header is over `maxPixels`, or no
   * decoder here reads it).
   */
  pixels: number;
}

/** The decode target a model needs. */
export interface WorkingMemoryTarget {
  /** Output height. */
  height: number;
  /** Output width. */
  width: number;
  /** Any DCT scale n/8 (native `anyScale`), not only 1, 1/2, 1/4, 1/8. */
  anyScale?: boolean;
  /** The decoder's pixel limit: images over it are refused before decoding. */
  maxPixels: number;
}

/**
 * The DCT scaling factor the native decoder picks (mirrors `pick_factor` in
 * `ffi/src/decode.rs`): the smallest factor ≤ 1 whose output still covers
 * the target.
 *
 * @param w Image width.
 * @param h Image height.
 * @param tw Target width.
 * @param th Target height.
 * @param anyScale Allow every n/8, not only powers of two.
 * @returns `[num, denom]`.
 *
 * @example
 * ```ts
 * import { jpegScale } from "./working_memory.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(jpegScale(4000, 3000, 224, 224, false), [1, 8]);
 * assert.deepEqual(jpegScale(500, 375, 224, 224, false), [1, 1]);
 * ```
 */
export function jpegScale(
  w: number,
  h: number,
  tw: number,
  th: number,
  anyScale: boolean,
): [number, number] {
  let best: [number, number] = [1, 1];
  for (let num = 7; num >= 1; num--) {
    const [n, d] = reduce(num, 8);
    if (!anyScale && n !== 1) continue;
    if (scaled(w, n, d) >= tw && scaled(h, n, d) >= th) best = [n, d];
    else break;
  }
  return best;
}

function reduce(n: number, d: number): [number, number] {
  while (n % 2 === 0 && d % 2 === 0) {
    n /= 2;
    d /= 2;
  }
  return [n, d];
}

function scaled(dim: number, num: number, denom: number): number {
  return Math.ceil(dim * num / denom);
}

/**
 * Bytes of libjpeg's whole-image coefficient buffer for this JPEG (0 when
 * it decodes scan by scan): per component, its blocks rounded up to whole
 * MCUs, 64 coefficients × 2 bytes each.
 *
 * @param header A JPEG header.
 * @returns Bytes.
 *
 * @example 4:2:0 progressive: 3 bytes per pixel
 * ```ts
 * import { coefficientBytes } from "./working_memory.ts";
 * import assert from "node:assert/strict";
 * const components = [{ h: 2, v: 2 }, { h: 1, v: 1 }, { h: 1, v: 1 }];
 * const header = { format: "jpeg" as const, width: 1600, height: 1200, components, fullCoefficients: true };
 * assert.equal(coefficientBytes(header), 1600 * 1200 * 3);
 * ```
 */
export function coefficientBytes(header: ImageHeader): number {
  if (!header.fullCoefficients || !header.components) return 0;
  return blockBytes(header, header.height);
}

/** Coefficient bytes of every component over `rows` image rows. */
function blockBytes(header: ImageHeader, rows: number): number {
  const comps = header.components!;
  const hmax = Math.max(...comps.map((c) => c.h));
  const vmax = Math.max(...comps.map((c) => c.v));
  let blocks = 0;
  for (const c of comps) {
    const bw = roundUp(Math.ceil(header.width * c.h / (8 * hmax)), c.h);
    const bh = roundUp(Math.ceil(rows * c.v / (8 * vmax)), c.v);
    blocks += bw * bh;
  }
  return blocks * 128;
}

function roundUp(n: number, k: number): number {
  return Math.ceil(n / k) * k;
}

/** One MCU row's coefficients (what a scan-by-scan decode buffers), ×2. */
function mcuRowBytes(header: ImageHeader): number {
  const vmax = Math.max(...header.components!.map((c) => c.v));
  return 2 * blockBytes(header, 8 * vmax);
}

/** Bytes of the decoded planes (or CMYK + RGB) at the DCT scale. */
function planeBytes(header: ImageHeader, sw: number, sh: number): number {
  const comps = header.components!;
  if (comps.length >= 4) return sw * sh * 7; // CMYK, converted to RGB
  const hmax = Math.max(...comps.map((c) => c.h));
  const vmax = Math.max(...comps.map((c) => c.v));
  let bytes = 0;
  for (const c of comps) {
    // TurboJPEG pads planes to whole MCUs.
    bytes += roundUp(Math.ceil(sw * c.h / hmax), 8 * c.h) *
      roundUp(Math.ceil(sh * c.v / vmax), 8 * c.v);
  }
  return bytes;
}

/**
 * Describes an image for messages.
 *
 * @param header The header, or `null`.
 * @returns E.g. `progressive JPEG 12000×8000, 3 components`.
 */
export function describeImage(header: ImageHeader | null): string {
  if (!header) return "data no decoder here reads";
  const size = `${header.width}×${header.height}`;
  if (header.format !== "jpeg") {
    return `${header.format.toUpperCase()} ${size}`;
  }
  const kind = header.progressive
    ? "progressive JPEG"
    : header.fullCoefficients
    ? "multi-scan JPEG"
    : "baseline JPEG";
  return `${kind} ${size}, ${header.components!.length} components`;
}

/**
 * Whether the decoder refuses this image before allocating pixels: no
 * decoder reads it, or its header is over `maxPixels` (both backends check
 * the header's size first).
 */
function refusedBeforePixels(
  header: ImageHeader | null,
  target: WorkingMemoryTarget,
): boolean {
  return !header || header.width * header.height > target.maxPixels;
}

/**
 * Working memory of the native (libjpeg-turbo) decoder for one image:
 * whole-image coefficients (if any) + one MCU row + YUV planes at the DCT
 * scale + fixed state. Non-JPEG, unreadable headers and images over
 * `maxPixels` fail before any large allocation (the native decoder refuses
 * them), so they need only the fixed part.
 *
 * @param header The image's header (`null`: unreadable).
 * @param target Output size and scaling rules.
 * @returns The bound and a description.
 *
 * @example
 * ```ts
 * import { nativeWorkingMemory } from "./working_memory.ts";
 * import assert from "node:assert/strict";
 * const components = [{ h: 2, v: 2 }, { h: 1, v: 1 }, { h: 1, v: 1 }];
 * const prog = { format: "jpeg" as const, width: 12000, height: 8000, components, progressive: true, fullCoefficients: true };
 * const w = nativeWorkingMemory(prog, { height: 224, width: 224, maxPixels: 1e8 });
 * assert.ok(w.bytes > 12000 * 8000 * 3);
 * ```
 */
export function nativeWorkingMemory(
  header: ImageHeader | null,
  target: WorkingMemoryTarget,
): WorkingMemory {
  const image = describeImage(header);
  if (
    !header || header.format !== "jpeg" || refusedBeforePixels(header, target)
  ) {
    return { bytes: NATIVE_FIXED, image, pixels: 0 };
  }
  const [n, d] = jpegScale(
    header.width,
    header.height,
    target.width,
    target.height,
    target.anyScale ?? false,
  );
  const sw = scaled(header.width, n, d), sh = scaled(header.height, n, d);
  const bytes = NATIVE_FIXED + coefficientBytes(header) + mcuRowBytes(header) +
    planeBytes(header, sw, sh) + 3 * (sw + 64) * 4 * 2;
  return { bytes, image, pixels: header.width * header.height };
}

/**
 * Working memory of the sharp (libvips) decoder for one image. JPEG: like
 * the native decoder, with RGB at twice the shrink-on-load size (sharp may
 * shrink less than the native decoder) plus its output buffer. Other
 * formats are decoded whole: 4 bytes per pixel, twice (decode + convert).
 * An image no decoder reads (`null`) or whose header is over `maxPixels`
 * is refused before any pixel is allocated: fixed memory only. The bound
 * holds because the decode is limited to `pixels` (`limitInputPixels`).
 *
 * @param header The image's header (`null`: no decoder here reads it; see
 * `probeImageHeader`).
 * @param target Output size and pixel limit.
 * @returns The bound, what the image is, and the pixel limit to decode with.
 *
 * @example
 * ```ts
 * import { sharpWorkingMemory } from "./working_memory.ts";
 * import assert from "node:assert/strict";
 * const png = { format: "png" as const, width: 1000, height: 1000 };
 * const w = sharpWorkingMemory(png, { height: 224, width: 224, maxPixels: 1e8 });
 * assert.ok(w.bytes >= 8e6);
 * assert.equal(w.pixels, 1e6);
 * ```
 */
export function sharpWorkingMemory(
  header: ImageHeader | null,
  target: WorkingMemoryTarget,
): WorkingMemory {
  const image = describeImage(header);
  if (!header || refusedBeforePixels(header, target)) {
    return { bytes: SHARP_FIXED, image, pixels: 0 };
  }
  const out = target.height * target.width * 3 * 2;
  const pixels = header.width * header.height;
  if (header.format !== "jpeg") {
    return { bytes: SHARP_FIXED + out + pixels * 4 * 2, image, pixels };
  }
  const [n, d] = jpegScale(
    header.width,
    header.height,
    Math.min(header.width, target.width * 2),
    Math.min(header.height, target.height * 2),
    false,
  );
  const sw = scaled(header.width, n, d), sh = scaled(header.height, n, d);
  const bytes = SHARP_FIXED + out + coefficientBytes(header) +
    mcuRowBytes(header) + sw * sh * 3;
  return { bytes, image, pixels };
}
