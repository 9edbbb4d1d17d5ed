/**
 * `deno task compile`: builds the single `mx8` executable.
 *
 * Runs
 * `deno compile -A --unsafe-proto --output dist/mx8 --include ffi/target/release/libmx8_ffi.so main.ts`
 * (the `--include` only when the native library is built; otherwise it warns
 * that the binary will decode with sharp). The compiled binary extracts the
 * embedded library to `~/.cache/mx8/<version>-<hash>/` on first use
 * (`lib/native/embedded.ts`). After a build it runs `dist/mx8 --version` to
 * prove the binary starts.
 *
 * `deno compile` downloads `denort` (the runtime it embeds) unless
 * `DENORT_BIN` names a local copy; where that download fails this script
 * says so and exits 1. It never produces a binary any other way.
 *
 * Usage: `deno run -A scripts/compile.ts [--output PATH] [--target TRIPLE]
 * [--no-native] [--no-check]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LAZY_MODULES } from "../lib/util/lazy.ts";

/** Repository root. */
export const ROOT: string = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "..",
);

/** What to build. */
export interface CompileOptions {
  /** Output path of the binary. */
  output: string;
  /** Native library to embed, or `undefined` for none. */
  nativeLibrary?: string;
  /** `--target` triple for cross compilation. */
  target?: string;
  /** Skip type checking. */
  noCheck?: boolean;
}

/**
 * The platform file name of the native library for a target triple (or this
 * machine when none is given).
 *
 * @param target A `--target` triple, e.g. `aarch64-apple-darwin`.
 * @returns `libmx8_ffi.so`, `libmx8_ffi.dylib` or `mx8_ffi.dll`.
 */
export function nativeLibraryName(target?: string): string {
  const os = target
    ? (target.includes("darwin")
      ? "darwin"
      : target.includes("windows")
      ? "windows"
      : "linux")
    : Deno.build.os;
  if (os === "darwin") return "libmx8_ffi.dylib";
  if (os === "windows") return "mx8_ffi.dll";
  return "libmx8_ffi.so";
}

/**
 * The `deno` argument list for a build (paths relative to {@linkcode ROOT},
 * where the command runs).
 *
 * @param options What to build.
 * @returns Arguments after the `deno` executable.
 */
export function compileArgs(options: CompileOptions): string[] {
  const args = ["compile", "-A", "--unsafe-proto"];
  if (options.noCheck) args.push("--no-check");
  if (options.target) args.push("--target", options.target);
  args.push("--output", options.output);
  if (options.nativeLibrary) args.push("--include", options.nativeLibrary);
  // Modules imported by computed URL (lib/util/lazy.ts): invisible to the
  // graph deno compile builds from main.ts.
  for (const m of LAZY_MODULES) args.push("--include", m);
  args.push("main.ts");
  return args;
}

/**
 * Whether `deno compile`'s stderr shows that fetching `denort` failed.
 *
 * @param stderr Its error output.
 * @returns `true` for a download/network failure.
 */
export function isDenortDownloadFailure(stderr: string): boolean {
  return /denort|error sending request|dns error|Setting up base binary/i
    .test(stderr);
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * Builds the binary; prints progress and a final `compile OK …` or
 * `compile FAILED: …` line.
 *
 * @param argv Command-line arguments.
 * @returns Exit code.
 */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      output: { type: "string", default: join("dist", "mx8") },
      target: { type: "string" },
      "no-native": { type: "boolean", default: false },
      "no-check": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(
      "Usage: deno task compile [--output dist/mx8] [--target TRIPLE] [--no-native] [--no-check]",
    );
    return 0;
  }
  const output = relative(ROOT, resolve(Deno.cwd(), values.output));
  const libRel = join(
    "ffi",
    "target",
    "release",
    nativeLibraryName(values.target),
  );
  let nativeLibrary: string | undefined;
  if (values["no-native"]) {
    console.error(
      "compile: --no-native: the binary will decode JPEGs with sharp",
    );
  } else if (await exists(join(ROOT, libRel))) {
    nativeLibrary = libRel;
    console.error(`compile: embedding native library ${libRel}`);
  } else {
    console.error(
      `compile: warning: ${libRel} is not built (run \`deno task build:ffi\`): ` +
        `the binary will fall back to sharp for decoding ` +
        `(or put the library next to it / set MX8_FFI_LIB)`,
    );
  }
  const outDir = dirname(join(ROOT, output));
  const outDirExisted = await Deno.stat(outDir).then(() => true, () => false);
  await Deno.mkdir(outDir, { recursive: true });
  const args = compileArgs({
    output,
    nativeLibrary,
    target: values.target,
    noCheck: values["no-check"],
  });
  console.error(`compile: deno ${args.join(" ")}`);
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
    stderr += text;
    await Deno.stderr.write(new TextEncoder().encode(text));
  }
  const status = await child.status;
  if (!status.success) {
    if (!outDirExisted) await Deno.remove(outDir).catch(() => {}); // only if empty
    if (isDenortDownloadFailure(stderr)) {
      console.log(
        "compile FAILED: deno compile could not download denort, the Deno runtime " +
          "it embeds in the executable (no network access to its release server " +
          "here). Run `deno task compile` on a machine that can download it, or " +
          `set DENORT_BIN=/path/to/denort (Deno ${Deno.version.deno}). No binary was written.`,
      );
    } else {
      console.log(
        `compile FAILED: deno compile exited ${status.code}; no binary was written`,
      );
    }
    return 1;
  }
  const binary = join(ROOT, output);
  if (values.target && values.target !== Deno.build.target) {
    const size = (await Deno.stat(binary)).size;
    console.log(
      `compile OK ${output} bytes=${size} target=${values.target} native=${
        nativeLibrary ? "embedded" : "none"
      }`,
    );
    return 0;
  }
  const version = await new Deno.Command(binary, {
    args: ["--version"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const versionText = new TextDecoder().decode(version.stdout).trim();
  if (!version.success) {
    console.log(
      `compile FAILED: ${output} was built but \`${output} --version\` exited ${version.code}: ` +
        new TextDecoder().decode(version.stderr).trim(),
    );
    return 1;
  }
  const size = (await Deno.stat(binary)).size;
  console.log(
    `compile OK ${output} bytes=${size} version="${versionText}" native=${
      nativeLibrary ? "embedded" : "sharp-fallback"
    }`,
  );
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
