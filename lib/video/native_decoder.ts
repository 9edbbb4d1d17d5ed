/**
 * Index and clip decode through `libmx8_video`: the video's bytes stay in
 * memory (custom AVIO), the decoder seeks to the keyframe before the clip,
 * and each frame is resized to RGB24 straight into the caller's buffer
 * (`ffi/video/shim/mx8_rgb.c`).
 *
 * @module
 */

import { Mx8Error } from "../errors.ts";
import { readMessage } from "../native/errors.ts";
import { VideoStatus, videoStatusName } from "../native/video_ffi.ts";
import { loadVideoLibrary } from "../native/video_library.ts";
import type { VideoLibrary } from "../native/video_ffi.ts";
import { VideoDecodeError, VideoUnavailableError } from "./errors.ts";
import type { VideoIndex } from "./types.ts";

const KEYS_FIRST_TRY = 4096;
const ERR_CAP = 1024;

/** Options of {@linkcode decodeClip}. */
export interface DecodeClipOptions {
  /** Output height in pixels. */
  height: number;
  /** Output width in pixels. */
  width: number;
  /** Where to write `T × H × W × 3` bytes (default: a new buffer). */
  out?: Uint8Array;
  /** Decoder threads for this clip (default 1: parallelism is across clips). */
  threads?: number;
  /** Most packets one clip may decode (default 0: no limit). */
  maxPackets?: number;
  /** Most seconds one clip may take (default 0: no limit). */
  maxSeconds?: number;
  /** How the clip is named in errors (default `sample <id>`). */
  label?: string;
}

/** A decoded clip. */
export interface DecodedClip {
  /** `T × H × W × 3` RGB24 bytes. */
  frames: Uint8Array;
  /** Presentation time (seconds) of the frame chosen for each target. */
  frameSeconds: number[];
}

/**
 * Whether video clips can be decoded here (`libmx8_video` loads and its
 * FFmpeg matches). Loads the library on the first call.
 *
 * @returns True when available.
 *
 * @example
 * ```ts
 * import { videoAvailable } from "./native_decoder.ts";
 * console.log(videoAvailable() ? "video clips: yes" : "video clips: no");
 * ```
 */
export function videoAvailable(): boolean {
  return loadVideoLibrary().ok;
}

/**
 * The video library, or throws one clear line.
 *
 * @returns The opened library.
 * @throws {VideoUnavailableError} When it cannot be loaded.
 *
 * @example
 * ```ts ignore
 * import { requireVideoLibrary } from "./native_decoder.ts";
 * const lib = requireVideoLibrary();
 * ```
 */
export function requireVideoLibrary(): VideoLibrary {
  const loaded = loadVideoLibrary();
  if (!loaded.ok) throw new VideoUnavailableError(loaded.reason);
  return loaded.library;
}

/**
 * Reads a video's index from its bytes (the container's own index: for MP4
 * no frame is scanned).
 *
 * @param bytes The whole video file.
 * @param sampleId The video's manifest `sample_id`.
 * @param label How to name the video in errors (default `sample <id>`).
 * @returns The index.
 * @throws {VideoUnavailableError} Without `libmx8_video`.
 * @throws {VideoDecodeError} When the bytes are not a readable video.
 *
 * @example
 * ```ts ignore
 * import { probeVideo } from "./native_decoder.ts";
 * const index = probeVideo(await Deno.readFile("clip.mp4"), 0n);
 * console.log(index.frameCount, index.frameRate);
 * ```
 */
export function probeVideo(
  bytes: Uint8Array,
  sampleId: bigint,
  label = `sample ${sampleId}`,
): VideoIndex {
  const lib = requireVideoLibrary();
  return probeWith(
    sampleId,
    label,
    (out, codec, keys, err) =>
      lib.symbols.mx8_video_probe(
        bytes,
        BigInt(bytes.length),
        out,
        codec,
        BigInt(codec.length),
        keys,
        BigInt(keys.length),
        err,
        BigInt(err.length),
      ),
  );
}

