/**
 * Test helper: the native library `libmx8_ffi`, loaded once per test module,
 * and `Deno.test` registration that ignores a test (with the reason printed
 * once per `deno test` run) when the library is unavailable. No test module
 * throws at load for a missing library: a machine with only Deno runs the
 * rest of the suite and reports these tests as ignored.
 *
 * @module
 */

import type { NativeLibrary } from "../../lib/native/ffi.ts";
import { loadNativeLibrary } from "../../lib/native/library.ts";

const loaded = loadNativeLibrary();

/** The opened library, or `null` when it is unavailable. */
export const nativeLibrary: NativeLibrary | null = loaded.ok
  ? loaded.library
  : null;

/** True when `libmx8_ffi` cannot be loaded: native tests are ignored. */
export const nativeMissing: boolean = !loaded.ok;

/** Set in the test process once the reason has been printed. */
const NOTICE_ENV = "MX8_TEST_NATIVE_NOTICE";

if (!loaded.ok && !Deno.env.get(NOTICE_ENV)) {
  // Every test module runs in the same process: print the reason once.
  Deno.env.set(NOTICE_ENV, "1");
  const fix = Deno.env.get("MX8_FFI_LIB")
    ? "point MX8_FFI_LIB at a built libmx8_ffi or unset it"
    : `build it with "deno task build:ffi" (needs cargo and libturbojpeg0-dev)`;
  console.warn(
    `%cmx8 tests: tests that need libmx8_ffi are ignored: ${loaded.reason}; ${fix}.`,
    "color: yellow",
  );
}

/**
 * Registers a test that needs the native library; it is ignored when the
 * library is unavailable, and receives the opened library otherwise.
 *
 * @param name Test name.
 * @param fn Test body, given the opened library.
 */
export function nativeTest(
  name: string,
  fn: (lib: NativeLibrary) => void | Promise<void>,
): void {
  Deno.test({
    name,
    ignore: nativeLibrary === null,
    fn: () => fn(nativeLibrary!),
  });
}
