/**
 * One interface over the two video backends, as the loader uses them:
 * index a video from its bytes, decode a clip into a caller buffer.
 *
 * @module
 */

import { join } from "node:path";
import { loadVideoLibrary } from "../native/video_library.ts";
import {
  chooseVideoBackend,
  type VideoBackend,
  type VideoBackendOption,
} from "./backend.ts";
import { cliAvailable, decodeClipCli, probeVideoCli } from "./cli_decoder.ts";
import { VideoUnavailableError } from "./errors.ts";
import {
  decodeClip,
  decodeClips,
  type DecodedClips,
  probeVideo,
  probeVideoFile,
  VideoSession,
} from "./native_decoder.ts";
import type { VideoIndex } from "./types.ts";

/** Options of {@linkcode ClipDecoder.decodeMany}. */
export interface DecodeManyOptions {
  /** Output height. */
  height: number;
  /** Output width. */
  width: number;
  /** The batch slab (`T × H × W × 3` bytes per clip slot). */
  out: Uint8Array;
  /** Slot of each clip in `out`. */
  slots: readonly number[];
  /** How each clip is named in errors. */
  labels: readonly string[];
  /** Decoder threads for the pass. */
  threads: number;
  /** Most packets per clip. */
  maxPackets: number;
  /** Most seconds per clip. */
  maxSeconds: number;
}

/** What one pass did. */
export interface DecodeManyResult {
  /** Per clip: `undefined` when decoded, else its error. */
  errors: (unknown | undefined)[];
  /** Frames decoded (the CLI backend: the frames it kept). */
  framesDecoded: number;
  /** Milliseconds of the pass. */
  decodeMs: number;
}

/**
 * A video's decoder kept open across passes (see `VideoSession`): the
 * next pass goes on from where the last stopped.
 */
export interface ClipSession {
  /** One pass: as {@linkcode ClipDecoder.decodeMany}, on the session's video. */
  decodeMany(
    clips: readonly (readonly number[])[],
    o: DecodeManyOptions,
  ): Promise<DecodeManyResult>;
  /** Frees the session (after its running pass, if any). Idempotent. */
  release(): void;
}

/** What the loader needs of a backend. */
export interface ClipDecoder {
  /** The backend. */
  readonly backend: VideoBackend;
  /** Indexes a video from its bytes. */
  probe(
    bytes: Uint8Array,
    sampleId: bigint,
    label: string,
  ): Promise<VideoIndex>;
  /**
   * Indexes a local video file reading only what the demuxer asks for (an
   * MP4's header and sample tables, not its frames); absent: read it whole
   * and call `probe`.
   */
  probeFile?(
    path: string,
    sampleId: bigint,
    label: string,
  ): Promise<VideoIndex>;
  /** Decodes a clip into `out` (`T × H × W × 3`). */
  decode(
    bytes: Uint8Array,
    index: VideoIndex,
    frameSeconds: readonly number[],
    o: {
      height: number;
      width: number;
      out: Uint8Array;
      maxPackets: number;
      maxSeconds: number;
      label: string;
    },
  ): Promise<void>;
  /**
   * Decodes several clips of one video in one pass into the batch slab
   * (clip `k` into clip slot `o.slots[k]` of `o.out`); a clip that fails
   * does not fail the others.
   */
  decodeMany(
    bytes: Uint8Array,
    index: VideoIndex,
    clips: readonly (readonly number[])[],
    o: DecodeManyOptions,
  ): Promise<DecodeManyResult>;
  /**
   * Opens a session over a copy of `bytes` with `threads` decoder threads
   * (absent: the backend has none, every pass opens the video).
   */
  openSession?(
    bytes: Uint8Array,
    index: VideoIndex,
    threads: number,
  ): ClipSession;
  /** Frees what the backend holds (temporary files). */
  close(): Promise<void>;
}

