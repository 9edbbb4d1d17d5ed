/**
 * The per-video index MX8 keeps next to a video's bytes, read from the
 * container's own index (no decode, no scan).
 *
 * @module
 */

/** What MX8 knows about one video before decoding it. */
export interface VideoIndex {
  /** Manifest `sample_id` of the video. */
  sampleId: bigint;
  /** Stream time base as `[numerator, denominator]` (seconds per tick). */
  timeBase: [number, number];
  /** Presentation time of the first frame, in seconds (often 0). */
  startSeconds: number;
  /** Duration of the stream in seconds. */
  durationSeconds: number;
  /** Average frame rate (frames per second), from the container. */
  frameRate: number;
  /** Frame count: from the container when it says, else duration × rate. */
  frameCount: number;
  /** Coded width in pixels. */
  width: number;
  /** Coded height in pixels. */
  height: number;
  /** Codec name as FFmpeg spells it (`h264`, `vp9`, …). */
  codec: string;
  /** Keyframe timestamps in seconds, from the container index (may be empty). */
  keyframeSeconds: number[];
}
