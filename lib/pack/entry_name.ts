/**
 * Tar entry names of packed samples: `<20-digit sample index><extension>`.
 *
 * @module
 */
import { putDigits } from "../util/digits.ts";
import {
  beginUstarHeader,
  finishUstarHeader,
  USTAR_NAME_MAX,
  ustarHeader,
} from "./ustar.ts";

/** Digits of the zero-padded sample index in an entry name. */
export const ENTRY_INDEX_DIGITS = 20;

/**
 * Returns the extension of a relative path: its basename from the last `.`
 * (case kept), or `""` when the basename has no `.` after its first
 * character (`.bashrc` and `README` have no extension).
 *
 * @example Extensions
 * ```ts
 * import assert from "node:assert/strict";
 * import { extensionOf } from "./entry_name.ts";
 * assert.equal(extensionOf("cat/IMG_1.JPG"), ".JPG");
 * assert.equal(extensionOf("a.tar.gz"), ".gz");
 * assert.equal(extensionOf("dir.d/README"), "");
 * assert.equal(extensionOf(".bashrc"), "");
 * ```
 *
 * @param rel `/`-separated relative path.
 * @returns The extension with its dot, or `""`.
 */
export function extensionOf(rel: string): string {
  const dot = extensionAt(rel, 0, rel.length);
  return dot < 0 ? "" : rel.slice(dot);
}

/**
 * Where the extension (see {@linkcode extensionOf}) of the path
 * `text.slice(start, end)` starts in `text`: the index of its dot, or -1.
 */
function extensionAt(text: string, start: number, end: number): number {
  let dot = -1;
  let i = end - 1;
  for (; i >= start; i--) {
    const c = text.charCodeAt(i);
    if (c === 0x2f) break; // "/"
    if (c === 0x2e && dot < 0) dot = i;
  }
  return dot > i + 1 ? dot : -1; // a leading dot starts a name, not an extension
}

/**
 * Returns the tar entry name of sample `index` packed from `rel`.
 *
 * @example Entry name
 * ```ts
 * import assert from "node:assert/strict";
 * import { entryName } from "./entry_name.ts";
 * assert.equal(entryName(7, "dog/x.png"), "00000000000000000007.png");
 * ```
 *
 * @param index Sample index (= sample_id).
 * @param rel Relative path of the source file.
 * @returns The entry name.
 */
export function entryName(index: number, rel: string): string {
  return String(index).padStart(ENTRY_INDEX_DIGITS, "0") + extensionOf(rel);
}

/**
 * Writes the ustar header of sample `index` (file `rel`, `size` bytes) into
 * `into`: the same block as `ustarHeader(entryName(index, rel), size)`,
 * without building the name string (the pack loop runs once per file).
 *
 * @param index Sample index.
 * @param rel Relative path of the input file.
 * @param size File size in bytes.
 * @param into A 512-byte block.
 * @returns `into`.
 * @throws {RangeError} When the name would not fit (see `planShards`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { entryHeader, entryName } from "./entry_name.ts";
 * import { ustarHeader } from "./ustar.ts";
 * const a = entryHeader(42, "cats/x.jpg", 1234, new Uint8Array(512));
 * assert.deepEqual(a, ustarHeader(entryName(42, "cats/x.jpg"), 1234));
 * ```
 */
export function entryHeader(
  index: number,
  rel: string,
  size: number,
  into: Uint8Array,
): Uint8Array {
  const h = beginUstarHeader(into);
  putDigits(h, 0, ENTRY_INDEX_DIGITS, index, 10);
  const dot = extensionAt(rel, 0, rel.length);
  if (dot >= 0) {
    let at = ENTRY_INDEX_DIGITS;
    for (let i = dot; i < rel.length; i++) {
      const c = rel.charCodeAt(i);
      if (c >= 0x80) {
        // Rare: a non-ASCII extension goes through the string path.
        return ustarHeader(entryName(index, rel), size, into);
      }
      if (at === USTAR_NAME_MAX) {
        throw new RangeError(
          `Tar entry name for "${rel}" is over ${USTAR_NAME_MAX} bytes`,
        );
      }
      h[at++] = c;
    }
  }
  return finishUstarHeader(h, size);
}

/**
 * UTF-8 length of the extension (as {@linkcode extensionOf} cuts it) of the
 * path `text.slice(start, end)`, without slicing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { extensionBytesIn } from "./entry_name.ts";
 * assert.equal(extensionBytesIn("a/b.tar.gz", 0, 10), 3);
 * assert.equal(extensionBytesIn("x.d/.hidden", 0, 11), 0);
 * ```
 *
 * @param text String holding the path.
 * @param start Path start.
 * @param end Path end.
 * @returns Bytes of the extension, dot included (0 when none).
 */
export function extensionBytesIn(
  text: string,
  start: number,
  end: number,
): number {
  const dot = extensionAt(text, start, end);
  if (dot < 0) return 0;
  let n = 0;
  for (let k = dot; k < end; k++) {
    const c = text.charCodeAt(k);
    // Surrogate pairs: 2 units, 4 bytes.
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : (c & 0xf800) === 0xd800 ? 2 : 3;
  }
  return n;
}
