/**
 * The files a pack works through, by index: relative path and size. Either
 * an array of listed objects (S3, or a local listing without the native
 * library) or a native listing's flat arrays, where paths are sliced from
 * one string on demand instead of living as one object per file.
 *
 * @module
 */
import type { NativeTree } from "../native/list_tree.ts";
import { extensionBytesIn } from "./entry_name.ts";
import type { FoundObject } from "../snapshot/list_local.ts";

/** Files by index, sorted by relative path bytes. */
export interface FileList {
  /** Number of files. */
  readonly length: number;
  /** Relative path (`/`-separated) of file `i`. */
  rel(i: number): string;
  /** Size in bytes of file `i`. */
  size(i: number): number;
  /** UTF-8 bytes of file `i`'s extension (see `extensionOf`), no copy made. */
  extensionBytes(i: number): number;
  /** File `i` as an object. */
  at(i: number): FoundObject;
}

/**
 * Wraps listed objects.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileListOf } from "./file_list.ts";
 * const files = fileListOf([{ rel: "a.jpg", size: 3 }]);
 * assert.equal(files.rel(0), "a.jpg");
 * assert.equal(files.size(0), 3);
 * ```
 *
 * @param objects Files sorted by relative path bytes.
 * @returns The list.
 */
export function fileListOf(objects: readonly FoundObject[]): FileList {
  return {
    length: objects.length,
    rel: (i) => objects[i].rel,
    size: (i) => objects[i].size,
    extensionBytes: (i) =>
      extensionBytesIn(objects[i].rel, 0, objects[i].rel.length),
    at: (i) => objects[i],
  };
}

/**
 * Wraps a native listing.
 *
 * @param tree From `listTreeNative`.
 * @returns The list.
 */
export function fileListOfTree(tree: NativeTree): FileList {
  const { sizes, starts, paths } = tree;
  const rel = (i: number) => paths.slice(starts[i], starts[i + 1]);
  return {
    length: tree.count,
    rel,
    size: (i) => sizes[i],
    extensionBytes: (i) => extensionBytesIn(paths, starts[i], starts[i + 1]),
    at: (i) => ({ rel: rel(i), size: sizes[i] }),
  };
}
