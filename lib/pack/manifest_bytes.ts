/**
 * The manifest of a pack, encoded straight from its layout: one canonical
 * row per file, without building a row object array (it keeps the heap small
 * for millions of files).
 *
 * @module
 */
import { imageFolderHint, MANIFEST_HEADER } from "../manifest/row.ts";
import { formatManifestRow } from "../manifest/tsv.ts";
import { dataOffset, type PackPlan, shardLocation } from "./plan.ts";

const enc = new TextEncoder();

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
  const locations = plan.shardSizes.map((_, k) => shardLocation(k));
  const hints: string[] = [];
  let buf = new Uint8Array(64 + plan.files.length * 64);
  let len = enc.encodeInto(MANIFEST_HEADER + "\n", buf).written;
  for (let i = 0; i < plan.files.length; i++) {
    const label = labelIds?.[i];
    const line = formatManifestRow({
      sampleId: i,
      location: locations[plan.shardOf[i]],
      byteOffset: dataOffset(plan, i),
      byteLength: plan.files[i].size,
      decodeHint: label === undefined
        ? undefined
        : (hints[label] ??= imageFolderHint(label)),
    });
    // A line is at most 3 bytes per UTF-16 unit.
    if (buf.length - len < line.length * 3) {
      const bigger = new Uint8Array(
        Math.max(buf.length * 2, len + line.length * 3),
      );
      bigger.set(buf.subarray(0, len));
      buf = bigger;
    }
    len += enc.encodeInto(line, buf.subarray(len)).written;
  }
  return buf.slice(0, len);
}
