/**
 * Finds and opens `libmx8_video` lazily, once per process, and checks it:
 * its ABI, then the FFmpeg major versions loaded against those it was built
 * with. Nothing here runs until a video is opened, so the image path never
 * loads FFmpeg.
 *
 * `MX8_VIDEO_LOG=1` shows FFmpeg's own warnings on stderr (quiet by
 * default: every error MX8 reports names the video and the cause).
 *
 * Search order: `MX8_VIDEO_LIB` (an exact path), the repository build output
 * `ffi/video/target/release/`, then the directory of the running executable.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readMessage } from "./errors.ts";
import { type VideoLibrary, videoSymbols } from "./video_ffi.ts";

/** ABI version of `libmx8_video` these bindings are written for. */
export const VIDEO_ABI = 3;

/** Outcome of {@linkcode loadVideoLibrary}. */
export type VideoLibraryResult =
  | { ok: true; library: VideoLibrary; path: string; ffmpeg: string }
  | { ok: false; reason: string };

/**
 * The platform file name of the library.
 *
 * @returns `libmx8_video.so`, `libmx8_video.dylib` or `mx8_video.dll`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { videoLibraryFileName } from "./video_library.ts";
 * assert.match(videoLibraryFileName(), /mx8_video/);
 * ```
 */
export function videoLibraryFileName(): string {
  switch (Deno.build.os) {
    case "darwin":
      return "libmx8_video.dylib";
    case "windows":
      return "mx8_video.dll";
    default:
      return "libmx8_video.so";
  }
}

function envPath(): string | undefined {
  try {
    return Deno.env.get("MX8_VIDEO_LIB") || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The candidate paths, in search order.
 *
 * @returns Paths (the env path as given).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { videoLibraryCandidates } from "./video_library.ts";
 * assert.ok(videoLibraryCandidates().some((p) => p.includes("video")));
 * ```
 */
export function videoLibraryCandidates(): string[] {
  const name = videoLibraryFileName();
  const out: string[] = [];
  const env = envPath();
  if (env) out.push(env);
  if (import.meta.url.startsWith("file:")) {
    const here = dirname(fileURLToPath(import.meta.url));
    out.push(join(here, "..", "..", "ffi", "video", "target", "release", name));
  }
  out.push(join(dirname(Deno.execPath()), name));
  return out;
}

/** `MX8_VIDEO_LOG=1` shows FFmpeg's own warnings on stderr. */
function logEnv(): string | undefined {
  try {
    return Deno.env.get("MX8_VIDEO_LOG");
  } catch {
    return undefined;
  }
}

let cached: VideoLibraryResult | undefined;

/**
 * Opens and checks `libmx8_video` (cached after the first call, success or
 * not). Never throws: on failure the reason is one line naming every path
 * tried, or the version mismatch, and how to fix it.
 *
 * @returns The library, its path and FFmpeg's versions, or the reason.
 *
 * @example
 * ```ts
 * import { loadVideoLibrary } from "./video_library.ts";
 * const result = loadVideoLibrary();
 * console.log(result.ok ? `video: ${result.ffmpeg}` : result.reason);
 * ```
 */
export function loadVideoLibrary(): VideoLibraryResult {
  if (cached) return cached;
  cached = open();
  return cached;
}

const FIX =
  `build it with "deno task build:video" (needs cargo, gcc, pkg-config and "apt-get install -y libavformat-dev libavcodec-dev libswscale-dev") or set MX8_VIDEO_LIB to its path`;

function open(): VideoLibraryResult {
  const tried: string[] = [];
  const env = envPath();
  for (const path of videoLibraryCandidates()) {
    let exists = false;
    try {
      exists = Deno.statSync(path).isFile;
    } catch {
      exists = false;
    }
    if (!exists) {
      if (path === env) {
        return {
          ok: false,
          reason:
            `MX8_VIDEO_LIB="${env}" does not exist: point it at a built libmx8_video or unset it`,
        };
      }
      tried.push(`${path} (not found)`);
      continue;
    }
    let library: VideoLibrary;
    try {
      library = Deno.dlopen(path, videoSymbols);
    } catch (e) {
      tried.push(`${path} (${e instanceof Error ? e.message : String(e)})`);
      continue;
    }
    const abi = library.symbols.mx8_video_abi();
    if (abi !== VIDEO_ABI) {
      library.close();
      return {
        ok: false,
        reason:
          `${path} has ABI ${abi}, these bindings need ${VIDEO_ABI}: ${FIX}`,
      };
    }
    const versions = new Uint32Array(8);
    const err = new Uint8Array(512);
    const status = library.symbols.mx8_video_check(
      versions,
      err,
      BigInt(err.length),
    );
    if (status !== 0) {
      library.close();
      return { ok: false, reason: `${path}: ${readMessage(err)}` };
    }
    if (logEnv() === "1") library.symbols.mx8_video_set_log(1);
    const ffmpeg = `libavformat ${versions[4]}, libavcodec ${
      versions[5]
    }, libswscale ${versions[6]}, libavutil ${versions[7]}`;
    return { ok: true, library, path, ffmpeg };
  }
  return {
    ok: false,
    reason: `libmx8_video not found (tried ${tried.join(", ")}): ${FIX}`,
  };
}
