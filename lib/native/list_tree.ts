/**
 * A directory tree listed by `libmx8_ffi` in one call: every regular file
 * under a root, sorted by relative path bytes, as flat arrays plus one
 * string of all paths, so a listing of N files makes no N JavaScript
 * objects (pack's memory then does not grow with the file count).
 *
 * @module
 */
import { NativeError, readMessage, Status } from "./errors.ts";
import type { NativeLibrary } from "./ffi.ts";

/** A listing: file `i` is `paths.slice(starts[i], starts[i + 1])`. */
export interface NativeTree {
  /** Files listed. */
  readonly count: number;
  /** Size of each file in bytes. */
  readonly sizes: Float64Array;
  /** `count + 1` offsets (UTF-16 units) into `paths`. */
  readonly starts: Float64Array;
  /** Every relative path (`/`-separated), concatenated in order. */
  readonly paths: string;
}

/** A failed listing: what was being done to which path. */
export class TreeListError extends NativeError {
  /** `"read directory"` or `"stat"`. */
  readonly action: string;
  /** The path that failed. */
  readonly path: string;

  /**
   * Creates the error from the library's `ACTION\tPATH\tOS error` message.
   *
   * @param status The `Mx8Status`.
   * @param message The library's message.
   */
  constructor(status: number, message: string) {
    // The action and the OS error hold no tab; the path may.
    const first = message.indexOf("\t");
    const last = message.lastIndexOf("\t");
    super(status, first < last ? message.slice(last + 1) : message);
    this.name = "TreeListError";
    this.action = first < last ? message.slice(0, first) : "list";
    this.path = first < last ? message.slice(first + 1, last) : "";
  }
}

const encoder = new TextEncoder();
// ignoreBOM: a file name may start with U+FEFF, and it must stay (the
// offsets count it).
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Lists every regular file under `root` (symlinks followed; sockets, FIFOs
 * and devices skipped), sorted by the UTF-8 bytes of the relative path.
 *
 * @example List a temporary tree
 * ```ts
 * import assert from "node:assert/strict";
 * import { openNativeLibrary } from "./library.ts";
 * import { listTreeNative } from "./list_tree.ts";
 *
 * const lib = openNativeLibrary();
 * if (lib) {
 *   const dir = Deno.makeTempDirSync();
 *   Deno.mkdirSync(`${dir}/cats`);
 *   Deno.writeTextFileSync(`${dir}/cats/1.jpg`, "meow");
 *   const tree = listTreeNative(lib, dir, []);
 *   assert.equal(tree.count, 1);
 *   assert.equal(tree.paths.slice(tree.starts[0], tree.starts[1]), "cats/1.jpg");
 *   assert.equal(tree.sizes[0], 4);
 *   Deno.removeSync(dir, { recursive: true });
 * }
 * ```
 *
 * @param lib The opened native library.
 * @param root Directory to list.
 * @param skipTop Top-level names to leave out (e.g. `_mx8`, `shards`).
 * @returns The listing.
 * @throws {TreeListError} When a directory cannot be read or an entry
 * cannot be stat-ed (a dangling symlink, ...); `code` says why.
 */
export function listTreeNative(
  lib: NativeLibrary,
  root: string,
  skipTop: readonly string[],
): NativeTree {
  const rootBytes = encoder.encode(root);
  const skip = encoder.encode(skipTop.join("\n"));
  const out = new BigUint64Array(1);
  const counts = new BigUint64Array(2);
  // Room for a failing path of any length Linux allows (PATH_MAX 4096 bytes,
  // deeper through relative walks) plus the OS error.
  const err = new Uint8Array(64 * 1024);
  const status = lib.symbols.mx8_list_tree(
    rootBytes,
    BigInt(rootBytes.length),
    skip,
    BigInt(skip.length),
    out,
    counts,
    err,
    BigInt(err.length),
  );
  if (status !== Status.Ok) throw new TreeListError(status, readMessage(err));
  const count = Number(counts[0]);
  const list = Deno.UnsafePointer.create(out[0]);
  // The paths are decoded where Rust holds them (no copy into JavaScript),
  // then sizes and offsets are copied out and the listing freed.
  let paths = "";
  try {
    const at = lib.symbols.mx8_list_paths(list);
    if (at !== null && counts[1] > 0n) {
      paths = decoder.decode(
        new Uint8Array(
          Deno.UnsafePointerView.getArrayBuffer(at, Number(counts[1])),
        ),
      );
    }
  } catch (err) {
    lib.symbols.mx8_list_free(list);
    throw err;
  }
  const sizes = new Float64Array(count);
  const starts = new Float64Array(count + 1);
  const taken = lib.symbols.mx8_list_take(list, sizes, starts);
  if (taken !== Status.Ok) throw new NativeError(taken, "mx8_list_take failed");
  return { count, sizes, starts, paths };
}