/**
 * Reads a video's index from a local file, as {@linkcode probeVideo} does
 * from bytes, but FFmpeg reads only the header and the index (an MP4's
 * `moov`, wherever it lies), not the frames: indexing costs what reading
 * the headers costs.
 *
 * @param path The video file.
 * @param sampleId The video's manifest `sample_id`.
 * @param label How to name the video in errors (default the path).
 * @returns The index.
 * @throws {VideoUnavailableError} Without `libmx8_video`.
 * @throws {VideoDecodeError} When the file is not a readable video.
 *
 * @example
 * ```ts ignore
 * import { probeVideoFile } from "./native_decoder.ts";
 * console.log(probeVideoFile("clip.mp4", 0n).keyframeSeconds);
 * ```
 */
export function probeVideoFile(
  path: string,
  sampleId: bigint,
  label = path,
): VideoIndex {
  const lib = requireVideoLibrary();
  const utf8 = new TextEncoder().encode(path);
  const z = new Uint8Array(utf8.length + 1);
  z.set(utf8);
  return probeWith(
    sampleId,
    label,
    (out, codec, keys, err) =>
      lib.symbols.mx8_video_probe_file(
        z,
        BigInt(utf8.length),
        out,
        codec,
        BigInt(codec.length),
        keys,
        BigInt(keys.length),
        err,
        BigInt(err.length),
      ),
  );
}

/** Runs a probe call (growing the keyframe buffer if needed) and reads its slots. */
function probeWith(
  sampleId: bigint,
  label: string,
  call: (
    out: BigInt64Array,
    codec: Uint8Array,
    keys: BigInt64Array,
    err: Uint8Array,
  ) => number,
): VideoIndex {
  let cap = KEYS_FIRST_TRY;
  for (;;) {
    const out = new BigInt64Array(12);
    const codec = new Uint8Array(64);
    const keys = new BigInt64Array(cap);
    const err = new Uint8Array(ERR_CAP);
    const status = call(out, codec, keys, err);
    if (status !== 0) {
      throw new VideoDecodeError(
        videoStatusName(status),
        label,
        readMessage(err),
      );
    }
    const s = Array.from(out, Number);
    const nKeys = s[9];
    if (nKeys > cap) {
      cap = nKeys;
      continue;
    }
    const tb: [number, number] = [s[0], s[1]];
    const sec = (ticks: number) => (ticks * tb[0]) / tb[1];
    const frameRate = s[3] > 0 ? s[2] / s[3] : 0;
    const durationSeconds = sec(s[8]);
    const frameCount = s[4] > 0
      ? s[4]
      : Math.max(0, Math.round(durationSeconds * frameRate));
    return {
      sampleId,
      timeBase: tb,
      startSeconds: sec(s[7]),
      durationSeconds,
      frameRate,
      frameCount,
      width: s[5],
      height: s[6],
      codec: readMessage(codec),
      keyframeSeconds: Array.from(
        keys.subarray(0, nKeys),
        (k) => sec(Number(k)),
      ),
    };
  }
}

/**
 * Decodes one clip: for each target time the frame shown at that time (by
 * `best_effort_timestamp`), scaled to `height × width` RGB24.
 *
 * @param bytes The whole video file.
 * @param index Its index (from {@linkcode probeVideo}).
 * @param frameSeconds Target times in seconds, ascending.
 * @param options Size, output buffer, limits.
 * @returns The frames and the time of each chosen frame.
 * @throws {VideoUnavailableError} Without `libmx8_video`.
 * @throws {VideoDecodeError} When this clip cannot be decoded (truncated
 * file, corrupt stream, limit reached).
 * @throws {RangeError} When `out` is too small or the size is not positive.
 *
 * @example
 * ```ts ignore
 * import { decodeClip, probeVideo } from "./native_decoder.ts";
 * const bytes = await Deno.readFile("clip.mp4");
 * const index = probeVideo(bytes, 0n);
 * const clip = await decodeClip(bytes, index, [0, 0.04, 0.08], { height: 224, width: 224 });
 * console.log(clip.frames.length); // 3 × 224 × 224 × 3
 * ```
 */
