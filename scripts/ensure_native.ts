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
 * - Then, with the default crate only, the optional video decoder
 *   `ffi/video/` (`libmx8_video`, FFmpeg) the same way, when cargo, cc and
 *   FFmpeg's development files are present and `MX8_VIDEO_LIB` is unset;
 *   silent when they are missing (video clips are optional), one line when
 *   its build fails. It never affects the image library.
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
  VIDEO_TOOLCHAIN,
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

/**
 * Whether to build the optional video decoder `ffi/video/`: only when
 * nothing is missing and neither `MX8_NATIVE_BUILD=0` nor `MX8_VIDEO_LIB`
 * says otherwise; never a hint (video clips are optional).
 *
 * @param state `buildEnv`, `MX8_VIDEO_LIB`, the missing video toolchain.
 * @returns True to build.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shouldBuildVideo } from "./ensure_native.ts";
 * assert.equal(shouldBuildVideo({ missing: [] }), true);
 * assert.equal(shouldBuildVideo({ videoLibEnv: "/x.so", missing: [] }), false);
 * ```
 */
export function shouldBuildVideo(
  state: { buildEnv?: string; videoLibEnv?: string; missing: Prerequisite[] },
): boolean {
  return state.buildEnv !== "0" && !state.videoLibEnv &&
    state.missing.length === 0;
}

/** After this long, say that a (first) build is running. */
const SLOW_BUILD_MS = 3000;

/**
 * Runs cargo quietly; on failure prints its output and one line.
 *
 * @param manifest Path of the crate's `Cargo.toml`.
 */
async function build(
  manifest: string,
  what = "native decoder",
  fallback = "using sharp",
): Promise<void> {
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
      `mx8: building the ${what} (cargo ${
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
        `mx8: ${what} build failed (cargo ${
          args.join(" ")
        } exited ${out.code}, output above); ${fallback}`,
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
  if (values["manifest-path"] !== undefined) return;
  const video = join(dirname(manifest), "video", "Cargo.toml");
  const buildVideo = shouldBuildVideo({
    buildEnv: Deno.env.get("MX8_NATIVE_BUILD"),
    videoLibEnv: Deno.env.get("MX8_VIDEO_LIB"),
    missing: missingOf(VIDEO_TOOLCHAIN),
  });
  if (buildVideo) {
    await build(video, "video decoder", "video clips are unavailable");
  }
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
