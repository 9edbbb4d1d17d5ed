/**
 * The shard layout of a pack, computed from the listing before any byte is
 * read: which shard each file goes to and where its header and data sit.
 * Same listing and shard size, same layout.
 *
 * @module
 */
import { Mx8Error } from "../errors.ts";
import type { FoundObject } from "../snapshot/list_local.ts";
import { type FileList, fileListOf } from "./file_list.ts";
import { ENTRY_INDEX_DIGITS } from "./entry_name.ts";
import { TAR_BLOCK, TAR_END, tarEntrySpan, USTAR_NAME_MAX } from "./ustar.ts";

/** Where every file of a pack goes. */
export interface PackPlan {
  /** Input files in sample order (sorted by relative path). */
  files: FileList;
  /** Shard index of each file. */
  shardOf: Uint32Array;
  /** Offset of each file's tar header inside its shard (data starts 512 later). */
  headerOffset: Float64Array;
  /** Size of each shard in bytes, end-of-archive blocks included. */
  shardSizes: number[];
  /** Sum of the file sizes. */
  dataBytes: number;
}

/**
 * Returns the file name of shard `k`: `shard-00000.tar`, ….
 *
 * @param k Shard index.
 * @returns The name.
 */
export function shardName(k: number): string {
  return `shard-${String(k).padStart(5, "0")}.tar`;
}

/**
 * Returns the path of shard `k` relative to the pack root, as the manifest
 * `location` column holds it.
 *
 * @param k Shard index.
 * @returns `shards/shard-NNNNN.tar`.
 */
export function shardLocation(k: number): string {
  return `shards/${shardName(k)}`;
}

/**
 * Lays files out into shards: in order, a shard closes before it would
 * exceed `shardBytes` (end blocks counted); a file too big for any shard gets
 * a shard of its own.
 *
 * @example Two files per shard
 * ```ts
 * import assert from "node:assert/strict";
 * import { planShards } from "./plan.ts";
 * const files = [1, 2, 3].map((i) => ({ rel: `${i}.bin`, size: 100 }));
 * const plan = planShards(files, 3 * 1024, "src");
 * assert.deepEqual([...plan.shardOf], [0, 0, 1]);
 * assert.deepEqual(plan.shardSizes, [3072, 2048]);
 * ```
 *
 * @param files Files sorted by relative path.
 * @param shardBytes Shard size limit in bytes.
 * @param src The source root, to name files in errors.
 * @returns The layout.
 * @throws {Mx8Error} On a zero-length file, or an extension too long for a
 * tar name; the message names the file.
 */
export function planShards(
  list: FileList | readonly FoundObject[],
  shardBytes: number,
  src: string,
): PackPlan {
  const files = Array.isArray(list) ? fileListOf(list) : list as FileList;
  const n = files.length;
  const shardOf = new Uint32Array(n);
  const headerOffset = new Float64Array(n);
  const shardSizes: number[] = [];
  let shard = -1;
  let used = 0; // bytes of entries in the current shard, end blocks excluded
  let dataBytes = 0;
  const name = (rel: string) => `${src.replace(/\/+$/, "")}/${rel}`;
  for (let i = 0; i < n; i++) {
    const size = files.size(i);
    if (size === 0) {
      throw new Mx8Error(
        `Cannot pack ${name(files.rel(i))}: the file is empty (0 bytes); ` +
          `remove it or give it content`,
      );
    }
    if (ENTRY_INDEX_DIGITS + files.extensionBytes(i) > USTAR_NAME_MAX) {
      throw new Mx8Error(
        `Cannot pack ${
          name(files.rel(i))
        }: its extension is too long for a tar ` +
          `entry name (at most ${USTAR_NAME_MAX - 20} bytes)`,
      );
    }
    const span = tarEntrySpan(size);
    if (shard < 0 || (used > 0 && used + span + TAR_END.length > shardBytes)) {
      if (shard >= 0) shardSizes.push(used + TAR_END.length);
      shard++;
      used = 0;
    }
    shardOf[i] = shard;
    headerOffset[i] = used;
    used += span;
    dataBytes += size;
  }
  if (shard >= 0) shardSizes.push(used + TAR_END.length);
  return { files, shardOf, headerOffset, shardSizes, dataBytes };
}

/**
 * Returns the offset of file `i`'s data inside its shard.
 *
 * @param plan The layout.
 * @param i File index.
 * @returns Header offset + 512.
 */
export function dataOffset(plan: PackPlan, i: number): number {
  return plan.headerOffset[i] + TAR_BLOCK;
}