export async function decodeClip(
  bytes: Uint8Array,
  index: VideoIndex,
  frameSeconds: readonly number[],
  options: DecodeClipOptions,
): Promise<DecodedClip> {
  const lib = requireVideoLibrary();
  const { height, width } = options;
  if (
    !(Number.isInteger(height) && height > 0 && Number.isInteger(width) &&
      width > 0)
  ) {
    throw new RangeError(
      `Clip size must be positive integers: ${height}x${width}`,
    );
  }
  const need = frameSeconds.length * height * width * 3;
  const out = options.out ?? new Uint8Array(need);
  if (out.length < need) {
    throw new RangeError(
      `Clip buffer holds ${out.length} bytes, ${frameSeconds.length} frames of ${height}x${width} RGB need ${need}`,
    );
  }
  const [num, den] = index.timeBase;
  const ticks = (s: number) => BigInt(Math.round((s * den) / num));
  const targets = BigInt64Array.from(frameSeconds, ticks);
  const tolerance = index.frameRate > 0 ? ticks(1 / index.frameRate) : 0n;
  const pts = new BigInt64Array(frameSeconds.length);
  const err = new Uint8Array(ERR_CAP);
  const status = await lib.symbols.mx8_video_decode_clip(
    bytes,
    BigInt(bytes.length),
    targets,
    BigInt(targets.length),
    tolerance,
    height,
    width,
    out,
    BigInt(out.length),
    options.threads ?? 1,
    BigInt(options.maxPackets ?? 0),
    options.maxSeconds ?? 0,
    pts,
    err,
    BigInt(err.length),
  );
  if (status !== 0) {
    throw new VideoDecodeError(
      videoStatusName(status),
      options.label ?? `sample ${index.sampleId}`,
      readMessage(err),
    );
  }
  return {
    frames: out.subarray(0, need),
    frameSeconds: Array.from(pts, (p) => (Number(p) * num) / den),
  };
}

/** Counters and times of one {@linkcode decodeClips} pass. */
export interface DecodePassStats {
  /** Packets sent to the decoder. */
  packets: number;
  /** Frames decoded. */
  framesDecoded: number;
  /** Frames resized into the output. */
  framesScaled: number;
  /** Wanted frames copied from one already scaled (overlapping clips). */
  framesCopied: number;
  /** Seeks. */
  seeks: number;
  /** Opening the container and the decoder, ms. */
  openMs: number;
  /** Resizing, ms (on the pass's resize thread when it has one). */
  scaleMs: number;
  /** The whole pass, ms. */
  totalMs: number;
}

/** Options of {@linkcode decodeClips}. */
export interface DecodeClipsOptions {
  /** Output height in pixels. */
  height: number;
  /** Output width in pixels. */
  width: number;
  /** The batch slab: clip `k` goes to clip slot `slots[k]` (`T × H × W × 3` bytes each). */
  out: Uint8Array;
  /** Slot of each clip in `out` (default `k`). */
  slots?: readonly number[];
  /** Decoder threads for this pass (default 1). */
  threads?: number;
  /** Most packets per clip (the pass gets this × clips; default 0: no limit). */
  maxPackets?: number;
  /** Most seconds per clip (the pass gets this × clips; default 0: no limit). */
  maxSeconds?: number;
  /** How each clip is named in errors (default `sample <id> clip <k>`). */
  labels?: readonly string[];
}

/** What {@linkcode decodeClips} returns. */
export interface DecodedClips {
  /** Per clip: `undefined` when decoded, else why it failed. */
  errors: (VideoDecodeError | undefined)[];
  /** Presentation time (seconds) of the frame chosen for each clip's frames. */
  frameSeconds: number[][];
  /** Counters and times of the pass. */
  stats: DecodePassStats;
}

