/**
 * Pure codecs for etcd's v3 JSON gateway: keys and values travel as base64,
 * 64-bit integers as decimal strings, and zero values are omitted from
 * answers (a missing `succeeded` means false, a missing `TTL` means 0).
 *
 * @module
 */

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

/**
 * Encodes a UTF-8 string as base64, the way the gateway expects keys and values.
 *
 * @param text Text to encode.
 * @returns Base64 of its UTF-8 bytes.
 *
 * @example Round trip
 * ```ts
 * import { decodeText, encodeText } from "./codec.ts";
 * if (decodeText(encodeText("/mx8/jobs/a")) !== "/mx8/jobs/a") throw new Error();
 * ```
 */
export function encodeText(text: string): string {
  return encodeBytes(ENCODER.encode(text));
}

/**
 * Decodes base64 from the gateway into a UTF-8 string; a missing field is "".
 *
 * @param b64 Base64 text, or undefined when etcd omitted an empty value.
 * @returns The decoded text.
 */
export function decodeText(b64: string | undefined): string {
  return DECODER.decode(decodeBytes(b64));
}

/**
 * Encodes bytes as base64.
 *
 * @param bytes Bytes to encode.
 * @returns Base64 text.
 */
export function encodeBytes(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * Decodes base64 into bytes; a missing field is an empty array.
 *
 * @param b64 Base64 text or undefined.
 * @returns The bytes.
 * @throws {SyntaxError} When the text is not base64.
 */
export function decodeBytes(b64: string | undefined): Uint8Array {
  if (b64 === undefined || b64 === "") return new Uint8Array();
  let binary: string;
  try {
    binary = atob(b64);
  } catch {
    throw new SyntaxError(
      `Invalid base64 from etcd: "${b64.slice(0, 40)}"`,
    );
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * Reads an int64 the gateway sent as a decimal string (or omitted as zero)
 * as a number. Revisions and versions stay far below 2^53.
 *
 * @param value The field as sent.
 * @param field Field name for the error message.
 * @returns The number; 0 when omitted.
 * @throws {RangeError} When the value is not a safe integer.
 *
 * @example Omitted zero
 * ```ts
 * import { readInt } from "./codec.ts";
 * if (readInt(undefined, "revision") !== 0) throw new Error();
 * if (readInt("42", "revision") !== 42) throw new Error();
 * ```
 */
export function readInt(value: unknown, field: string): number {
  if (value === undefined || value === null) return 0;
  const n = typeof value === "number" ? value : Number(value);
  if (
    (typeof value !== "string" && typeof value !== "number") ||
    !Number.isSafeInteger(n)
  ) {
    throw new RangeError(
      `etcd field "${field}" is not an integer: ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/**
 * Reads a lease id (a full int64, kept as a decimal string so no precision
 * is lost); an omitted id is "0".
 *
 * @param value The field as sent.
 * @returns The id as a decimal string.
 * @throws {RangeError} When it is not a decimal integer.
 */
export function readId(value: unknown): string {
  if (value === undefined || value === null) return "0";
  const text = String(value);
  if (!/^-?\d+$/.test(text)) {
    throw new RangeError(`etcd lease id is not an integer: ${text}`);
  }
  return text;
}

/**
 * The smallest key greater than every key that starts with `prefix`: the
 * `range_end` that turns a range into a prefix scan, as base64.
 *
 * @param prefix Key prefix (non-empty).
 * @returns The range end, base64-encoded for the gateway.
 *
 * @example Prefix scan bounds
 * ```ts
 * import { decodeText, prefixEnd } from "./codec.ts";
 * if (decodeText(prefixEnd("/mx8/a/")) !== "/mx8/a0") throw new Error();
 * ```
 */
export function prefixEnd(prefix: string): string {
  const bytes = ENCODER.encode(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      const end = bytes.slice(0, i + 1);
      end[i]++;
      return encodeBytes(end);
    }
  }
  return encodeBytes(new Uint8Array([0])); // all 0xff: to the end of the keyspace
}
