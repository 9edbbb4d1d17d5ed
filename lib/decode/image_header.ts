/**
 * Reads what a decoder's working memory depends on from an image's header,
 * without decoding: size, and for JPEG the components, their sampling
 * factors and whether the decoder must buffer every DCT coefficient of the
 * image (progressive, or a first scan that does not hold every component).
 *
 * @module
 */

/** A JPEG component's sampling factors. */
export interface JpegComponent {
  /** Horizontal sampling factor (1–4). */
  h: number;
  /** Vertical sampling factor (1–4). */
  v: number;
}

/**
 * Container format: `jpeg`, `png`, `gif`, `webp` (parsed here), or what
 * sharp's header reader names (`tiff`, `heif`, `svg`, ...; see `probe.ts`).
 */
export type ImageFormat =
  | "jpeg"
  | "png"
  | "gif"
  | "webp"
  | "tiff"
  | "heif"
  | "svg"
  | (string & Record<never, never>);

/** What the header of an image says. */
export interface ImageHeader {
  /** Container format. */
  format: ImageFormat;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** JPEG: the frame's components (1 grey, 3 YCbCr, 4 CMYK/YCCK). */
  components?: JpegComponent[];
  /** JPEG: progressive (SOF2, SOF6, SOF10, SOF14). */
  progressive?: boolean;
  /**
   * JPEG: libjpeg keeps a coefficient buffer for the whole image (progressive,
   * or a first scan that holds fewer components than the frame), whatever
   * the DCT scaling.
   */
  fullCoefficients?: boolean;
}

/**
 * Parses the header of a JPEG, PNG, GIF or WebP image.
 *
 * @param bytes The compressed image (only its header is read).
 * @returns The header, or `null` when the format is not one of those or
 * the header is truncated or malformed.
 *
 * @example A progressive JPEG's header
 * ```ts
 * import sharp from "sharp";
 * import { readImageHeader } from "./image_header.ts";
 * import assert from "node:assert/strict";
 * const jpeg = await sharp({ create: { width: 40, height: 30, channels: 3, background: "red" } })
 *   .jpeg({ progressive: true }).toBuffer();
 * const h = readImageHeader(jpeg)!;
 * assert.deepEqual([h.format, h.width, h.height, h.progressive], ["jpeg", 40, 30, true]);
 * ```
 */
export function readImageHeader(bytes: Uint8Array): ImageHeader | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    return readJpeg(bytes);
  }
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47]) && bytes.length >= 24) {
    const dv = view(bytes);
    return {
      format: "png",
      width: dv.getUint32(16),
      height: dv.getUint32(20),
    };
  }
  if (startsWith(bytes, [0x47, 0x49, 0x46, 0x38]) && bytes.length >= 10) {
    const dv = view(bytes);
    return {
      format: "gif",
      width: dv.getUint16(6, true),
      height: dv.getUint16(8, true),
    };
  }
  if (
    startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && bytes.length >= 30 &&
    bytes[8] === 0x57 && bytes[9] === 0x45 && bytes[10] === 0x42 &&
    bytes[11] === 0x50
  ) {
    return readWebp(bytes);
  }
  return null;
}

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function readWebp(bytes: Uint8Array): ImageHeader | null {
  const dv = view(bytes);
  const chunk = String.fromCharCode(bytes[12], bytes[13], bytes[14], bytes[15]);
  const u24 = (at: number) => dv.getUint16(at, true) | (bytes[at + 2] << 16);
  if (chunk === "VP8X") {
    return { format: "webp", width: u24(24) + 1, height: u24(27) + 1 };
  }
  if (chunk === "VP8L") {
    const bits = dv.getUint32(21, true);
    return {
      format: "webp",
      width: (bits & 0x3fff) + 1,
      height: ((bits >>> 14) & 0x3fff) + 1,
    };
  }
  if (chunk === "VP8 ") {
    return {
      format: "webp",
      width: dv.getUint16(26, true) & 0x3fff,
      height: dv.getUint16(28, true) & 0x3fff,
    };
  }
  return null;
}

/** Start-of-frame markers libjpeg knows (not DHT C4, JPG C8, DAC CC). */
function isSof(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 &&
    marker !== 0xc8 && marker !== 0xcc;
}

