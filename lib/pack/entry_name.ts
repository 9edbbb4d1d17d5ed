/**
 * Tar entry names of packed samples: `<20-digit sample index><extension>`.
 *
 * @module
 */

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
  const base = rel.slice(rel.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(dot) : "";
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
