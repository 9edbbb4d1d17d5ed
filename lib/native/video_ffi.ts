/**
 * The C ABI of `libmx8_video` (the Rust crate under `ffi/video/`, over the C
 * shim `ffi/video/shim/mx8_av.c` and the system FFmpeg), as one Deno FFI
 * symbols table. A separate library from `libmx8_ffi`: FFmpeg is never a
 * dependency of the image path. Parameter comments give the C types; see
 * `ffi/video/src/api.rs` for the contracts.
 *
 * @module
 */

/** Symbols exported by `libmx8_video`. */
export const videoSymbols = {
  /** ABI version of the library (3). */
  mx8_video_abi: {
    parameters: [],
    result: "u32", // uint32_t
  },
  /** Checks the loaded FFmpeg majors against the build's. Returns a `VideoStatus`. */
  mx8_video_check: {
    parameters: [
      "buffer", // uint32_t out_versions[8] (compiled, then loaded majors)
      "buffer", // uint8_t *err
      "usize", // size_t err_cap
    ],
    result: "u32", // VideoStatus
  },
  /** FFmpeg's own stderr log: 0 quiet (default after the check), 1 warnings. */
  mx8_video_set_log: {
    parameters: [
      "u32", // uint32_t verbose
    ],
    result: "void",
  },
  /** Reads a video's index from its bytes (12 i64 slots, codec name, keyframes). */
  mx8_video_probe: {
    parameters: [
      "buffer", // const uint8_t *data
      "usize", // size_t len
      "buffer", // int64_t out[12]
      "buffer", // char *codec
      "usize", // size_t codec_cap
      "buffer", // int64_t *keys
      "usize", // size_t keys_cap
      "buffer", // uint8_t *err
      "usize", // size_t err_cap
    ],
    result: "u32", // VideoStatus
  },
  /** Reads a video's index from a file: FFmpeg reads only the header and the index. */
  mx8_video_probe_file: {
    parameters: [
      "buffer", // const uint8_t *path (UTF-8, NUL-terminated)
      "usize", // size_t path_len (without the NUL)
      "buffer", // int64_t out[12]
      "buffer", // char *codec
      "usize", // size_t codec_cap
      "buffer", // int64_t *keys
      "usize", // size_t keys_cap
      "buffer", // uint8_t *err
      "usize", // size_t err_cap
    ],
    result: "u32", // VideoStatus
  },
  /** Decodes one clip to count × H × W × 3 RGB24 (frames by best_effort_timestamp). */
  mx8_video_decode_clip: {
    parameters: [
      "buffer", // const uint8_t *data
      "usize", // size_t len
      "buffer", // const int64_t *targets (ticks, ascending)
      "usize", // size_t count
      "i64", // int64_t tolerance (ticks past the last frame)
      "u32", // uint32_t height
      "u32", // uint32_t width
      "buffer", // uint8_t *out
      "usize", // size_t out_len
      "u32", // uint32_t threads (0 = 1)
      "u64", // uint64_t max_packets (0 = none)
      "f64", // double max_seconds (0 = none)
      "buffer", // int64_t *out_pts (count) or NULL
      "buffer", // uint8_t *err
      "usize", // size_t err_cap
    ],
    result: "u32", // VideoStatus
    nonblocking: true,
  },
  /**
   * Decodes several clips of one video in one pass (each frame decoded and
   * scaled once); clip k goes to slot slots[k] of out, its status to status[k].
   */
  mx8_video_decode_clips: {
    parameters: [
      "buffer", // const uint8_t *data
      "usize", // size_t len
      "buffer", // const int64_t *targets (n_clips rows of count ticks, each ascending)
      "usize", // size_t n_clips
      "usize", // size_t count (frames per clip)
      "i64", // int64_t tolerance (ticks past the last frame)
      "u32", // uint32_t height
      "u32", // uint32_t width
      "buffer", // uint8_t *out
      "usize", // size_t out_len
      "buffer", // const uint32_t *slots (n_clips)
      "u32", // uint32_t threads (0 = 1)
      "u64", // uint64_t max_packets per clip (0 = none)
      "f64", // double max_seconds per clip (0 = none)
      "buffer", // int32_t *status (n_clips, shim codes)
      "buffer", // int64_t *out_pts (per slot frame) or NULL
      "buffer", // int64_t stats[10] or NULL
      "buffer", // uint8_t *err
      "usize", // size_t err_cap
    ],
    result: "u32", // VideoStatus
    nonblocking: true,
  },
  /**
   * Opens a decode session over a copy of a video's bytes: its decoder kept
   * open across passes. NULL when out of memory (or no bytes).
   */
  mx8_video_session_open: {
    parameters: [
      "buffer", // const uint8_t *data (copied)
      "usize", // size_t len
      "u32", // uint32_t threads (0 = 1)
    ],
    result: "pointer", // Mx8avSession * or NULL
  },
  /**
   * One pass on a session (mx8_video_decode_clips without the bytes and
   * threads), going on from where the last pass stopped when it can.
   */
  mx8_video_session_decode: {
    parameters: [
      "pointer", // Mx8avSession *session
      "buffer", // const int64_t *targets (n_clips rows of count ticks, each ascending)
      "usize", // size_t n_clips
      "usize", // size_t count (frames per clip)
      "i64", // int64_t tolerance (ticks past the last frame)
      "u32", // uint32_t height
      "u32", // uint32_t width
      "buffer", // uint8_t *out
      "usize", // size_t out_len
      "buffer", // const uint32_t *slots (n_clips)
      "u64", // uint64_t max_packets per clip (0 = none)
      "f64", // double max_seconds per clip (0 = none)
      "buffer", // int32_t *status (n_clips, shim codes)
      "buffer", // int64_t *out_pts (per slot frame) or NULL
      "buffer", // int64_t stats[10] or NULL
      "buffer", // uint8_t *err
      "usize", // size_t err_cap
    ],
    result: "u32", // VideoStatus
    nonblocking: true,
  },
  /** Frees a session (NULL: nothing). */
  mx8_video_session_close: {
    parameters: [
      "pointer", // Mx8avSession *session
    ],
    result: "void",
  },
  /** Sessions open in the process (for tests: every one is freed). */
  mx8_video_session_live: {
    parameters: [],
    result: "u64", // uint64_t
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened `libmx8_video` library. */
export type VideoLibrary = Deno.DynamicLibrary<typeof videoSymbols>;

/** `VideoStatus` values (mirror of `ffi/video/src/status.rs`). */
export const VideoStatus = {
  Ok: 0,
  NullArgument: 1,
  InvalidArgument: 2,
  BufferTooSmall: 3,
  Panic: 4,
  VersionMismatch: 5,
  OpenFailed: 6,
  NoVideoStream: 7,
  Codec: 8,
  Decode: 9,
  LimitExceeded: 10,
  VideoTooShort: 11,
  OutOfMemory: 12,
} as const;

/** A `VideoStatus` name. */
export type VideoStatusName = keyof typeof VideoStatus;

/**
 * The name of a `VideoStatus` code (`"Unknown"` for others).
 *
 * @param status A status code.
 * @returns Its name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { videoStatusName } from "./video_ffi.ts";
 * assert.equal(videoStatusName(11), "VideoTooShort");
 * ```
 */
export function videoStatusName(status: number): VideoStatusName | "Unknown" {
  const found = Object.entries(VideoStatus).find(([, v]) => v === status);
  return found ? found[0] as VideoStatusName : "Unknown";
}
