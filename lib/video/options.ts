/**
 * Options of {@linkcode VideoLoader} and their validation.
 *
 * @module
 */

import type { LoaderOptions } from "../loader/options.ts";
import type { ManifestStore } from "../manifest_store/store.ts";
import type { VideoBackendOption } from "./backend.ts";
import type { ClipPlanOptions } from "./clip_plan.ts";
import { decodeThreadBudget } from "./thread_budget.ts";

/** The file name endings read as videos. */
export const VIDEO_EXTENSIONS: readonly string[] = [
  ".mp4",
  ".mkv",
  ".webm",
  ".mov",
];

/**
 * Options of `video(link, options)`. With `coordUrl` and `jobId` the videos
 * are leased from a coordinator (distributed mode, see `docs/video.md`):
 * `nodeId`, `want`, `authToken`, `connectTimeoutMs` and `barrierTimeoutMs`
 * mean what they mean for image loaders.
 */
export interface VideoOptions
  extends
    Omit<ClipPlanOptions, "manifestHash">,
    Pick<
      LoaderOptions,
      | "coordUrl"
      | "jobId"
      | "nodeId"
      | "want"
      | "authToken"
      | "connectTimeoutMs"
      | "barrierTimeoutMs"
    > {
  /** Clips per batch (default 8). */
  batchSizeClips?: number;
  /** Output `[height, width]` of every frame (default `[224, 224]`). */
  resizeHw?: [number, number];
  /**
   * `false` (default): `[B, T, H, W, 3]` uint8. `true`: `[B, 3, T, H, W]`
   * float32 in `[0, 1]`.
   */
  toFloat?: boolean;
  /** Byte cap of everything in flight: compressed videos + clip tensors (default 256 MiB). */
  maxInflightBytes?: number;
  /** Batches built ahead of the consumer (default 2). */
  prefetchBatches?: number;
  /**
   * Decode passes at once (default: cores ÷ `decodeThreads`). A pass decodes
   * every clip of one video in a batch; passes of every loader in the
   * process share one budget of decoder threads (`MX8_VIDEO_THREADS`, else
   * one per core).
   */
  decodeConcurrency?: number;
  /**
   * Decoder threads per pass (default 1: parallelism is across passes and
   * videos; but a video read alone — the only one in the batches being
   * built — gets every thread of the budget, as its batches decode one
   * after the other on its one decoder).
   */
  decodeThreads?: number;
  /** Most packets one clip may decode (default 10000). */
  maxPacketsPerClip?: number;
  /** Most seconds one clip may take to decode (default 30). */
  maxSecondsPerClip?: number;
  /** A clip (or video) that cannot be decoded: `"error"` (default) fails, `"skip"` drops it and counts it. */
  onDecodeError?: "error" | "skip";
  /**
   * Decoder: `"auto"` (default: `libmx8_video`, else the ffmpeg CLI),
   * `"native"` or `"cli"` (one ffmpeg process per clip; slow, a fallback).
   */
  backend?: VideoBackendOption;
  /** Resume token from `checkpoint()`. */
  resumeFrom?: string;
  /** Manifest store (default: `MX8_MANIFEST_STORE` or `~/.mx8/manifests`). */
  manifestStore?: ManifestStore;
  /** Structured event log (default: one JSON line per event on stderr). */
  log?: (event: string, fields: Record<string, unknown>) => void;
}

/** Options with every default filled in. */
export interface ResolvedVideoOptions {
  batchSizeClips: number;
  height: number;
  width: number;
  toFloat: boolean;
  maxInflightBytes: number;
  prefetchBatches: number;
  decodeConcurrency: number;
  decodeThreads: number;
  /** Whether `decodeThreads` was given (else a video read alone gets every thread). */
  decodeThreadsGiven: boolean;
  maxPacketsPerClip: number;
  maxSecondsPerClip: number;
  onDecodeError: "error" | "skip";
  backend: VideoBackendOption;
}

/**
 * Validates the loader-level options and fills in defaults (the clip
 * options are validated by `ClipPlan`).
 *
 * @param o The options.
 * @returns The resolved options.
 * @throws {RangeError} For an out-of-range value.
 * @throws {TypeError} For an unknown `onDecodeError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveVideoOptions } from "./options.ts";
 * assert.equal(resolveVideoOptions({ clip: 8 }).batchSizeClips, 8);
 * assert.throws(() => resolveVideoOptions({ clip: 8, resizeHw: [0, 4] }), /resizeHw/);
 * ```
 */
export function resolveVideoOptions(o: VideoOptions): ResolvedVideoOptions {
  const [height, width] = o.resizeHw ?? [224, 224];
  for (const [name, v] of [["height", height], ["width", width]] as const) {
    if (!Number.isSafeInteger(v) || v < 1 || v > 16384) {
      throw new RangeError(
        `resizeHw ${name} must be an integer in [1, 16384]: ${v}`,
      );
    }
  }
  const int = (name: string, v: number | undefined, dflt: number) => {
    const x = v ?? dflt;
    if (!Number.isSafeInteger(x) || x < 1) {
      throw new RangeError(`${name} must be a positive integer: ${x}`);
    }
    return x;
  };
  const onDecodeError = o.onDecodeError ?? "error";
  if (onDecodeError !== "error" && onDecodeError !== "skip") {
    throw new TypeError(
      `onDecodeError must be one of "error", "skip", got "${onDecodeError}"`,
    );
  }
  const maxSecondsPerClip = o.maxSecondsPerClip ?? 30;
  if (!(maxSecondsPerClip > 0)) {
    throw new RangeError(
      `maxSecondsPerClip must be > 0: ${maxSecondsPerClip}`,
    );
  }
  const backend = o.backend ?? "auto";
  if (!["auto", "native", "cli"].includes(backend)) {
    throw new TypeError(
      `backend must be one of "auto", "native", "cli", got "${backend}"`,
    );
  }
  const decodeThreads = int("decodeThreads", o.decodeThreads, 1);
  return {
    backend,
    batchSizeClips: int("batchSizeClips", o.batchSizeClips, 8),
    height,
    width,
    toFloat: o.toFloat ?? false,
    maxInflightBytes: int(
      "maxInflightBytes",
      o.maxInflightBytes,
      256 * 2 ** 20,
    ),
    prefetchBatches: int("prefetchBatches", o.prefetchBatches, 2),
    decodeThreads,
    decodeThreadsGiven: o.decodeThreads !== undefined,
    decodeConcurrency: int(
      "decodeConcurrency",
      o.decodeConcurrency,
      Math.max(1, Math.floor(decodeThreadBudget().capacity / decodeThreads)),
    ),
    maxPacketsPerClip: int("maxPacketsPerClip", o.maxPacketsPerClip, 10_000),
    maxSecondsPerClip,
    onDecodeError,
  };
}

/**
 * True when a manifest location names a video by its ending.
 *
 * @param location A manifest row's location.
 * @returns Whether it ends in `.mp4`, `.mkv`, `.webm` or `.mov` (any case).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isVideoLocation } from "./options.ts";
 * assert.equal(isVideoLocation("a/b.MP4"), true);
 * assert.equal(isVideoLocation("a/b.jpg"), false);
 * ```
 */
export function isVideoLocation(location: string): boolean {
  const lower = location.toLowerCase();
  return VIDEO_EXTENSIONS.some((e) => lower.endsWith(e));
}
