/**
 * Where pack reads from: a local directory or an S3 prefix.
 *
 * @module
 */
import { Mx8Error } from "../errors.ts";
import type { FoundObject } from "../snapshot/list_local.ts";
import type { FileList } from "./file_list.ts";

/** The input side of a pack. */
export interface PackSource {
  /** The root as shown in messages: an absolute path or `s3://bucket/prefix`. */
  readonly root: string;
  /**
   * Lists every input file, sorted by relative path, `_mx8/` and `shards/`
   * skipped.
   */
  list(): Promise<FileList>;
  /**
   * Local sources: the directory the listed files are under (a file is at
   * `localRoot/rel`).
   */
  readonly localRoot?: string;
  /**
   * Reads `into.length` bytes at `offset` of a listed file, into `into` (or
   * into bytes of its own, returned). Fails when the file no longer has the
   * listed size.
   */
  read(
    file: FoundObject,
    offset: number,
    into: Uint8Array,
    signal: AbortSignal,
  ): Promise<Uint8Array>;
}

/**
 * The error for a file whose size differs from its listing.
 *
 * @param where Path or URL of the file.
 * @param listed Size when listed.
 * @param found Bytes found.
 * @returns The error.
 */
export function changedSizeError(
  where: string,
  listed: number,
  found: number,
): Mx8Error {
  return new Mx8Error(
    `Cannot pack ${where}: it changed while packing ` +
      `(listed with ${listed} bytes, read ${found}${
        found < listed ? "" : " or more"
      }); rerun pack once the source is stable`,
  );
}
