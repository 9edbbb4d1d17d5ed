/**
 * Prerequisites of the scripts (tools on PATH, development headers, built
 * libraries), how to tell whether they are present, and the one-line install
 * hint for those that are missing. Shared by `scripts/ensure_native.ts` and
 * the benchmarks' `scripts/bench/_prereq.ts`.
 *
 * @example
 * ```ts
 * import { installHint, missingOf } from "./_prereq.ts";
 * const gone = { name: "h2load", apt: "nghttp2-client", present: () => false };
 * const missing = missingOf([gone]);
 * console.log(installHint(missing)); // install with "apt-get install -y nghttp2-client"
 * ```
 *
 * @module
 */

/** Something a script needs from the machine. */
export interface Prerequisite {
  /** What the user sees as missing, e.g. `h2load` or `libturbojpeg0-dev`. */
  name: string;
  /** The Debian package that provides it. */
  apt?: string;
  /** Otherwise how to install it, e.g. `Rust from https://rustup.rs`. */
  how?: string;
  /** A step to run once installed, e.g. `run "deno task build:ffi"`. */
  then?: string;
  /** What it needs in turn, checked only when it is missing itself. */
  needs?: Prerequisite[];
  /** True when it is present on this machine. */
  present(): boolean;
}

/**
 * The prerequisites that are missing, each after the missing things it
 * needs, without duplicates.
 *
 * @param list What is needed.
 * @returns The missing ones, in install order.
 *
 * @example
 * ```ts
 * import { missingOf } from "./_prereq.ts";
 * import assert from "node:assert/strict";
 * const cargo = { name: "cargo", present: () => false };
 * const lib = { name: "lib", needs: [cargo], present: () => false };
 * assert.deepEqual(missingOf([lib]).map((p) => p.name), ["cargo", "lib"]);
 * ```
 */
export function missingOf(list: Prerequisite[]): Prerequisite[] {
  const out: Prerequisite[] = [];
  const visit = (p: Prerequisite) => {
    if (out.some((q) => q.name === p.name) || p.present()) return;
    for (const n of p.needs ?? []) visit(n);
    out.push(p);
  };
  for (const p of list) visit(p);
  return out;
}

/**
 * How to install `missing`, one phrase: one `apt-get install -y` for every
 * Debian package, then the other ways, then the steps to run after.
 *
 * @param missing Missing prerequisites (from {@linkcode missingOf}).
 * @returns E.g. `install with "apt-get install -y gcc" and Rust from
 * https://rustup.rs, then run "deno task build:ffi"`.
 *
 * @example
 * ```ts
 * import { installHint } from "./_prereq.ts";
 * import assert from "node:assert/strict";
 * const p = (name: string, apt: string) => ({ name, apt, present: () => false });
 * assert.equal(
 *   installHint([p("h2load", "nghttp2-client"), p("cc", "gcc")]),
 *   'install with "apt-get install -y nghttp2-client gcc"',
 * );
 * ```
 */
export function installHint(missing: Prerequisite[]): string {
  const apt = [...new Set(missing.flatMap((p) => p.apt ? [p.apt] : []))];
  const ways = [
    ...(apt.length ? [`"apt-get install -y ${apt.join(" ")}"`] : []),
    ...missing.flatMap((p) => p.how ? [p.how] : []),
  ];
  const steps = missing.flatMap((p) => p.then ? [p.then] : []);
  const install = ways.length ? `install with ${ways.join(" and ")}` : "";
  if (!steps.length) return install;
  return install ? `${install}, then ${steps.join(", ")}` : steps.join(", ");
}

/**
 * True when an executable file `cmd` is in one of the `PATH` directories.
 *
 * @param cmd Command name.
 * @param path The search path (default: `PATH`).
 * @returns Whether it is found.
 *
 * @example
 * ```ts
 * import { onPath } from "./_prereq.ts";
 * import assert from "node:assert/strict";
 * assert.equal(onPath("sh", "/bin:/usr/bin"), true);
 * assert.equal(onPath("sh", "/nonexistent"), false);
 * ```
 */
export function onPath(
  cmd: string,
  path: string = Deno.env.get("PATH") ?? "",
): boolean {
  return path.split(":").some((dir) => {
    if (!dir) return false;
    try {
      const st = Deno.statSync(`${dir}/${cmd}`);
      return st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0;
    } catch {
      return false;
    }
  });
}

