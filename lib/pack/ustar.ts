/**
 * POSIX ustar encoding for pack shards: one 512-byte header per regular file
 * (mode 0644, uid/gid 0, mtime 0), data padded to 512 bytes, and two zero
 * blocks closing each archive. GNU tar lists and extracts the result.
 *
 * @module
 */
import { putDigits } from "../util/digits.ts";

/** Size of a tar block, header and padding unit. */
export const TAR_BLOCK = 512;

/** The end-of-archive marker: two zero blocks. */
export const TAR_END: Uint8Array = new Uint8Array(2 * TAR_BLOCK);

/** Longest entry name (UTF-8 bytes) the ustar `name` field holds. */
export const USTAR_NAME_MAX = 100;

// Field offsets and widths (POSIX.1-1988 ustar).
const MODE = 100;
const UID = 108;
const GID = 116;
const SIZE = 124;
const MTIME = 136;
const CHKSUM = 148;
const TYPEFLAG = 156;
const MAGIC = 257;
const VERSION = 263;
const DEVMAJOR = 329;
const DEVMINOR = 337;

/** Largest size the 11 octal digits of the size field hold (8 GiB − 1). */
const MAX_OCTAL_SIZE = 8 ** 11 - 1;

const enc = new TextEncoder();

function putAscii(h: Uint8Array, at: number, text: string): void {
  for (let i = 0; i < text.length; i++) h[at + i] = text.charCodeAt(i);
}

/** Writes `value` as `width - 1` zero-padded octal digits (no allocation). */
function putOctal(h: Uint8Array, at: number, width: number, value: number) {
  putDigits(h, at, width - 1, value, 8);
}

function putBase256(h: Uint8Array, at: number, width: number, value: number) {
  let v = BigInt(value);
  for (let i = width - 1; i > 0; i--) {
    h[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  h[at] = 0x80;
}

/** The fields every header shares; name, size and checksum are left zero. */
const TEMPLATE = (() => {
  const h = new Uint8Array(TAR_BLOCK);
  putAscii(h, MODE, "0000644\0");
  putOctal(h, UID, 8, 0);
  putOctal(h, GID, 8, 0);
  putOctal(h, MTIME, 12, 0);
  h[TYPEFLAG] = 0x30; // '0': regular file
  putAscii(h, MAGIC, "ustar\0");
  putAscii(h, VERSION, "00");
  putOctal(h, DEVMAJOR, 8, 0);
  putOctal(h, DEVMINOR, 8, 0);
  return h;
})();

/**
 * Returns the number of padding bytes that follow `size` data bytes.
 *
 * @param size Data size in bytes.
 * @returns 0–511.
 */
export function tarPadding(size: number): number {
  const rem = size % TAR_BLOCK;
  return rem === 0 ? 0 : TAR_BLOCK - rem;
}

/**
 * Returns the bytes one entry occupies: header, data and padding.
 *
 * @param size Data size in bytes.
 * @returns `512 + size` rounded up to a multiple of 512.
 */
export function tarEntrySpan(size: number): number {
  return TAR_BLOCK + size + tarPadding(size);
}

/**
 * Starts a header in `into`: every shared field set, name, size and checksum
 * still zero. Finish it with {@linkcode finishUstarHeader}.
 *
 * @param into A 512-byte block.
 * @returns `into`.
 * @throws {RangeError} When `into` is not 512 bytes.
 */
export function beginUstarHeader(into: Uint8Array): Uint8Array {
  if (into.length !== TAR_BLOCK) {
    throw new RangeError(`Tar header block must be ${TAR_BLOCK} bytes`);
  }
  into.set(TEMPLATE);
  return into;
}

/**
 * Finishes a header started with {@linkcode beginUstarHeader} whose name is
 * written: sets the size (octal, or GNU base-256 from 8 GiB) and the
 * checksum. Allocates nothing below 8 GiB.
 *
 * @param h The header block.
 * @param size File size in bytes.
 * @returns `h`.
 * @throws {RangeError} When `size` is not a byte count.
 */
export function finishUstarHeader(h: Uint8Array, size: number): Uint8Array {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`Tar entry size ${size} is not a valid byte count`);
  }
  if (size <= MAX_OCTAL_SIZE) putOctal(h, SIZE, 12, size);
  else putBase256(h, SIZE, 12, size);
  // Checksum: byte sum with the checksum field read as 8 spaces.
  let sum = 8 * 0x20;
  for (let i = 0; i < TAR_BLOCK; i++) {
    if (i < CHKSUM || i >= CHKSUM + 8) sum += h[i];
  }
  putOctal(h, CHKSUM, 7, sum);
  h[CHKSUM + 6] = 0;
  h[CHKSUM + 7] = 0x20;
  return h;
}

/**
 * Encodes the 512-byte ustar header of a regular file with mode 0644,
 * uid/gid 0 and mtime 0.
 *
 * @example Encode a header
 * ```ts
 * import assert from "node:assert/strict";
 * import { ustarHeader } from "./ustar.ts";
 * const h = ustarHeader("00000000000000000000.jpg", 1234);
 * assert.equal(h.length, 512);
 * assert.equal(new TextDecoder().decode(h.subarray(257, 263)), "ustar\0");
 * ```
 *
 * @param name Entry name, at most 100 UTF-8 bytes, no `/`.
 * @param size File size in bytes.
 * @param into A 512-byte block to encode into (default: a new one); reusing
 * one block avoids an allocation per entry.
 * @returns The header block (`into` when given).
 * @throws {RangeError} When the name is too long, the size is invalid, or
 * `into` is not 512 bytes.
 */
export function ustarHeader(
  name: string,
  size: number,
  into: Uint8Array = new Uint8Array(TAR_BLOCK),
): Uint8Array {
  const h = beginUstarHeader(into);
  const { read, written } = enc.encodeInto(name, h.subarray(0, USTAR_NAME_MAX));
  if (written === 0 || read < name.length) {
    throw new RangeError(
      `Tar entry name "${name}" must be 1–${USTAR_NAME_MAX} bytes`,
    );
  }
  return finishUstarHeader(h, size);
}
