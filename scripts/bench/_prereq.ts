/**
 * What the benchmarks need besides Deno, checked before any work: a missing
 * prerequisite is one line on stderr naming it and the command that
 * installs it, and exit code 1 (no stack trace, nothing measured).
 *
 * ```ts ignore
 * import { H2LOAD, requirePrerequisites } from "./_prereq.ts";
 * requirePrerequisites("bench:coordinator", [H2LOAD]);
 * // bench:coordinator: missing h2load: install with "apt-get install -y nghttp2-client"; then rerun it
 * ```
 *
 * @module
 */

import { loadNativeLibrary } from "../../lib/native/library.ts";
import {
  installHint,
  missingOf,
  NATIVE_TOOLCHAIN,
  type Prerequisite,
} from "../_prereq.ts";

export {
  CC,
  ETCD,
  GNU_TAR,
  GNU_TIME,
  H2LOAD,
  NGHTTP2_DEV,
  onPath,
  type Prerequisite,
  tool,
} from "../_prereq.ts";

/**
 * The one line for what is missing of `list`, or `undefined` when nothing is.
 *
 * @param task The task name, e.g. `bench:coordinator`.
 * @param list What the benchmark needs.
 * @param alternative A way around them, e.g. `or pass --sim deno`.
 * @returns The line.
 *
 * @example
 * ```ts
 * import { missingLine } from "./_prereq.ts";
 * import assert from "node:assert/strict";
 * const h2load = { name: "h2load", apt: "nghttp2-client", present: () => false };
 * assert.equal(
 *   missingLine("bench:coordinator", [h2load]),
 *   'bench:coordinator: missing h2load: install with "apt-get install -y nghttp2-client"; then rerun it',
 * );
 * ```
 */
export function missingLine(
  task: string,
  list: Prerequisite[],
  alternative?: string,
): string | undefined {
  const missing = missingOf(list);
  if (!missing.length) return undefined;
  return `${task}: missing ${missing.map((p) => p.name).join(", ")}: ${
    installHint(missing)
  }; then rerun it${alternative ? ` (${alternative})` : ""}`;
}

/**
 * Exits with code 1 after one line on stderr when something of `list` is
 * missing; returns when everything is present.
 *
 * @param task The task name, e.g. `bench:coordinator`.
 * @param list What the benchmark needs.
 * @param alternative A way around them, e.g. `or pass --sim deno`.
 */
export function requirePrerequisites(
  task: string,
  list: Prerequisite[],
  alternative?: string,
): void {
  const line = missingLine(task, list, alternative);
  if (line === undefined) return;
  console.error(line);
  Deno.exit(1);
}

/**
 * The native library `libmx8_ffi`: present when it loads. Built by
 * `deno task build:ffi` (which needs the toolchain), or found at
 * `MX8_FFI_LIB`.
 *
 * @returns The prerequisite.
 */
export function nativeLibrary(): Prerequisite {
  const env = Deno.env.get("MX8_FFI_LIB");
  const present = () => loadNativeLibrary().ok;
  if (env) {
    return {
      name: `libmx8_ffi at MX8_FFI_LIB="${env}"`,
      then: "point MX8_FFI_LIB at a built libmx8_ffi or unset it",
      present,
    };
  }
  return {
    name: "libmx8_ffi",
    then: 'run "deno task build:ffi"',
    needs: NATIVE_TOOLCHAIN,
    present,
  };
}