/**
 * Decodes several clips of one video in one pass (one open; the wanted
 * frames of all clips merged in time order, so each GOP is decoded once
 * and a frame two overlapping clips share is scaled once). Each clip's
 * frames are the frames shown at its target times, as {@linkcode decodeClip}.
 * A clip that fails (past the end of a truncated file) does not fail the
 * others: its error is in `errors`.
 *
 * @param bytes The whole video file.
 * @param index Its index (from {@linkcode probeVideo}).
 * @param clips Target times (seconds, ascending) of each clip; all the same length.
 * @param options Size, the slab, slots, limits.
 * @returns Per-clip errors, chosen frame times and the pass's counters.
 * @throws {VideoUnavailableError} Without `libmx8_video`.
 * @throws {RangeError} When the clips differ in length, a slot lies outside
 *   `out` or the size is not positive.
 *
 * @example
 * ```ts ignore
 * import { decodeClips, probeVideo } from "./native_decoder.ts";
 * const bytes = await Deno.readFile("clip.mp4");
 * const index = probeVideo(bytes, 0n);
 * const out = new Uint8Array(2 * 4 * 112 * 112 * 3);
 * const r = await decodeClips(bytes, index, [[0, 0.04, 0.08, 0.12], [0.08, 0.12, 0.16, 0.2]], {
 *   height: 112, width: 112, out,
 * });
 * console.log(r.errors, r.stats.framesDecoded); // [undefined, undefined] 6
 * ```
 */
export async function decodeClips(
  bytes: Uint8Array,
  index: VideoIndex,
  clips: readonly (readonly number[])[],
  options: DecodeClipsOptions,
): Promise<DecodedClips> {
  const lib = requireVideoLibrary();
  const p = preparePass(index, clips, options);
  const code = await lib.symbols.mx8_video_decode_clips(
    bytes,
    BigInt(bytes.length),
    p.targets,
    BigInt(p.n),
    BigInt(p.t),
    p.tolerance,
    options.height,
    options.width,
    options.out,
    BigInt(options.out.length),
    p.slots,
    options.threads ?? 1,
    BigInt(options.maxPackets ?? 0),
    options.maxSeconds ?? 0,
    p.status,
    p.pts,
    p.stats,
    p.err,
    BigInt(p.err.length),
  );
  return readPass(code, index, clips, options, p);
}

/**
 * One video's decoder kept open across passes (the batches of a
 * `VideoLoader`): native memory holding a copy of the video's bytes, the
 * demuxer and decoder with their position, and the last clip's scaled
 * frames. A pass whose first wanted frame lies after where the last one
 * stopped goes on decoding forward (no seek, no GOP lead-in decoded again);
 * one that starts within the kept frames copies them; one further back, or
 * after a failed pass or the end of the video, opens the video again. The
 * frames of every clip are exactly those {@linkcode decodeClips} returns.
 * One pass at a time; `release()` (or `using`) frees it, after the pass
 * running then, if any.
 *
 * @example
 * ```ts ignore
 * import { probeVideo, VideoSession } from "./native_decoder.ts";
 * const bytes = await Deno.readFile("clip.mp4");
 * const index = probeVideo(bytes, 0n);
 * using session = new VideoSession(bytes, index);
 * const out = new Uint8Array(4 * 112 * 112 * 3);
 * await session.decode([[0, 0.04, 0.08, 0.12]], { height: 112, width: 112, out });
 * await session.decode([[0.16, 0.2, 0.24, 0.28]], { height: 112, width: 112, out }); // no seek
 * ```
 */
export class VideoSession implements Disposable {
  /** The video's index. */
  readonly index: VideoIndex;
  #lib: VideoLibrary;
  #ptr: Deno.PointerObject | null;
  #busy = false;
  #released = false;

