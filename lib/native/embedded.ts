/**
 * The native library embedded in a `deno compile` binary.
 *
 * `deno task compile` passes `--include ffi/target/release/libmx8_ffi.so`, so
 * the library travels inside `dist/mx8`'s virtual file system at the same
 * path relative to the sources as in the repository. `Deno.dlopen` needs a
 * real file, so on first use the compiled binary copies it to
 * `<cache>/mx8/<version>-<sha256 prefix>/libmx8_ffi.so` (cache =
 * `MX8_CACHE_DIR`, else `$XDG_CACHE_HOME`, else `~/.cache`; `%LOCALAPPDATA%`
 * on Windows) and opens it from there. The directory name carries the
 * content hash, so a rebuilt library never reuses a stale copy; the copy is
 * written to a temp name and renamed, so concurrent first runs are safe.
 *
 * Outside a compiled binary this module does nothing.
 *
 * @module
 */

import { sha256Hex } from "../util/sha256.ts";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { VERSION } from "../version.ts";

/**
 * Where `deno compile --include` puts the library inside the binary: the
 * repository path `ffi/target/release/<fileName>`, relative to this module.
 *
 * @param fileName Platform file name, e.g. `libmx8_ffi.so`.
 * @returns The path, or `undefined` when this module is not loaded from a file URL.
 *
 * @example
 * ```ts
 * import { embeddedLibraryPath } from "./embedded.ts";
 * console.log(embeddedLibraryPath("libmx8_ffi.so"));
 * ```
 */
export function embeddedLibraryPath(fileName: string): string | undefined {
  if (!import.meta.url.startsWith("file:")) return undefined;
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, "..", "..", "ffi", "target", "release", fileName);
}

/**
 * The cache root the embedded library is extracted under:
 * `MX8_CACHE_DIR`, else `$XDG_CACHE_HOME/mx8`, else `~/.cache/mx8`
 * (`%LOCALAPPDATA%\mx8` on Windows).
 *
 * @returns The directory, or `undefined` when no home/cache variable is set.
 *
 * @example
 * ```ts
 * import { libraryCacheRoot } from "./embedded.ts";
 * console.log(libraryCacheRoot());
 * ```
 */
export function libraryCacheRoot(): string | undefined {
  const env = (name: string): string | undefined => {
    try {
      return Deno.env.get(name) || undefined;
    } catch {
      return undefined; // no --allow-env
    }
  };
  const explicit = env("MX8_CACHE_DIR");
  if (explicit) return explicit;
  if (Deno.build.os === "windows") {
    const local = env("LOCALAPPDATA");
    return local ? join(local, "mx8") : undefined;
  }
  const xdg = env("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "mx8");
  const home = env("HOME");
  return home ? join(home, ".cache", "mx8") : undefined;
}

/**
 * Copies `bytes` to `<cacheRoot>/<version>-<sha256[0:16]>/<fileName>` unless
 * an identical copy is already there.
 *
 * @param bytes Library bytes.
 * @param fileName Platform file name.
 * @param cacheRoot Cache root directory.
 * @returns The extracted file's path.
 * @throws {Error} When the cache directory cannot be written.
 *
 * @example
 * ```ts ignore
 * import { extractLibraryBytes } from "./embedded.ts";
 * const path = extractLibraryBytes(new Uint8Array([1]), "libx.so", "/tmp/mx8-cache");
 * ```
 */
export function extractLibraryBytes(
  bytes: Uint8Array,
  fileName: string,
  cacheRoot: string,
): string {
  const digest = sha256Hex(bytes).slice(0, 16);
  const dir = join(cacheRoot, `${VERSION}-${digest}`);
  const dest = join(dir, fileName);
  try {
    if (Deno.statSync(dest).size === bytes.length) return dest;
  } catch {
    // not extracted yet
  }
  Deno.mkdirSync(dir, { recursive: true });
  const tmp = `${dest}.${Deno.pid}.tmp`;
  Deno.writeFileSync(tmp, bytes, { mode: 0o755 });
  Deno.renameSync(tmp, dest);
  return dest;
}

/**
 * In a `deno compile` binary that embeds the native library: extracts it to
 * the cache (once) and returns `[path]`, to be tried first by the library
 * lookup. Anywhere else, or when nothing is embedded or the cache is not
 * writable, returns `[]` (the lookup then goes on with its other paths, and
 * finally falls back to sharp). Never throws.
 *
 * @param fileName Platform file name, e.g. `libmx8_ffi.so`.
 * @returns Zero or one path.
 *
 * @example
 * ```ts
 * import { embeddedLibraryCandidates } from "./embedded.ts";
 * console.log(embeddedLibraryCandidates("libmx8_ffi.so")); // [] under `deno run`
 * ```
 */
export function embeddedLibraryCandidates(fileName: string): string[] {
  if (!Deno.build.standalone) return [];
  try {
    const src = embeddedLibraryPath(fileName);
    const root = libraryCacheRoot();
    if (!src || !root) return [];
    const bytes = Deno.readFileSync(src);
    return [extractLibraryBytes(bytes, fileName, root)];
  } catch {
    return [];
  }
}
