/**
 * Reads an image's header for sizing its decode memory: JPEG, PNG, GIF and
 * WebP are parsed here (`image_header.ts`); every other format is asked of
 * sharp's header reader (libvips' loaders read only the header: TIFF,
 * HEIF/AVIF, SVG, ...). Bytes no loader here reads get `null`: every
 * decoder here refuses them before allocating pixels.
 *
 * @module
 */
import sharp from "sharp";
import {
  type ImageHeader,
  mayBeImage,
  readImageHeader,
} from "./image_header.ts";

/**
 * The header of `bytes`, parsed here when the format allows, else read by
 * sharp (asynchronously, on a libuv worker, without decoding pixels).
 *
 * A JPEG whose markers are too irregular for the parser here but that
 * libjpeg still reads gets a conservative header: every component at full
 * resolution, every coefficient buffered.
 *
 * @param bytes Compressed bytes.
 * @returns The header, or `null` when no decoder here reads these bytes.
 *
 * @example A TIFF's size
 * ```ts
 * import sharp from "sharp";
 * import { probeImageHeader } from "./probe.ts";
 * import assert from "node:assert/strict";
 * const tiff = await sharp({ create: { width: 40, height: 30, channels: 3, background: "red" } })
 *   .tiff().toBuffer();
 * const h = (await probeImageHeader(tiff))!;
 * assert.deepEqual([h.format, h.width, h.height], ["tiff", 40, 30]);
 * ```
 */
export async function probeImageHeader(
  bytes: Uint8Array,
): Promise<ImageHeader | null> {
  const parsed = readImageHeader(bytes);
  if (parsed) return parsed;
  if (!mayBeImage(bytes) || bytes.byteLength === 0) return null;
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>["metadata"]>>;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    return null; // its header is unreadable: decoding fails before pixels
  }
  const { format, width, height } = meta;
  if (!format || !width || !height) return null;
  if (format !== "jpeg") return { format, width, height };
  const n = Math.max(1, meta.channels ?? 4);
  return {
    format,
    width,
    height,
    components: Array.from({ length: n }, () => ({ h: 1, v: 1 })),
    progressive: true,
    fullCoefficients: true,
  };
}
