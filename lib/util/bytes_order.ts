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
  // UTF-16 code units order like UTF-8 bytes (= code points) except where
  // a surrogate (a character above U+FFFF, or a lone one) meets the first
  // difference: only then encode. No allocation otherwise, so sorting many
  // paths makes no garbage.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if ((x & 0xf800) !== 0xd800 && (y & 0xf800) !== 0xd800) return x - y;
    return compareEncoded(a, b);
  }
  return a.length - b.length;
}

function compareEncoded(a: string, b: string): number {
  const x = enc.encode(a);
  const y = enc.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
