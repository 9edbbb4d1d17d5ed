/**
 * SHA-256 helpers (hex digests).
 *
 * @module
 */
import { createHash } from "node:crypto";

/**
 * Returns the lowercase hex SHA-256 of bytes or UTF-8 text.
 *
 * @param data Bytes or text.
 * @returns 64 lowercase hex digits.
 */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}
