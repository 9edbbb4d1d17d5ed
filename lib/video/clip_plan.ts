/**
 * The clip planner: from per-video indexes and clip options to a
 * deterministic, resumable list of clips (which video, which start, which
 * frame timestamps). Pure: no I/O, no decoding.
 *
 * @module
 */

import { Prng } from "../lease/prng.ts";
import { sha256Hex } from "../util/sha256.ts";
import type { VideoIndex } from "./types.ts";

/** How clips are cut from each video. */
export interface ClipPlanOptions {
  /** Frames per clip (≥ 1). */
  clip: number;
  /**
   * Source frames between the starts of consecutive clips of a video
   * (regular sampling). Default: the clip's span, so clips do not overlap.
   */
  stride?: number;
  /** Source frames between the frames of a clip (default 1). Excludes `fps`. */
  frameStep?: number;
  /** Resample: seconds between the frames of a clip are `1 / fps`. Excludes `frameStep`. */
  fps?: number;
  /** `regular` (every `stride` frames, the default) or seeded `random` starts. */
  sampling?: "regular" | "random";
  /** Random sampling: clips per video (default 1). Regular: at most this many (default all). */
  clipsPerVideo?: number;
  /** Deliver clips in a seeded random order instead of video by video (default false). */
  shuffle?: boolean;
  /** Seed of random starts, shuffle and clip ids (default 0). */
  seed?: bigint | number;
  /** Epoch: another epoch draws other random starts and another order (default 0). */
  epoch?: number;
  /** Manifest hash of the snapshot (part of every clip id; default ""). */
  manifestHash?: string;
}

/** One planned clip. */
export interface PlannedClip {
  /** Position of the clip in the plan's delivery order. */
  position: number;
  /** Deterministic id from (manifest hash, seed, epoch, video, start). */
  clipId: bigint;
  /** Manifest `sample_id` of the video. */
  sampleId: bigint;
  /** Index of the video in the list the plan was made from. */
  videoIndex: number;
  /** Source frame index of the clip's first frame (nominal rate). */
  startFrame: number;
  /** Presentation time of the clip's first frame, in seconds. */
  startSeconds: number;
  /** Presentation time of each of the clip's frames, in seconds. */
  frameSeconds: number[];
}

/** A video the plan cut no clip from, and why. */
export interface SkippedVideo {
  /** Manifest `sample_id` of the video. */
  sampleId: bigint;
  /** Why, e.g. `"4 frames at 25 fps is shorter than a clip (16 frames, 0.6 s)"`. */
  reason: string;
}

const EPS = 1e-6;
const SHUFFLE_STREAM = 0x5eed_c11en;

/**
 * A deterministic list of clips: the same videos, options, seed and epoch
 * always give the same clips in the same order, so a position in it is a
 * resume point. Clips are stored as two typed arrays and materialised on
 * demand by {@linkcode ClipPlan.at}.
 *
 * @example Plan 8-frame clips every 8 frames of a 2 s, 25 fps video
 * ```ts
 * import assert from "node:assert/strict";
 * import { ClipPlan } from "./clip_plan.ts";
 *
 * const video = {
 *   sampleId: 7n, timeBase: [1, 12800] as [number, number], startSeconds: 0,
 *   durationSeconds: 2, frameRate: 25, frameCount: 50, width: 64, height: 48,
 *   codec: "h264", keyframeSeconds: [0],
 * };
 * const plan = new ClipPlan([video], { clip: 8 });
 * assert.equal(plan.length, 6); // starts 0, 8, …, 40
 * assert.deepEqual(plan.at(1).frameSeconds.slice(0, 2), [0.32, 0.36]);
 * ```
 */
export class ClipPlan {
  readonly #videos: readonly VideoIndex[];
  readonly #spacing: (v: VideoIndex) => number;
  readonly #clip: number;
  readonly #seed: bigint;
  readonly #epoch: number;
  readonly #manifestHash: string;
  readonly #video: Uint32Array;
  readonly #start: Float64Array;
  readonly #order: Uint32Array;
  /** Videos with no clip, and why. */
  readonly skipped: readonly SkippedVideo[];