  /**
   * Opens a session over a copy of `bytes` (the caller may drop its own).
   *
   * @param bytes The whole video file.
   * @param index Its index (from {@linkcode probeVideo}).
   * @param threads Decoder threads (default 1), fixed for the session.
   * @throws {VideoUnavailableError} Without `libmx8_video`.
   * @throws {VideoDecodeError} `OutOfMemory` when native memory runs out.
   */
  constructor(bytes: Uint8Array, index: VideoIndex, threads = 1) {
    this.#lib = requireVideoLibrary();
    this.index = index;
    this.#ptr = bytes.length === 0 ? null : this.#lib.symbols
      .mx8_video_session_open(bytes, BigInt(bytes.length), threads);
    if (this.#ptr === null) {
      throw new VideoDecodeError(
        "OutOfMemory",
        `sample ${index.sampleId}`,
        `cannot open a decode session over ${bytes.length} bytes (out of memory, or no bytes)`,
      );
    }
  }

  /** Whether `release()` was called. */
  get released(): boolean {
    return this.#released;
  }

  /**
   * Decodes clips of the video as {@linkcode decodeClips} does (same
   * options; `threads` is the session's), going on from the last pass.
   *
   * @param clips Target times (seconds, ascending) of each clip; all the same length.
   * @param options Size, the slab, slots, limits, labels.
   * @returns Per-clip errors, chosen frame times and the pass's counters.
   * @throws {Mx8Error} When released or while another pass runs.
   * @throws {RangeError} As {@linkcode decodeClips}.
   */
  async decode(
    clips: readonly (readonly number[])[],
    options: DecodeClipsOptions,
  ): Promise<DecodedClips> {
    if (this.#released || this.#ptr === null) {
      throw new Mx8Error(
        `video session of sample ${this.index.sampleId} is released: open a new one`,
      );
    }
    if (this.#busy) {
      throw new Mx8Error(
        `video session of sample ${this.index.sampleId} runs a pass already: await it first`,
      );
    }
    const p = preparePass(this.index, clips, options);
    this.#busy = true;
    try {
      const code = await this.#lib.symbols.mx8_video_session_decode(
        this.#ptr,
        p.targets,
        BigInt(p.n),
        BigInt(p.t),
        p.tolerance,
        options.height,
        options.width,
        options.out,
        BigInt(options.out.length),
        p.slots,
        BigInt(options.maxPackets ?? 0),
        options.maxSeconds ?? 0,
        p.status,
        p.pts,
        p.stats,
        p.err,
        BigInt(p.err.length),
      );
      return readPass(code, this.index, clips, options, p);
    } finally {
      this.#busy = false;
      if (this.#released) this.#free();
    }
  }

  /** Frees the native session now, or when its running pass ends. Idempotent. */
  release(): void {
    this.#released = true;
    if (!this.#busy) this.#free();
  }

  /** Same as {@linkcode VideoSession.release}. */
  [Symbol.dispose](): void {
    this.release();
  }

  #free(): void {
    const ptr = this.#ptr;
    this.#ptr = null;
    if (ptr !== null) this.#lib.symbols.mx8_video_session_close(ptr);
  }
}

/**
 * Video sessions open in this process (opened, not yet freed): every one
 * must be freed (tests check it).
 *
 * @returns The count (0 without `libmx8_video`).
 *
 * @example
 * ```ts
 * import { liveVideoSessions } from "./native_decoder.ts";
 * console.log(liveVideoSessions()); // 0 when nothing is decoding
 * ```
 */
export function liveVideoSessions(): number {
  const loaded = loadVideoLibrary();
  return loaded.ok
    ? Number(loaded.library.symbols.mx8_video_session_live())
    : 0;
}

/** The arrays of one pass. */
interface Pass {
  n: number;
  t: number;
  targets: BigInt64Array;
  tolerance: bigint;
  slots: Uint32Array;
  pts: BigInt64Array;
  status: Int32Array;
  stats: BigInt64Array;
  err: Uint8Array;
}