/**
 * Opens the backend `requested` asks for.
 *
 * @param requested `"auto"`, `"native"` or `"cli"`.
 * @returns The decoder.
 * @throws {VideoUnavailableError} When no asked-for backend is available.
 */
export function openClipDecoder(requested: VideoBackendOption): ClipDecoder {
  const lib = loadVideoLibrary();
  const choice = chooseVideoBackend(
    requested,
    lib.ok ? null : lib.reason,
    requested === "native" || lib.ok && requested === "auto"
      ? false
      : cliAvailable(),
  );
  if (typeof choice === "object") throw new VideoUnavailableError(choice.error);
  return choice === "native" ? nativeDecoder() : new CliDecoder();
}

function nativeDecoder(): ClipDecoder {
  return {
    backend: "native",
    probe: (bytes, sampleId, label) =>
      Promise.resolve(probeVideo(bytes, sampleId, label)),
    probeFile: (path, sampleId, label) =>
      Promise.resolve(probeVideoFile(path, sampleId, label)),
    decode: async (bytes, index, times, o) => {
      await decodeClip(bytes, index, times, o);
    },
    decodeMany: async (bytes, index, clips, o) =>
      passResult(await decodeClips(bytes, index, clips, o)),
    openSession: (bytes, index, threads) => {
      const session = new VideoSession(bytes, index, threads);
      return {
        decodeMany: async (clips, o) =>
          passResult(await session.decode(clips, o)),
        release: () => session.release(),
      };
    },
    close: () => Promise.resolve(),
  };
}

function passResult(r: DecodedClips): DecodeManyResult {
  return {
    errors: r.errors,
    framesDecoded: r.stats.framesDecoded,
    decodeMs: r.stats.totalMs,
  };
}

/** The ffmpeg CLI on temporary copies of the videos (it reads files). */
class CliDecoder implements ClipDecoder {
  readonly backend = "cli" as const;
  #dir?: Promise<string>;
  #n = 0;

  async #withFile<T>(
    bytes: Uint8Array,
    fn: (path: string) => Promise<T>,
  ): Promise<T> {
    this.#dir ??= Deno.makeTempDir({ prefix: "mx8-video-cli-" });
    const path = join(await this.#dir, `${this.#n++}.video`);
    await Deno.writeFile(path, bytes);
    try {
      return await fn(path);
    } finally {
      await Deno.remove(path).catch(() => {});
    }
  }

  probe(
    bytes: Uint8Array,
    sampleId: bigint,
    label: string,
  ): Promise<VideoIndex> {
    return this.#withFile(bytes, (p) => probeVideoCli(p, sampleId, label));
  }

  async decode(
    bytes: Uint8Array,
    index: VideoIndex,
    times: readonly number[],
    o: { height: number; width: number; out: Uint8Array; label: string },
  ): Promise<void> {
    await this.#withFile(bytes, (p) => decodeClipCli(p, index, times, o));
  }

  /** One temporary copy of the video, then one ffmpeg process per clip. */
  decodeMany(
    bytes: Uint8Array,
    index: VideoIndex,
    clips: readonly (readonly number[])[],
    o: DecodeManyOptions,
  ): Promise<DecodeManyResult> {
    return this.#withFile(bytes, async (p) => {
      const t0 = performance.now();
      const clipBytes = clips[0].length * o.height * o.width * 3;
      const errors: unknown[] = [];
      let frames = 0;
      for (const [k, times] of clips.entries()) {
        const at = o.slots[k] * clipBytes;
        try {
          await decodeClipCli(p, index, times, {
            height: o.height,
            width: o.width,
            out: o.out.subarray(at, at + clipBytes),
            label: o.labels[k],
          });
          errors.push(undefined);
          frames += times.length;
        } catch (e) {
          errors.push(e);
        }
      }
      return {
        errors,
        framesDecoded: frames,
        decodeMs: performance.now() - t0,
      };
    });
  }

  async close(): Promise<void> {
    const dir = await this.#dir?.catch(() => undefined);
    if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
