/**
 * Loads manifest rows for the explorer, bounded: from the coordinator's
 * `GetManifestStream`, or from a local `--manifest-path` copy when the stream
 * fails. At most `limit` rows are kept; the rest is not read from the stream
 * (a file is still hashed to the end, to compare it with the job's pin).
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { ManifestRow } from "../manifest/row.ts";
import { streamManifestRows } from "../manifest/stream.ts";
import { errorLine, type TuiClient } from "./poller.ts";

/** Default row limit of the explorer. */
export const MANIFEST_ROW_LIMIT = 200_000;

/** Rows loaded for the explorer and where they came from. */
export interface LoadedManifest {
  /** Rows in sample_id order (at most the limit). */
  rows: ManifestRow[];
  /** Whether the manifest has more rows than were kept. */
  truncated: boolean;
  /** `stream` (coordinator) or `file` (--manifest-path). */
  source: "stream" | "file";
  /** The file, for `file`. */
  path?: string;
  /** Context for the operator: why the file is shown, whether it matches the pin. */
  note?: string;
}

/** Options of {@linkcode loadManifest}. */
export interface LoadManifestOptions {
  /** Job id. */
  jobId: string;
  /** The job's pinned manifest hash (from the snapshot), if known. */
  manifestHash?: string;
  /** Local fallback copy used when the stream fails. */
  manifestPath?: string;
  /** Rows to keep (default {@linkcode MANIFEST_ROW_LIMIT}). */
  limit?: number;
  /** Deadline of the stream call (default 60000). */
  timeoutMs?: number;
  /** Cancels loading. */
  signal?: AbortSignal;
}

/**
 * Reads at most `limit` rows from manifest chunks.
 *
 * @param chunks Canonical manifest bytes, in order.
 * @param name Source name for errors.
 * @param limit Rows to keep.
 * @returns The rows and whether more followed.
 * @throws {ManifestError} On malformed rows.
 */
export async function collectRows(
  chunks: AsyncIterable<Uint8Array>,
  name: string,
  limit: number,
): Promise<{ rows: ManifestRow[]; truncated: boolean }> {
  const rows: ManifestRow[] = [];
  for await (const row of streamManifestRows(chunks, name)) {
    if (rows.length >= limit) return { rows, truncated: true };
    rows.push(row);
  }
  return { rows, truncated: false };
}

async function* chunkData(
  stream: AsyncIterable<{ data: Uint8Array }>,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of stream) yield chunk.data;
}

async function fromFile(
  path: string,
  limit: number,
  manifestHash: string | undefined,
): Promise<{ rows: ManifestRow[]; truncated: boolean; match?: boolean }> {
  const file = await Deno.open(path);
  const reader = file.readable.getReader();
  const hash = createHash("sha256");
  async function* chunks(): AsyncGenerator<Uint8Array> {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      hash.update(value);
      yield value;
    }
  }
  try {
    const got = await collectRows(chunks(), path, limit);
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
    }
    return {
      ...got,
      match: manifestHash ? hash.digest("hex") === manifestHash : undefined,
    };
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/**
 * Loads the explorer's rows: the coordinator stream first, then the local
 * file when the stream fails (or when no manifest hash is known yet).
 *
 * @param client Coordinator client.
 * @param options Job, hash, fallback path, limit.
 * @returns The rows and their source.
 * @throws {Error} When no source works; the message names every failure.
 */
export async function loadManifest(
  client: TuiClient,
  options: LoadManifestOptions,
): Promise<LoadedManifest> {
  const limit = options.limit ?? MANIFEST_ROW_LIMIT;
  let streamError = "no manifest_hash yet (coordinator not reached)";
  if (options.manifestHash) {
    try {
      const stream = client.getManifestStream(
        { jobId: options.jobId, manifestHash: options.manifestHash },
        { signal: options.signal, timeoutMs: options.timeoutMs ?? 60_000 },
      );
      const got = await collectRows(
        chunkData(stream),
        "GetManifestStream",
        limit,
      );
      return { ...got, source: "stream" };
    } catch (err) {
      if (options.signal?.aborted) throw err;
      streamError = `stream failed: ${errorLine(err)}`;
    }
  }
  if (!options.manifestPath) {
    throw new Error(`${streamError}; no --manifest-path fallback given`);
  }
  try {
    const got = await fromFile(
      options.manifestPath,
      limit,
      options.manifestHash,
    );
    const pin = got.match === undefined
      ? "not checked against a manifest_hash"
      : got.match
      ? "sha256 matches the job's manifest_hash"
      : "sha256 DIFFERS from the job's manifest_hash (other snapshot or non-canonical file)";
    return {
      rows: got.rows,
      truncated: got.truncated,
      source: "file",
      path: options.manifestPath,
      note: `--manifest-path fallback, ${pin}; ${streamError}`,
    };
  } catch (err) {
    throw new Error(
      `${streamError}; --manifest-path ${options.manifestPath} failed: ${
        errorLine(err)
      }`,
    );
  }
}
