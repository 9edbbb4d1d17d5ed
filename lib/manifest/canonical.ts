/**
 * Canonical manifest bytes from a manifest as written, without holding its
 * rows: a manifest already in canonical form (what `mx8 pack` and
 * `serializeManifest` write) is checked row by row as a stream and returned
 * as is, so indexing a 1M-row manifest costs its bytes, not an array of a
 * million row objects.
 *
 * @module
 */
import { MANIFEST_HEADER } from "./row.ts";
import { manifestRowsOf } from "./stream.ts";
import { formatManifestRow, parseManifest, serializeManifest } from "./tsv.ts";
import { ManifestError } from "../errors.ts";

const encoder = new TextEncoder();

/** Appends canonical lines; stays a view of the input while they match it. */
class CanonicalWriter {
  #input: Uint8Array;
  #pos = 0;
  #out: Uint8Array | null = null;
  #scratch = new Uint8Array(4096);

  constructor(input: Uint8Array) {
    this.#input = input;
  }

  add(line: string): void {
    if (this.#scratch.length < line.length * 3) {
      this.#scratch = new Uint8Array(line.length * 3);
    }
    const n = encoder.encodeInto(line, this.#scratch).written;
    const bytes = this.#scratch.subarray(0, n);
    if (this.#out === null) {
      if (this.#matches(bytes)) {
        this.#pos += n;
        return;
      }
      // First difference: from here on build the canonical bytes.
      this.#out = new Uint8Array(Math.max(this.#input.length, 1024) + n);
      this.#out.set(this.#input.subarray(0, this.#pos));
    }
    if (this.#pos + n > this.#out.length) {
      const bigger = new Uint8Array(
        Math.max(this.#out.length * 2, this.#pos + n),
      );
      bigger.set(this.#out.subarray(0, this.#pos));
      this.#out = bigger;
    }
    this.#out.set(bytes, this.#pos);
    this.#pos += n;
  }

  #matches(bytes: Uint8Array): boolean {
    const input = this.#input;
    if (this.#pos + bytes.length > input.length) return false;
    for (let i = 0; i < bytes.length; i++) {
      if (input[this.#pos + i] !== bytes[i]) return false;
    }
    return true;
  }

  /** The canonical bytes: the input itself (or a prefix) when it was canonical. */
  finish(): Uint8Array {
    if (this.#out === null) {
      return this.#pos === this.#input.length
        ? this.#input
        : this.#input.subarray(0, this.#pos);
    }
    return this.#out.subarray(0, this.#pos);
  }
}

/**
 * Returns the canonical bytes of a manifest (`serializeManifest` of its
 * rows), streaming when its rows are in id order and falling back to
 * {@linkcode parseManifest} otherwise (rows out of order, or any error, which
 * is then reported as `parseManifest` words it).
 *
 * @example An already canonical manifest comes back as the same bytes
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalManifest } from "./canonical.ts";
 * import { serializeManifest } from "./tsv.ts";
 * const bytes = serializeManifest([{ sampleId: 0, location: "a.jpg" }]);
 * assert.equal(await canonicalManifest(bytes, "m.tsv"), bytes);
 * ```
 *
 * @param bytes The manifest as written.
 * @param file Source name for errors.
 * @returns Canonical bytes (the input itself when it already was).
 * @throws {ManifestError} When the manifest is malformed.
 */
export async function canonicalManifest(
  bytes: Uint8Array,
  file: string,
): Promise<Uint8Array> {
  try {
    const out = new CanonicalWriter(bytes);
    out.add(MANIFEST_HEADER + "\n");
    for await (const row of manifestRowsOf(bytes, file)) {
      out.add(formatManifestRow(row));
    }
    return out.finish();
  } catch (err) {
    if (!(err instanceof ManifestError)) throw err;
    return serializeManifest(parseManifest(bytes, file));
  }
}
