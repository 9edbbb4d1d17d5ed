/**
 * Pack input from a local directory.
 *
 * @module
 */
import { join } from "node:path";
import { pathError } from "../errors.ts";
import { listLocalFiles, SKIPPED_TOP_DIRS } from "../snapshot/list_local.ts";
import { listTreeNative, TreeListError } from "../native/list_tree.ts";
import { asDenoError } from "../native/errors.ts";
import { type FileList, fileListOf, fileListOfTree } from "./file_list.ts";
import type { NativeLibrary } from "../native/ffi.ts";
import { changedSizeError, type PackSource } from "./source.ts";

/**
 * Reads at once from a local disk by default: 1, blocking reads. On a warm
 * page cache or a local SSD they cost far less than reads on Deno's I/O
 * threads (measured: 20k files of 30–150 KB, 2 vCPUs, pack wall time
 * 3.3–3.8 s with blocking reads vs 6.6–8 s with 4 threaded reads); pass a
 * higher concurrency for network file systems.
 */
export const LOCAL_READ_CONCURRENCY = 1;

/** Options for {@linkcode localSource}. */
export interface LocalSourceOptions {
  /**
   * Read with blocking calls on the main thread (default false): the least
   * overhead when files are in the page cache or on a local SSD; pack uses
   * them at concurrency 1. Otherwise reads run on Deno's I/O threads so that
   * several can wait on a slow disk or network file system at once.
   */
  syncReads?: boolean;
  /** List through the native library (see `listLocalFiles`). */
  native?: NativeLibrary | null;
}

/** Scratch for the one-byte read past the end (contents never used). */
const probe = new Uint8Array(1);

/**
 * Returns a source reading files under a local directory. Reads go straight
 * into the caller's buffer; a file that is shorter or longer than listed is
 * an error naming it.
 *
 * @param root Absolute directory path.
 * @param options Read mode.
 * @returns The source.
 */
export function localSource(
  root: string,
  options: LocalSourceOptions = {},
): PackSource {
  return {
    root,
    list: () =>
      Promise.resolve().then(() =>
        options.native
          ? nativeList(options.native, root)
          : listLocalFiles(root).then(fileListOf)
      ),
    localRoot: root,
    read(file, offset, into) {
      const path = join(root, ...file.rel.split("/"));
      const fail = (err: unknown) => pathError(err, path, "read");
      if (!options.syncReads) {
        return readAsync(path, offset, into, file.size).catch((err) => {
          throw fail(err);
        });
      }
      try {
        return Promise.resolve(readSync(path, offset, into, file.size));
      } catch (err) {
        return Promise.reject(fail(err));
      }
    },
  };
}

function readSync(
  path: string,
  offset: number,
  into: Uint8Array,
  size: number,
): Uint8Array {
  using file = Deno.openSync(path, { read: true });
  if (offset > 0) file.seekSync(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < into.length) {
    const n = file.readSync(into.subarray(got));
    if (n === null) throw changedSizeError(path, size, offset + got);
    got += n;
  }
  if (offset + got === size && file.readSync(probe) !== null) {
    throw changedSizeError(path, size, size + 1);
  }
  return into;
}

async function readAsync(
  path: string,
  offset: number,
  into: Uint8Array,
  size: number,
): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  if (offset > 0) await file.seek(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < into.length) {
    const n = await file.read(into.subarray(got));
    if (n === null) throw changedSizeError(path, size, offset + got);
    got += n;
  }
  // One more byte means the file grew since it was listed.
  if (offset + got === size && (await file.read(probe)) !== null) {
    throw changedSizeError(path, size, size + 1);
  }
  return into;
}

/** Lists `root` through the native library, errors worded like Deno's. */
function nativeList(lib: NativeLibrary, root: string): FileList {
  try {
    return fileListOfTree(listTreeNative(lib, root, SKIPPED_TOP_DIRS));
  } catch (err) {
    if (err instanceof TreeListError) {
      throw pathError(asDenoError(err), err.path || root, err.action);
    }
    throw err;
  }
}
