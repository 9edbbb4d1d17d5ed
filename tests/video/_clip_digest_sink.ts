/**
 * Test helper: an `mx8 agent --sink module:` sink that appends, for each
 * delivered clip, `clip id, sample id, start seconds, SHA-256 of its
 * pixels` to `$MX8_TEST_CLIP_DIGESTS-<node id>`; and the same digest lines
 * for a batch read in process.
 *
 * @module
 */
import type { AgentBatch } from "../../lib/agent/sink.ts";
import type { ClipBatch } from "../../lib/video/clip_batch.ts";
import { sha256Hex } from "../../lib/util/sha256.ts";

/**
 * One line per clip: `clipId\tsampleId\tstartSeconds\tsha256(pixels)`.
 *
 * @param batch A clip batch (not yet released).
 * @returns The lines, each ending in a newline.
 */
export function clipDigestLines(batch: ClipBatch): string {
  const b = batch.clips.shape[0];
  const bytes = new Uint8Array(
    batch.clips.data.buffer,
    batch.clips.data.byteOffset,
    batch.clips.data.byteLength,
  );
  const per = bytes.length / b;
  let out = "";
  for (let i = 0; i < b; i++) {
    const digest = sha256Hex(bytes.subarray(i * per, (i + 1) * per));
    out += `${batch.clipIds[i]}\t${batch.sampleIds[i]}\t${
      batch.startSeconds[i]
    }\t${digest}\n`;
  }
  return out;
}

/**
 * The sink: appends the batch's digest lines to the node's file.
 *
 * @param batch The delivered batch (clips).
 * @param ctx The agent's node and job ids.
 */
export default async function sink(
  batch: AgentBatch,
  ctx: { nodeId: string },
): Promise<void> {
  if (!("clipIds" in batch)) throw new Error("expected a clip batch");
  const base = Deno.env.get("MX8_TEST_CLIP_DIGESTS");
  if (!base) throw new Error("MX8_TEST_CLIP_DIGESTS is not set");
  await Deno.writeTextFile(`${base}-${ctx.nodeId}`, clipDigestLines(batch), {
    append: true,
  });
}
