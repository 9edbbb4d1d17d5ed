/**
 * Cutting the canonical manifest into the ordered chunks of
 * GetManifestStream.
 *
 * @module
 */

/** Largest chunk GetManifestStream sends: 1 MiB. */
export const MANIFEST_CHUNK_BYTES = 1048576;

/**
 * Yields consecutive views of `bytes`, each at most `chunkBytes` long; their
 * concatenation is `bytes`. An empty input yields nothing.
 *
 * @param bytes The manifest bytes.
 * @param chunkBytes Largest chunk, a positive integer (default 1 MiB).
 * @returns The chunks, in order (views, not copies).
 * @throws {RangeError} If `chunkBytes` is not a positive integer.
 *
 * @example Cut five bytes into chunks of two
 * ```ts
 * import assert from "node:assert/strict";
 * import { manifestChunks } from "./manifest_chunks.ts";
 *
 * const chunks = [...manifestChunks(new Uint8Array([1, 2, 3, 4, 5]), 2)];
 * assert.deepEqual(chunks.map((c) => [...c]), [[1, 2], [3, 4], [5]]);
 * ```
 */
export function* manifestChunks(
  bytes: Uint8Array,
  chunkBytes: number = MANIFEST_CHUNK_BYTES,
): Generator<Uint8Array> {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) {
    throw new RangeError(
      `Chunk size must be a positive integer: ${chunkBytes}`,
    );
  }
  for (let at = 0; at < bytes.length; at += chunkBytes) {
    yield bytes.subarray(at, Math.min(at + chunkBytes, bytes.length));
  }
}
