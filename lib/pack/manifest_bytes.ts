/**
 * The manifest of a pack, encoded straight from its layout: one canonical
 * row per file, without building a row object array (it keeps the heap small
 * for millions of files).
 *
 * @module
 */
import { collectBytes } from "../util/bytes_concat.ts";
import { putDecimal } from "../util/digits.ts";
import { imageFolderHint, MANIFEST_HEADER } from "../manifest/row.ts";
import { dataOffset, type PackPlan, shardLocation } from "./plan.ts";

const enc = new TextEncoder();

/** Bytes per chunk of {@linkcode manifestChunks}. */
export const MANIFEST_CHUNK_BYTES = 256 * 1024;

/**
 * The canonical manifest of a pack, in chunks of about `chunkBytes` (rows
 * never split), so the whole manifest need not be in memory at once. Each
 * row is written byte by byte (ids and offsets as digits, shard locations
 * and hints encoded once): the same bytes as `formatManifestRow` gives,
 * with no string or object made per row.
 *
 * @param plan The pack layout.
 * @param labelIds Label id of each file, when labelled.
 * @param chunkBytes Target chunk size.
 * @param rowHints Decode hint of each file, replacing the label hint (a
 *   video's index; see `lib/pack/video_index.ts`).
 * @returns The chunks, in order: views of one reused buffer, each valid
 * until the next is asked for (copy a chunk to keep it).
 */
export function* manifestChunks(
  plan: PackPlan,
  labelIds?: Int32Array,
  chunkBytes: number = MANIFEST_CHUNK_BYTES,
  rowHints?: readonly (string | undefined)[],
): Generator<Uint8Array> {
  const locations = plan.shardSizes.map((_, k) => enc.encode(shardLocation(k)));
  const hints: Uint8Array[] = [];
  const TAB = 0x09;
  const size = Math.max(1024, chunkBytes);
  let buf = new Uint8Array(Math.max(size, 4 * 16 + 5 + 1024));
  let len = enc.encodeInto(MANIFEST_HEADER + "\n", buf).written;
  for (let i = 0; i < plan.files.length; i++) {
    const label = labelIds?.[i];
    const location = locations[plan.shardOf[i]];
    const own = rowHints?.[i];
    const hint = own !== undefined
      ? enc.encode(own)
      : label === undefined
      ? undefined
      : (hints[label] ??= enc.encode(imageFolderHint(label)));
    // 3 numbers of at most 16 digits (+ the id's), 4 tabs, a newline.
    const most = 4 * 16 + 5 + location.length + (hint?.length ?? 0);
    if (len + most > buf.length) {
      yield buf.subarray(0, len);
      len = 0;
      // A row longer than a chunk (a long video's keyframe list).
      if (most > buf.length) buf = new Uint8Array(most);
    }
    len = putDecimal(buf, len, i);
    buf[len++] = TAB;
    buf.set(location, len);
    len += location.length;
    buf[len++] = TAB;
    len = putDecimal(buf, len, dataOffset(plan, i));
    buf[len++] = TAB;
    len = putDecimal(buf, len, plan.files.size(i));
    buf[len++] = TAB;
    if (hint) {
      buf.set(hint, len);
      len += hint.length;
    }
    buf[len++] = 0x0a;
  }
  yield buf.subarray(0, len);
}

/**
 * Encodes the manifest of a packed dataset: the same bytes as
 * `serializeManifest` of its rows (`location = shards/shard-NNNNN.tar`,
 * `byte_offset` = data start, `byte_length` = file size, ImageFolder hint
 * when labelled).
 *
 * @example Same bytes as serializeManifest
 * ```ts
 * import assert from "node:assert/strict";
 * import { serializeManifest } from "../manifest/tsv.ts";
 * import { manifestBytes } from "./manifest_bytes.ts";
 * import { planShards } from "./plan.ts";
 * const plan = planShards([{ rel: "a.jpg", size: 3 }], 1 << 20, "src");
 * assert.deepEqual(manifestBytes(plan), serializeManifest([
 *   { sampleId: 0, location: "shards/shard-00000.tar", byteOffset: 512, byteLength: 3 },
 * ]));
 * ```
 *
 * @param plan The pack layout.
 * @param labelIds Label id of each file, when labelled.
 * @returns Canonical manifest bytes.
 */
export function manifestBytes(
  plan: PackPlan,
  labelIds?: Int32Array,
): Uint8Array {
  return collectBytes(manifestChunks(plan, labelIds));
}
