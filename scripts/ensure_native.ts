/**
 * Builds the native library before `deno task demo` and `deno task test`
 * (and the benchmarks that use it), when this machine can.
 *
 * - `cargo`, `cc` and the TurboJPEG development files present: runs
 *   `cargo build --release --offline --manifest-path ffi/Cargo.toml` quietly
 *   (incremental: a no-op when the library is fresh). Cargo's output is shown
 *   only when the build fails; then one line says MX8 goes on with sharp.
 * - Something missing and no library built yet: prints one line naming what
 *   is missing and the command that installs it, e.g.
 *   `mx8: native decoder not built (missing: cargo, libturbojpeg0-dev):
 *   install with "apt-get install -y libturbojpeg0-dev" and Rust from
 *   https://rustup.rs, then rerun; using sharp`.
 * - `MX8_NATIVE_BUILD=0`, or `MX8_FFI_LIB` set (the library is yours): does
 *   nothing.
 *
 * It never fails the task: it always exits 0, and MX8 decodes with `sharp`
 * whenever the library cannot be loaded.
 *
 * Usage: `deno run -A scripts/ensure_native.ts [--manifest-path PATH]
 * [--no-hint]`: the crate (default: `ffi/Cargo.toml` of this repository);
 * `--no-hint` leaves the missing-toolchain line to the caller (the
 * benchmarks that need the library say what to install themselves).
 *
 * @module
 */

import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { libraryFileName } from "../lib/native/library.ts";
import {
  installHint,
  missingOf,
  NATIVE_TOOLCHAIN,
  type Prerequisite,
} from "./_prereq.ts";

/** What {@linkcode planNativeBuild} decided. */
export type NativeBuildPlan =
  | { kind: "skip" }
  | { kind: "build" }
  | { kind: "hint"; line: string };

/** What {@linkcode planNativeBuild} decides from. */
export interface NativeBuildState {
  /** `MX8_NATIVE_BUILD` (`0` turns the build off). */
  buildEnv?: string;
  /** `MX8_FFI_LIB` (set: the user's own library, nothing to build). */
  ffiLibEnv?: string;
  /** The missing parts of the toolchain (from `missingOf`). */
  missing: Prerequisite[];
  /** True when the library already exists in the build output. */
  built: boolean;
}

/**
 * Decides whether to build, stay quiet, or print the install hint.
 *
 * @param state Environment, missing toolchain parts, existing build.
 * @returns The plan.
 *
 * @example
 * ```ts
 * import { planNativeBuild } from "./ensure_native.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(planNativeBuild({ missing: [], built: false }), { kind: "build" });
 * assert.deepEqual(
 *   planNativeBuild({ buildEnv: "0", missing: [], built: false }),
 *   { kind: "skip" },
 * );
 * ```
 */
export function planNativeBuild(state: NativeBuildState): NativeBuildPlan {
  if (state.buildEnv === "0" || state.ffiLibEnv) return { kind: "skip" };
  if (state.missing.length === 0) return { kind: "build" };
  // A library built earlier still loads; it just cannot be rebuilt here.
  if (state.built) return { kind: "skip" };
  return {
    kind: "hint",
    line: `mx8: native decoder not built (missing: ${
      state.missing.map((p) => p.name).join(", ")
    }): ${installHint(state.missing)}, then rerun; using sharp`,
  };
}

/** After this long, say that a (first) build is running. */
const SLOW_BUILD_MS = 3000;

/**
 * Runs cargo quietly; on failure prints its output and one line.
 *
 * @param manifest Path of the crate's `Cargo.toml`.
 */
async function build(manifest: string): Promise<void> {
  const args = [
    "build",
    "--release",
    "--offline",
    "--manifest-path",
    manifest,
  ];
  const shown = relative(Deno.cwd(), manifest) || manifest;
  const slow = setTimeout(() => {
    console.error(
      `mx8: building the native decoder (cargo ${
        args.slice(0, 3).join(" ")
      } --manifest-path ${shown}) …`,
    );
  }, SLOW_BUILD_MS);
  try {
    const out = await new Deno.Command("cargo", {
      args,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      await Deno.stderr.write(out.stdout);
      await Deno.stderr.write(out.stderr);
      console.error(
        `mx8: native decoder build failed (cargo ${
          args.join(" ")
        } exited ${out.code}, output above); using sharp`,
      );
    }
  } finally {
    clearTimeout(slow);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "manifest-path": { type: "string" },
      "no-hint": { type: "boolean", default: false },
    },
  });
  const manifest = resolve(
    values["manifest-path"] ??
      join(dirname(fileURLToPath(import.meta.url)), "..", "ffi", "Cargo.toml"),
  );
  const lib = join(dirname(manifest), "target", "release", libraryFileName());
  const built = await Deno.stat(lib).then((s) => s.isFile, () => false);
  const plan = planNativeBuild({
    buildEnv: Deno.env.get("MX8_NATIVE_BUILD"),
    ffiLibEnv: Deno.env.get("MX8_FFI_LIB"),
    missing: missingOf(NATIVE_TOOLCHAIN),
    built,
  });
  if (plan.kind === "hint" && !values["no-hint"]) console.error(plan.line);
  if (plan.kind === "build") await build(manifest);
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    // Never fail the task: the library is optional.
    console.error(
      `mx8: native decoder not built (${
        e instanceof Error ? e.message : String(e)
      }); using sharp`,
    );
  }
}
