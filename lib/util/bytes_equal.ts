/**
 * Byte-array equality.
 *
 * @module
 */

/**
 * Returns true when two byte arrays hold the same bytes.
 *
 * @param a First array.
 * @param b Second array.
 * @returns Whether they are equal.
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
