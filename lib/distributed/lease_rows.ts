/**
 * Zero-manifest row fetching: stream the pinned manifest from the
 * coordinator and keep only the rows of one lease's range.
 *
 * @module
 */
import type { Client } from "@connectrpc/connect";
import type { Coordinator } from "../gen/mx8/v1/coordinator_pb.ts";
import type { ManifestRow } from "../manifest/row.ts";
import { streamManifestRows } from "../manifest/stream.ts";

/**
 * Returns the manifest rows with ids in `[startId, endId)`, reading the
 * manifest stream only as far as needed (memory: the rows of the range).
 *
 * @param client Coordinator client.
 * @param jobId Job id.
 * @param manifestHash Pinned manifest hash.
 * @param startId First id (inclusive).
 * @param endId Last id (exclusive).
 * @param signal Abort signal.
 * @returns Rows in id order.
 */
export async function fetchLeaseRows(
  client: Client<typeof Coordinator>,
  jobId: string,
  manifestHash: string,
  startId: number,
  endId: number,
  signal?: AbortSignal,
): Promise<ManifestRow[]> {
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const rows: ManifestRow[] = [];
  try {
    const chunks = client.getManifestStream({ jobId, manifestHash }, {
      signal: stop.signal,
    });
    for await (
      const row of streamManifestRows(
        chunkData(chunks),
        `coordinator manifest ${manifestHash}`,
      )
    ) {
      if (row.sampleId >= endId) break;
      if (row.sampleId >= startId) rows.push(row);
    }
  } finally {
    stop.abort();
    signal?.removeEventListener("abort", onAbort);
  }
  if (rows.length !== endId - startId) {
    throw new Error(
      `manifest stream ended after ${rows.length} of ${
        endId - startId
      } rows of lease range [${startId}, ${endId})`,
    );
  }
  return rows;
}

async function* chunkData(
  chunks: AsyncIterable<{ data: Uint8Array }>,
): AsyncGenerator<Uint8Array> {
  for await (const c of chunks) yield c.data;
}
