/**
 * Listing a local dataset folder (no S3 code, so local-only commands start
 * fast): every file sorted by relative path bytes, `_mx8/` and `shards/` at
 * the top skipped.
 *
 * @module
 */
import { sep as SEPARATOR } from "node:path";
import { PathError, pathError } from "../errors.ts";
import { locationProblem } from "../manifest/tsv.ts";
import { compareUtf8 } from "../util/bytes_order.ts";

/** Relative path of a packed dataset's manifest. */
export const PACKED_MANIFEST = "_mx8/manifest.tsv";
/** Relative path of a packed dataset's labels. */
export const PACKED_LABELS = "_mx8/labels.tsv";

/** Top-level folders that indexing and packing skip. */
export const SKIPPED_TOP_DIRS: readonly string[] = ["_mx8", "shards"];

/** One file found under a dataset root. */
export interface FoundObject {
  /** Path relative to the root, `/`-separated. */
  rel: string;
  /** Size in bytes. */
  size: number;
}

/**
 * Returns true when a relative path lies under a skipped top-level folder.
 *
 * @param rel `/`-separated relative path.
 * @returns Whether indexing skips it.
 */
export function isSkippedPath(rel: string): boolean {
  const top = rel.split("/", 1)[0];
  return rel.includes("/") && SKIPPED_TOP_DIRS.includes(top);
}

/**
 * Lists every regular file under a local directory (symlinks followed;
 * sockets, FIFOs and devices skipped), sorted by relative path bytes,
 * skipping `_mx8/` and `shards/` at the top.
 *
 * @param root Directory.
 * @returns Files with sizes.
 * @throws {PathError} When the directory cannot be read.
 */
export function listLocalFiles(root: string): Promise<FoundObject[]> {
  // Synchronous reads and stats: one awaited stat per file costs ~10× more
  // (a thread-pool round trip each); listing 20k files takes ~0.2 s this way.
  // Paths are built by concatenation (node:path's join/relative normalize
  // and allocate several strings per call).
  const out: FoundObject[] = [];
  const walk = (dir: string, relDir: string): void => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch (err) {
      throw listError(err, dir, "read directory");
    }
    for (const e of entries) {
      if (relDir === "" && SKIPPED_TOP_DIRS.includes(e.name)) continue;
      const abs = dir.endsWith(SEPARATOR)
        ? dir + e.name
        : dir + SEPARATOR + e.name;
      const rel = relDir + e.name;
      checkName(abs, rel);
      if (e.isDirectory) {
        walk(abs, rel + "/");
        continue;
      }
      let st: Deno.FileInfo;
      try {
        st = Deno.statSync(abs);
      } catch (err) {
        throw listError(err, abs, "stat");
      }
      if (st.isDirectory) walk(abs, rel + "/");
      // Sockets, FIFOs and devices are not data (and a FIFO would block).
      else if (st.isFile) out.push({ rel, size: st.size });
    }
  };
  try {
    walk(root, "");
  } catch (err) {
    return Promise.reject(err);
  }
  return Promise.resolve(out.sort((a, b) => compareUtf8(a.rel, b.rel)));
}

/**
 * Refuses a file whose relative path a manifest row cannot carry (a tab,
 * LF or CR in a name).
 *
 * @param abs The file's path, for the message.
 * @param rel Its path relative to the dataset root (the manifest location).
 * @throws {PathError} Naming the file.
 */
export function checkName(abs: string, rel: string): void {
  const bad = locationProblem(rel);
  if (bad !== undefined) {
    throw new PathError(
      abs,
      `Cannot index ${JSON.stringify(abs)}: ${bad} (rename it)`,
    );
  }
}

/**
 * A listing failure as a PathError. Deno decodes names lossily: a name that
 * is not UTF-8 comes back with U+FFFD and then names no file, which is said
 * as such rather than "no such file".
 */
function listError(err: unknown, path: string, action: string): Error {
  if (err instanceof Deno.errors.NotFound && path.includes("\uFFFD")) {
    return new PathError(
      path,
      `Cannot list ${path}: its name is not valid UTF-8 (rename it)`,
      { cause: err },
    );
  }
  return pathError(err, path, action);
}
