/**
 * ASCII digits written straight into a byte buffer (no string made): tar
 * header fields, entry names and manifest numbers in pack's per-file loops.
 *
 * @module
 */

/**
 * Writes `value` as exactly `count` zero-padded digits in `radix` at `at`
 * (higher digits that do not fit are dropped).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { putDigits } from "./digits.ts";
 * const b = new Uint8Array(4);
 * putDigits(b, 0, 4, 0o17, 8);
 * assert.equal(new TextDecoder().decode(b), "0017");
 * ```
 *
 * @param buf Target buffer.
 * @param at Offset of the first digit.
 * @param count Digits to write.
 * @param value A safe non-negative integer.
 * @param radix 2–10.
 */
export function putDigits(
  buf: Uint8Array,
  at: number,
  count: number,
  value: number,
  radix: number,
): void {
  let v = value;
  for (let i = at + count - 1; i >= at; i--) {
    buf[i] = 0x30 + (v % radix);
    v = Math.floor(v / radix);
  }
}

/**
 * Writes the decimal digits of a safe non-negative integer at `at`, no
 * padding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { putDecimal } from "./digits.ts";
 * const b = new Uint8Array(8);
 * assert.equal(putDecimal(b, 1, 4096), 5);
 * assert.equal(new TextDecoder().decode(b.subarray(1, 5)), "4096");
 * ```
 *
 * @param buf Target buffer.
 * @param at Offset of the first digit.
 * @param value The number.
 * @returns The offset after the last digit.
 */
export function putDecimal(buf: Uint8Array, at: number, value: number): number {
  let digits = 1;
  for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
  putDigits(buf, at, digits, value, 10);
  return at + digits;
}
