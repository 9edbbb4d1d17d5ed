/**
 * Video clips: a dataset link of videos (`.mp4 .mkv .webm .mov`) read as
 * batches of decoded clips by FFmpeg (`libmx8_video`, built from
 * `ffi/video/`), under the same byte cap as images. See `docs/video.md`.
 *
 * @example Clips of a folder of videos (skipped where FFmpeg is not available)
 * ```ts
 * import assert from "node:assert/strict";
 * import { openManifestStore } from "../manifest_store/open.ts";
 * import { video, videoAvailable } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/videos`);
 * // A 2 s, 25 fps test video made by the ffmpeg CLI (when installed).
 * const made = await new Deno.Command("ffmpeg", {
 *   args: ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=2",
 *     "-pix_fmt", "yuv420p", `${dir}/videos/a.mp4`],
 * }).output().then((o) => o.success, () => false);
 * if (made && videoAvailable()) {
 *   await using clips = video(`${dir}/videos`, {
 *     clip: 8, stride: 16, batchSizeClips: 2, resizeHw: [32, 32],
 *     manifestStore: openManifestStore(`${dir}/store`), log: () => {},
 *   });
 *   let n = 0;
 *   for await (const batch of clips) {
 *     assert.deepEqual(batch.clips.shape.slice(1), [8, 32, 32, 3]);
 *     n += batch.clips.shape[0];
 *   }
 *   assert.equal(n, 3); // starts at frames 0, 16, 32 of 50
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

export { video, VideoLoader, type VideoLoaderStats } from "./video_loader.ts";
export {
  isVideoLocation,
  VIDEO_EXTENSIONS,
  type VideoOptions,
} from "./options.ts";
export { type ClipBatch, toPlanarFloat } from "./clip_batch.ts";
export {
  ClipPlan,
  type ClipPlanOptions,
  type PlannedClip,
  type SkippedVideo,
} from "./clip_plan.ts";
export {
  decodeClip,
  type DecodeClipOptions,
  decodeClips,
  type DecodeClipsOptions,
  type DecodedClip,
  type DecodedClips,
  type DecodePassStats,
  liveVideoSessions,
  probeVideo,
  videoAvailable,
  VideoSession,
} from "./native_decoder.ts";
export { VideoDecodeError, VideoUnavailableError } from "./errors.ts";
export type { VideoIndex } from "./types.ts";