/**
 * Walks the marker segments up to the first start of scan: SOFn gives the
 * size and components, SOS how many components the first scan holds.
 */
function readJpeg(bytes: Uint8Array): ImageHeader | null {
  let at = 2;
  let frame: ImageHeader | null = null;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return null;
    const marker = bytes[at + 1];
    if (marker === 0xff) { // fill byte
      at++;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; // standalone markers
      continue;
    }
    const len = (bytes[at + 2] << 8) | bytes[at + 3];
    if (len < 2 || at + 2 + len > bytes.length) return null;
    const seg = at + 4;
    if (isSof(marker)) {
      // libjpeg refuses a second SOF ("two SOF markers"), so its size is
      // never decoded: neither is it read here.
      if (len < 8 || frame) return null;
      const height = (bytes[seg + 1] << 8) | bytes[seg + 2];
      const width = (bytes[seg + 3] << 8) | bytes[seg + 4];
      const n = bytes[seg + 5];
      if (n < 1 || len < 8 + 3 * n || width === 0 || height === 0) {
        return null;
      }
      const components: JpegComponent[] = [];
      for (let c = 0; c < n; c++) {
        const s = bytes[seg + 6 + 3 * c + 1];
        components.push({ h: Math.max(1, s >> 4), v: Math.max(1, s & 15) });
      }
      const progressive = marker === 0xc2 || marker === 0xc6 ||
        marker === 0xca || marker === 0xce;
      frame = {
        format: "jpeg",
        width,
        height,
        components,
        progressive,
        fullCoefficients: progressive,
      };
    } else if (marker === 0xda) { // SOS: the first scan
      if (!frame) return null;
      const inScan = bytes[seg];
      frame.fullCoefficients = frame.progressive! ||
        inScan < frame.components!.length;
      return frame;
    } else if (marker === 0xd9) {
      return frame;
    }
    at += 2 + len;
  }
  return frame; // truncated before SOS: what the frame says (or null)
}

/**
 * Whether `bytes` start like an image some decoder here may load (sharp's
 * libvips loaders: JPEG, PNG, GIF, WebP, TIFF, HEIF/AVIF, SVG, JPEG 2000,
 * JPEG XL, PDF, FITS, PPM/PFM, Radiance, OpenEXR, BMP). Bytes that start
 * like none of them fail to decode without decoding anything, so they need
 * no pixel-sized working memory.
 *
 * @param bytes The compressed bytes.
 * @returns `false` for bytes no loader recognizes.
 *
 * @example
 * ```ts
 * import { mayBeImage } from "./image_header.ts";
 * import assert from "node:assert/strict";
 * assert.equal(mayBeImage(new TextEncoder().encode("not an image")), false);
 * assert.equal(mayBeImage(new Uint8Array([0xff, 0xd8, 0xff])), true);
 * ```
 */
export function mayBeImage(bytes: Uint8Array): boolean {
  const ascii = (at: number, text: string) =>
    bytes.length >= at + text.length &&
    [...text].every((c, i) => bytes[at + i] === c.charCodeAt(0));
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xd8) return true;
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0x0a) return true;
  if (
    ["\x89PNG", "GIF8", "II*\0", "MM\0*", "%PDF", "SIMPLE", "#?", "BM"]
      .some((m) => ascii(0, m)) ||
    (ascii(0, "RIFF") && ascii(8, "WEBP")) ||
    ascii(4, "ftyp") || ascii(4, "jP  ") || ascii(4, "JXL ") ||
    (bytes.length >= 4 && bytes[0] === 0x76 && bytes[1] === 0x2f &&
      bytes[2] === 0x31 && bytes[3] === 0x01) ||
    (bytes.length >= 2 && bytes[0] === 0x50 && bytes[1] >= 0x31 &&
      bytes[1] <= 0x37) ||
    ascii(0, "PF") || ascii(0, "Pf")
  ) return true;
  // SVG / XML: optional BOM and white space, then "<".
  let i = ascii(0, "\xef\xbb\xbf") ? 3 : 0;
  while (
    i < bytes.length && i < 4096 &&
    " \t\r\n".includes(String.fromCharCode(bytes[i]))
  ) i++;
  return i < bytes.length && bytes[i] === 0x3c;
}
