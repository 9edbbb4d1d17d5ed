/**
 * Finds and opens `libmx8_ffi`, once per process.
 *
 * Search order: the `MX8_FFI_LIB` environment variable (an exact file path),
 * the repository build output `ffi/target/release/`, then the directory of
 * the running executable (for `deno compile` deployments).
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type NativeLibrary, symbols } from "./ffi.ts";
import { NativeLibraryUnavailableError } from "./errors.ts";
import { embeddedLibraryCandidates } from "./embedded.ts";

/** Outcome of {@linkcode loadNativeLibrary}. */
export type NativeLibraryResult =
  | { ok: true; library: NativeLibrary; path: string }
  | { ok: false; reason: string };

/**
 * The platform file name of the library (`libmx8_ffi.so`, `libmx8_ffi.dylib`
 * or `mx8_ffi.dll`).
 *
 * @returns The file name.
 *
 * @example
 * ```ts
 * import { libraryFileName } from "./library.ts";
 * import assert from "node:assert/strict";
 * assert.match(libraryFileName(), /mx8_ffi/);
 * ```
 */
export function libraryFileName(): string {
  switch (Deno.build.os) {
    case "darwin":
      return "libmx8_ffi.dylib";
    case "windows":
      return "mx8_ffi.dll";
    default:
      return "libmx8_ffi.so";
  }
}

/**
 * The candidate paths, in search order.
 *
 * @returns Absolute paths (the env path as given).
 *
 * @example
 * ```ts
 * import { libraryCandidates } from "./library.ts";
 * import assert from "node:assert/strict";
 * assert.ok(libraryCandidates().some((p) => p.includes("target")));
 * ```
 */
export function libraryCandidates(): string[] {
  const name = libraryFileName();
  const out: string[] = [];
  const env = envPath();
  if (env) out.push(env);
  // Inside a `deno compile`d binary: the embedded library, extracted to a cache dir.
  out.push(...embeddedLibraryCandidates(name));
  if (import.meta.url.startsWith("file:")) {
    const here = dirname(fileURLToPath(import.meta.url));
    out.push(join(here, "..", "..", "ffi", "target", "release", name));
  }
  out.push(join(dirname(Deno.execPath()), name));
  return out;
}

function envPath(): string | undefined {
  try {
    return Deno.env.get("MX8_FFI_LIB") || undefined;
  } catch {
    return undefined; // no --allow-env
  }
}

let cached: NativeLibraryResult | undefined;

/**
 * Opens the native library (cached after the first call, success or not).
 * Never throws: on failure the result carries a reason naming every path
 * tried.
 *
 * @returns The opened library and its path, or the reason it is unavailable.
 *
 * @example
 * ```ts
 * import { loadNativeLibrary } from "./library.ts";
 * const result = loadNativeLibrary();
 * if (!result.ok) console.log(result.reason);
 * ```
 */
export function loadNativeLibrary(): NativeLibraryResult {
  if (cached) return cached;
  const tried: string[] = [];
  const env = envPath();
  for (const path of libraryCandidates()) {
    let exists = false;
    try {
      exists = Deno.statSync(path).isFile;
    } catch {
      exists = false;
    }
    if (!exists) {
      tried.push(`${path} (not found)`);
      // An explicit MX8_FFI_LIB that does not exist is an error, not a hint.
      if (path === env) {
        cached = { ok: false, reason: `MX8_FFI_LIB="${env}" does not exist` };
        return cached;
      }
      continue;
    }
    try {
      const library = Deno.dlopen(path, symbols);
      cached = { ok: true, library, path };
      return cached;
    } catch (e) {
      tried.push(`${path} (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  cached = { ok: false, reason: `tried ${tried.join(", ")}` };
  return cached;
}

/**
 * Returns the opened native library, or `null` when it is unavailable (the
 * caller then falls back to sharp).
 *
 * @returns The library or `null`.
 *
 * @example
 * ```ts
 * import { openNativeLibrary } from "./library.ts";
 * const lib = openNativeLibrary();
 * console.log(lib ? "native" : "sharp");
 * ```
 */
export function openNativeLibrary(): NativeLibrary | null {
  const result = loadNativeLibrary();
  return result.ok ? result.library : null;
}

/**
 * Returns the opened native library or throws.
 *
 * @returns The library.
 * @throws {NativeLibraryUnavailableError} When it cannot be loaded.
 *
 * @example
 * ```ts ignore
 * import { requireNativeLibrary } from "./library.ts";
 * const lib = requireNativeLibrary();
 * ```
 */
export function requireNativeLibrary(): NativeLibrary {
  const result = loadNativeLibrary();
  if (!result.ok) throw new NativeLibraryUnavailableError(result.reason);
  return result.library;
}
