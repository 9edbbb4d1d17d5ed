/**
 * Which decoder a video loader uses: `libmx8_video` (native, in process) or
 * the `ffmpeg` CLI (fallback, one process per clip).
 *
 * @module
 */

/** What a caller may ask for. */
export type VideoBackendOption = "native" | "cli" | "auto";

/** The decoder in use. */
export type VideoBackend = "native" | "cli";

/**
 * Picks the backend, or says in one line why none is available.
 *
 * @param requested `"auto"` (native, else the CLI), `"native"` or `"cli"`.
 * @param native `null` when `libmx8_video` loads, else why not.
 * @param cli Whether `ffmpeg` and `ffprobe` run.
 * @returns The backend, or `{ error }` with the reason and the fix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chooseVideoBackend } from "./backend.ts";
 * assert.equal(chooseVideoBackend("auto", null, true), "native");
 * assert.equal(chooseVideoBackend("auto", "not found", true), "cli");
 * assert.match(
 *   (chooseVideoBackend("auto", "not found", false) as { error: string }).error,
 *   /not found; the ffmpeg CLI fallback is missing too/,
 * );
 * ```
 */
export function chooseVideoBackend(
  requested: VideoBackendOption,
  native: string | null,
  cli: boolean,
): VideoBackend | { error: string } {
  const noCli =
    `the ffmpeg CLI is missing: install it with "apt-get install -y ffmpeg"`;
  switch (requested) {
    case "native":
      return native === null ? "native" : { error: native };
    case "cli":
      return cli ? "cli" : { error: noCli };
    case "auto":
      if (native === null) return "native";
      if (cli) return "cli";
      return {
        error:
          `${native}; the ffmpeg CLI fallback is missing too (apt-get install -y ffmpeg)`,
      };
  }
}
