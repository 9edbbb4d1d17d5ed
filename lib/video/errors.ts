/**
 * Errors of the video path.
 *
 * @module
 */

import { Mx8Error } from "../errors.ts";

/**
 * Video decoding is needed but `libmx8_video` (FFmpeg) cannot be loaded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VideoUnavailableError } from "./errors.ts";
 * assert.match(new VideoUnavailableError("not found").message, /video decoding is unavailable: not found/);
 * ```
 */
export class VideoUnavailableError extends Mx8Error {
  /** Why the library could not be loaded (one line, with the fix). */
  readonly reason: string;

  /**
   * Creates the error.
   *
   * @param reason The loader's reason.
   */
  constructor(reason: string) {
    super(`mx8: video decoding is unavailable: ${reason}`);
    this.name = "VideoUnavailableError";
    this.reason = reason;
  }
}

/**
 * One video could not be indexed or one clip could not be decoded (corrupt
 * or truncated file, unsupported codec, limit reached). The message names
 * the video; other clips are unaffected.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VideoDecodeError } from "./errors.ts";
 * const e = new VideoDecodeError("VideoTooShort", "sample 3", "the video ends at 1.000 s");
 * assert.equal(e.code, "VideoTooShort");
 * assert.match(e.message, /sample 3: the video ends/);
 * ```
 */
export class VideoDecodeError extends Mx8Error {
  /** The `VideoStatus` name, e.g. `"VideoTooShort"` or `"OpenFailed"`. */
  readonly code: string;

  /**
   * Creates the error.
   *
   * @param code The status name.
   * @param what The video (and clip) it is about, e.g. `sample 12 (a.mp4)`.
   * @param detail FFmpeg's or the shim's text.
   */
  constructor(code: string, what: string, detail: string) {
    super(`${what}: ${detail} (${code})`);
    this.name = "VideoDecodeError";
    this.code = code;
  }
}