  /**
   * Plans the clips of `videos`.
   *
   * @param videos Per-video indexes, in manifest order.
   * @param options How to cut clips.
   * @throws {RangeError} If an option is out of range or `fps` and
   * `frameStep` are both given.
   */
  constructor(videos: readonly VideoIndex[], options: ClipPlanOptions) {
    const o = validate(options);
    this.#videos = videos;
    this.#clip = o.clip;
    this.#seed = BigInt.asUintN(64, BigInt(options.seed ?? 0));
    this.#epoch = o.epoch;
    this.#manifestHash = options.manifestHash ?? "";
    this.#spacing = o.fps !== undefined
      ? () => 1 / o.fps!
      : (v) => o.frameStep / v.frameRate;
    const videoOf: number[] = [];
    const startOf: number[] = [];
    const skipped: SkippedVideo[] = [];
    videos.forEach((v, vi) => {
      const maxStart = this.#maxStartFrame(v);
      if (maxStart < 0) {
        skipped.push({ sampleId: v.sampleId, reason: this.#tooShort(v) });
        return;
      }
      for (const s of this.#starts(v, maxStart, o)) {
        videoOf.push(vi);
        startOf.push(s);
      }
    });
    this.#video = Uint32Array.from(videoOf);
    this.#start = Float64Array.from(startOf);
    this.#order = new Uint32Array(videoOf.length).map((_, i) => i);
    if (o.shuffle) shuffleInPlace(this.#order, this.#seed, o.epoch);
    this.skipped = skipped;
  }

  /** Number of clips in the plan. */
  get length(): number {
    return this.#order.length;
  }

  /**
   * The clip at a delivery position.
   *
   * @param position In `[0, length)`.
   * @returns The clip.
   * @throws {RangeError} If `position` is out of range.
   */
  at(position: number): PlannedClip {
    if (
      !Number.isInteger(position) || position < 0 || position >= this.length
    ) {
      throw new RangeError(
        `Clip position must be an integer in [0, ${this.length}): ${position}`,
      );
    }
    const k = this.#order[position];
    const videoIndex = this.#video[k];
    const v = this.#videos[videoIndex];
    const startFrame = this.#start[k];
    const startSeconds = v.startSeconds + startFrame / v.frameRate;
    const spacing = this.#spacing(v);
    const frameSeconds = Array.from(
      { length: this.#clip },
      (_, i) => round9(startSeconds + i * spacing),
    );
    return {
      position,
      clipId: this.clipIdOf(v.sampleId, startFrame),
      sampleId: v.sampleId,
      videoIndex,
      startFrame,
      startSeconds: round9(startSeconds),
      frameSeconds,
    };
  }

  /**
   * The `sample_id` of the video of the clip at a delivery position, without
   * materialising the clip (no clip id hash).
   *
   * @param position In `[0, length)`.
   * @returns The video's manifest `sample_id`.
   * @throws {RangeError} If `position` is out of range.
   */
  sampleIdAt(position: number): bigint {
    if (
      !Number.isInteger(position) || position < 0 || position >= this.length
    ) {
      throw new RangeError(
        `Clip position must be an integer in [0, ${this.length}): ${position}`,
      );
    }
    return this.#videos[this.#video[this.#order[position]]].sampleId;
  }

  /**
   * The id of the clip of a video starting at a frame: the first 60 bits of
   * SHA-256 over (manifest hash, seed, epoch, sample id, start frame).
   *
   * @param sampleId The video's manifest `sample_id`.
   * @param startFrame The clip's first source frame.
   * @returns A non-negative id below 2^60.
   */
  clipIdOf(sampleId: bigint, startFrame: number): bigint {
    const key =
      `${this.#manifestHash}\0${this.#seed}\0${this.#epoch}\0${sampleId}\0${startFrame}`;
    return BigInt(`0x${sha256Hex(key).slice(0, 15)}`);
  }

  /** Last valid start frame of `v`, or -1 when a clip does not fit. */
  #maxStartFrame(v: VideoIndex): number {
    if (!(v.frameRate > 0) || !(v.frameCount > 0)) return -1;
    const spanFrames = (this.#clip - 1) * this.#spacing(v) * v.frameRate;
    return Math.floor(v.frameCount - 1 - spanFrames + EPS);
  }

  #tooShort(v: VideoIndex): string {
    if (!(v.frameRate > 0) || !(v.frameCount > 0)) {
      return `no frame rate or frame count in its index (rate ${v.frameRate}, frames ${v.frameCount})`;
    }
    const span = (this.#clip - 1) * this.#spacing(v);
    return `${v.frameCount} frames at ${
      round9(v.frameRate)
    } fps is shorter than a clip (${this.#clip} frames over ${round9(span)} s)`;
  }

  *#starts(
    v: VideoIndex,
    maxStart: number,
    o: Validated,
  ): Generator<number> {
    if (o.sampling === "random") {
      const prng = new Prng(
        BigInt.asUintN(64, this.#seed * 0x9e37_79b9n + v.sampleId),
        o.epoch,
      );
      const starts = Array.from(
        { length: o.clipsPerVideo ?? 1 },
        () => prng.nextBelow(maxStart + 1),
      );
      yield* starts.sort((a, b) => a - b);
      return;
    }
    const stride = o.stride ??
      Math.max(1, Math.round(this.#clip * this.#spacing(v) * v.frameRate));
    let n = 0;
    for (let s = 0; s <= maxStart; s += stride) {
      if (o.clipsPerVideo !== undefined && n++ >= o.clipsPerVideo) return;
      yield s;
    }
  }
}

interface Validated {
  clip: number;
  stride?: number;
  frameStep: number;
  fps?: number;
  sampling: "regular" | "random";
  clipsPerVideo?: number;
  shuffle: boolean;
  epoch: number;
}

function validate(o: ClipPlanOptions): Validated {
  positiveInt("clip", o.clip);
  if (o.stride !== undefined) positiveInt("stride", o.stride);
  if (o.frameStep !== undefined) positiveInt("frameStep", o.frameStep);
  if (o.clipsPerVideo !== undefined) {
    positiveInt("clipsPerVideo", o.clipsPerVideo);
  }
  if (o.fps !== undefined && o.frameStep !== undefined) {
    throw new RangeError(
      `Give either fps or frameStep, not both: fps ${o.fps}, frameStep ${o.frameStep}`,
    );
  }
  if (o.fps !== undefined && !(Number.isFinite(o.fps) && o.fps > 0)) {
    throw new RangeError(`fps must be a positive number: ${o.fps}`);
  }
  const sampling = o.sampling ?? "regular";
  if (sampling !== "regular" && sampling !== "random") {
    throw new RangeError(
      `sampling must be "regular" or "random": ${JSON.stringify(sampling)}`,
    );
  }
  const epoch = o.epoch ?? 0;
  if (!Number.isSafeInteger(epoch) || epoch < 0) {
    throw new RangeError(`epoch must be a non-negative integer: ${epoch}`);
  }
  return {
    clip: o.clip,
    stride: o.stride,
    frameStep: o.frameStep ?? 1,
    fps: o.fps,
    sampling,
    clipsPerVideo: o.clipsPerVideo,
    shuffle: o.shuffle ?? false,
    epoch,
  };
}

function positiveInt(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer: ${value}`);
  }
}

function shuffleInPlace(order: Uint32Array, seed: bigint, epoch: number): void {
  const prng = new Prng(seed ^ SHUFFLE_STREAM, epoch);
  for (let i = order.length - 1; i > 0; i--) {
    const j = prng.nextBelow(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}

/** Rounds to 9 decimals so that 8 / 25 prints as 0.32, not 0.32000000000000001. */
function round9(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}
