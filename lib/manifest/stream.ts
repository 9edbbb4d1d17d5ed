/**
 * Streaming manifest reader: yields rows from a byte stream in bounded
 * memory. Used by agents that keep only the rows of their leases.
 *
 * @module
 */
import { ManifestError } from "../errors.ts";
import type { ManifestRow } from "./row.ts";
import {
  checkManifestHeader,
  isSkippableLine,
  parseManifestRow,
} from "./tsv.ts";

/**
 * Reads manifest rows from chunks of canonical manifest bytes. Rows must be in
 * id order `0, 1, 2, …` (the canonical form), so no row needs to be kept.
 *
 * @param chunks Byte chunks in order.
 * @param file Source name for errors.
 * @yields Each row, in id order.
 * @throws {ManifestError} On malformed or out-of-order rows.
 */
export async function* streamManifestRows(
  chunks: AsyncIterable<Uint8Array>,
  file: string,
): AsyncGenerator<ManifestRow> {
  const decoder = new TextDecoder();
  let pending = "";
  let lineNo = 0;
  let sawHeader = false;
  let nextId = 0;
  const take = (text: string): ManifestRow | undefined => {
    lineNo++;
    if (isSkippableLine(text)) return undefined;
    if (!sawHeader) {
      checkManifestHeader(text, file, lineNo);
      sawHeader = true;
      return undefined;
    }
    const row = parseManifestRow(text, file, lineNo);
    if (row.sampleId !== nextId) {
      throw new ManifestError(
        file,
        lineNo,
        `sample_id ${row.sampleId} out of order: expected ${nextId} (streams carry rows sorted by id)`,
      );
    }
    nextId++;
    return row;
  };
  for await (const chunk of chunks) {
    pending += decoder.decode(chunk, { stream: true });
    let nl: number;
    let start = 0;
    while ((nl = pending.indexOf("\n", start)) >= 0) {
      const row = take(pending.slice(start, nl));
      start = nl + 1;
      if (row) yield row;
    }
    pending = pending.slice(start);
  }
  pending += decoder.decode();
  if (pending !== "") {
    const row = take(pending);
    if (row) yield row;
  }
  if (!sawHeader) {
    throw new ManifestError(file, 0, "empty manifest: no header line");
  }
}

/** Bytes handed to the line splitter at a time by {@linkcode manifestRowsOf}. */
const PIECE_BYTES = 1 << 20;

/**
 * {@linkcode streamManifestRows} over manifest bytes already in memory, fed
 * in 1 MiB pieces: the rows without an array of them.
 *
 * @param bytes Manifest bytes.
 * @param file Source name for errors.
 * @returns The rows, in id order.
 * @throws {ManifestError} On malformed or out-of-order rows.
 */
export function manifestRowsOf(
  bytes: Uint8Array,
  file: string,
): AsyncGenerator<ManifestRow> {
  async function* pieces() {
    for (let at = 0; at < bytes.length; at += PIECE_BYTES) {
      yield bytes.subarray(at, at + PIECE_BYTES);
    }
  }
  return streamManifestRows(pieces(), file);
}
