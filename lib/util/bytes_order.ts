/**
 * Byte-order comparison of strings (UTF-8), the order manifests and labels use.
 *
 * @module
 */

const enc = new TextEncoder();

/**
 * Compares two strings by their UTF-8 bytes (not UTF-16 code units).
 *
 * @param a First string.
 * @param b Second string.
 * @returns Negative, zero or positive like `Array.prototype.sort` wants.
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  // Fast path: pure ASCII strings compare the same in UTF-16 and UTF-8.
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(a) && /^[\x00-\x7f]*$/.test(b)) {
    return a < b ? -1 : 1;
  }
  const x = enc.encode(a);
  const y = enc.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