/** Checks a pass's arguments and lays out its arrays. */
function preparePass(
  index: VideoIndex,
  clips: readonly (readonly number[])[],
  options: DecodeClipsOptions,
): Pass {
  const { height, width, out } = options;
  if (
    !(Number.isInteger(height) && height > 0 && Number.isInteger(width) &&
      width > 0)
  ) {
    throw new RangeError(
      `Clip size must be positive integers: ${height}x${width}`,
    );
  }
  const n = clips.length;
  const t = n > 0 ? clips[0].length : 0;
  if (n === 0 || t === 0) throw new RangeError(`decodeClips needs clips`);
  if (clips.some((c) => c.length !== t)) {
    throw new RangeError(`Every clip of a pass needs ${t} frames`);
  }
  const slots = Uint32Array.from(options.slots ?? clips.map((_, k) => k));
  const clipBytes = t * height * width * 3;
  const maxSlot = Math.max(...slots);
  if ((maxSlot + 1) * clipBytes > out.length) {
    throw new RangeError(
      `Clip slot ${maxSlot} (${t} frames of ${height}x${width} RGB) lies past the slab of ${out.length} bytes`,
    );
  }
  const [num, den] = index.timeBase;
  const ticks = (s: number) => BigInt(Math.round((s * den) / num));
  const targets = new BigInt64Array(n * t);
  clips.forEach((c, k) => c.forEach((s, i) => targets[k * t + i] = ticks(s)));
  return {
    n,
    t,
    targets,
    tolerance: index.frameRate > 0 ? ticks(1 / index.frameRate) : 0n,
    slots,
    pts: new BigInt64Array((maxSlot + 1) * t),
    status: new Int32Array(n),
    stats: new BigInt64Array(10),
    err: new Uint8Array(ERR_CAP),
  };
}

/** Reads a pass's results (per-clip errors, frame times, counters). */
function readPass(
  code: number,
  index: VideoIndex,
  clips: readonly (readonly number[])[],
  options: DecodeClipsOptions,
  p: Pass,
): DecodedClips {
  const { status, pts, slots, t, err } = p;
  const [num, den] = index.timeBase;
  const s = Array.from(p.stats, Number);
  const label = (k: number) =>
    options.labels?.[k] ?? `sample ${index.sampleId} clip ${k}`;
  const message = code === 0 ? "" : readMessage(err);
  if (code !== 0 && !Array.from(status).some((x) => x !== 0)) {
    // Refused before the pass (an argument the checks above missed).
    throw new VideoDecodeError(videoStatusName(code), label(0), message);
  }
  const errors = Array.from(status, (st, k) => {
    if (st === 0) return undefined;
    const name = videoStatusName(SHIM_TO_STATUS[st] ?? VideoStatus.Panic);
    const text = k === s[8] || st !== SHIM_ESHORT ? message : ESHORT_TEXT;
    return new VideoDecodeError(name, label(k), text);
  });
  return {
    errors,
    frameSeconds: clips.map((_, k) =>
      Array.from(
        pts.subarray(slots[k] * t, (slots[k] + 1) * t),
        (x) => (Number(x) * num) / den,
      )
    ),
    stats: {
      packets: s[0],
      framesDecoded: s[1],
      framesScaled: s[2],
      framesCopied: s[3],
      seeks: s[4],
      openMs: s[5] / 1e6,
      scaleMs: s[6] / 1e6,
      totalMs: s[7] / 1e6,
    },
  };
}

/** Shim result codes (`MX8AV_*`) → `VideoStatus` (as `VideoStatus::of_shim`). */
const SHIM_TO_STATUS: Record<number, number> = {
  1: VideoStatus.InvalidArgument,
  2: VideoStatus.OpenFailed,
  3: VideoStatus.NoVideoStream,
  4: VideoStatus.Codec,
  5: VideoStatus.Decode,
  6: VideoStatus.LimitExceeded,
  7: VideoStatus.VideoTooShort,
  8: VideoStatus.OutOfMemory,
};
const SHIM_ESHORT = 7;
const ESHORT_TEXT =
  "the video ends before this clip's last frame: the file is truncated or shorter than its header says";