/**
 * True when any of `paths` is an existing file.
 *
 * @param paths Candidate paths.
 * @returns Whether one exists.
 *
 * @example
 * ```ts
 * import { anyFile } from "./_prereq.ts";
 * import assert from "node:assert/strict";
 * assert.equal(anyFile(["/nonexistent", "/etc/hostname"]), true);
 * ```
 */
export function anyFile(paths: string[]): boolean {
  return paths.some((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
}

/**
 * A command on `PATH` that a Debian package provides.
 *
 * @param name Command name.
 * @param apt The package.
 * @returns The prerequisite.
 *
 * @example
 * ```ts
 * import { tool } from "./_prereq.ts";
 * import assert from "node:assert/strict";
 * assert.equal(tool("sh", "dash").present(), true);
 * ```
 */
export function tool(name: string, apt: string): Prerequisite {
  return { name, apt, present: () => onPath(name) };
}

/** Where a header may be installed. */
function header(rel: string): string[] {
  return ["/usr/include", "/usr/local/include", "/opt/homebrew/include"]
    .map((dir) => `${dir}/${rel}`);
}

/** `cargo`, from rustup. */
export const CARGO: Prerequisite = {
  name: "cargo",
  how: "Rust from https://rustup.rs",
  present: () => onPath("cargo"),
};

/** A C compiler and linker (`cc`; Rust links through it). */
export const CC: Prerequisite = tool("cc", "gcc");

/**
 * The TurboJPEG development files `ffi/` links against (or a directory named
 * by `MX8_TURBOJPEG_LIB_DIR`).
 */
export const TURBOJPEG_DEV: Prerequisite = {
  name: "libturbojpeg0-dev",
  apt: "libturbojpeg0-dev",
  present: () =>
    Boolean(Deno.env.get("MX8_TURBOJPEG_LIB_DIR")) ||
    anyFile(header("turbojpeg.h")),
};

/** What building `ffi/` needs. */
export const NATIVE_TOOLCHAIN: Prerequisite[] = [CARGO, CC, TURBOJPEG_DEV];

/** Where a header may be installed, including Debian's multiarch directory. */
function multiarchHeader(rel: string): string[] {
  const arch = Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";
  return [...header(rel), `/usr/include/${arch}-linux-gnu/${rel}`];
}

/** FFmpeg's development files `ffi/video/` compiles its C shim against. */
export const FFMPEG_DEV: Prerequisite = {
  name: "libavformat-dev libavcodec-dev libswscale-dev",
  apt: "libavformat-dev libavcodec-dev libswscale-dev",
  present: () =>
    ["libavformat/avformat.h", "libavcodec/avcodec.h", "libswscale/swscale.h"]
      .every((h) => anyFile(multiarchHeader(h))),
};

/** What building `ffi/video/` (the optional video clip decoder) needs. */
export const VIDEO_TOOLCHAIN: Prerequisite[] = [CARGO, CC, FFMPEG_DEV];

/** nghttp2's load generator. */
export const H2LOAD: Prerequisite = tool("h2load", "nghttp2-client");

/** The etcd server (coordinator HA tests and `bench:ha`). */
export const ETCD: Prerequisite = tool("etcd", "etcd-server");

/** The nghttp2 C library's development files. */
export const NGHTTP2_DEV: Prerequisite = {
  name: "libnghttp2-dev",
  apt: "libnghttp2-dev",
  present: () => anyFile(header("nghttp2/nghttp2.h")),
};

/** GNU `tar` (not bsdtar/busybox: the scripts use `--sort=name`). */
export const GNU_TAR: Prerequisite = {
  name: "GNU tar",
  apt: "tar",
  present: () => {
    try {
      const out = new Deno.Command("tar", {
        args: ["--version"],
        stdout: "piped",
        stderr: "null",
      }).outputSync();
      return new TextDecoder().decode(out.stdout).includes("GNU tar");
    } catch {
      return false;
    }
  },
};

/** GNU `time` at `/usr/bin/time` (its `-v` reports peak RSS). */
export const GNU_TIME: Prerequisite = {
  name: "/usr/bin/time",
  apt: "time",
  present: () => anyFile(["/usr/bin/time"]),
};
