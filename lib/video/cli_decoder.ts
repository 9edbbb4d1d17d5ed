/**
 * The fallback backend: the `ffmpeg` / `ffprobe` command-line tools, one
 * process per video index or clip, for machines without `libmx8_video`.
 * Same contract as `native_decoder.ts`: each target time gets the frame
 * shown at that time, scaled to `height × width` RGB24. Much slower (a
 * process start per clip) and it needs the video in a file.
 *
 * @module
 */

import { VideoDecodeError, VideoUnavailableError } from "./errors.ts";
import type { VideoIndex } from "./types.ts";

/** Timestamps printed by ffmpeg have 6 decimals: equal within this. */
const TIME_EPS = 1e-4;

/**
 * Whether the ffmpeg and ffprobe commands run here.
 *
 * @returns True when both run.
 *
 * @example
 * ```ts
 * import { cliAvailable } from "./cli_decoder.ts";
 * console.log(cliAvailable() ? "ffmpeg CLI: yes" : "ffmpeg CLI: no");
 * ```
 */
export function cliAvailable(): boolean {
  return ["ffmpeg", "ffprobe"].every((cmd) => {
    try {
      return new Deno.Command(cmd, {
        args: ["-version"],
        stdout: "null",
        stderr: "null",
      }).outputSync().success;
    } catch {
      return false;
    }
  });
}

/**
 * Input options of every ffmpeg / ffprobe call: the containers MX8 reads
 * (mov: .mp4 .mov; matroska: .mkv .webm) from a local file only, and the
 * path given as `file:…` so that no prefix of it reads as a protocol.
 * Without them a "video" could be an HLS playlist whose demuxer opens the
 * local files or URLs it lists.
 */
const INPUT_GUARD = [
  "-format_whitelist",
  "mov,matroska",
  "-protocol_whitelist",
  "file",
];

async function run(
  cmd: string,
  args: string[],
  label: string,
): Promise<{ stdout: Uint8Array; stderr: string }> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    })
      .output();
  } catch (e) {
    throw new VideoUnavailableError(
      `cannot run ${cmd} (${
        e instanceof Error ? e.message : String(e)
      }): install it with "apt-get install -y ffmpeg"`,
    );
  }
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) {
    const last = stderr.trim().split("\n").filter((l) =>
      !/^\[Parsed_showinfo/.test(l)
    ).pop() ??
      `exit ${out.code}`;
    throw new VideoDecodeError("OpenFailed", label, `${cmd} failed: ${last}`);
  }
  return { stdout: out.stdout, stderr };
}

/**
 * Reads a video's index with `ffprobe` (no keyframe list).
 *
 * @param path The video file.
 * @param sampleId The video's manifest `sample_id`.
 * @param label How to name the video in errors.
 * @returns The index.
 * @throws {VideoDecodeError} When ffprobe cannot read it.
 * @throws {VideoUnavailableError} When ffprobe cannot run.
 */
export async function probeVideoCli(
  path: string,
  sampleId: bigint,
  label = `sample ${sampleId}`,
): Promise<VideoIndex> {
  const { stdout } = await run("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=codec_name,width,height,time_base,avg_frame_rate,r_frame_rate,nb_frames,duration,start_time:format=duration",
    "-of",
    "json",
    ...INPUT_GUARD,
    `file:${path}`,
  ], label);
  const doc = JSON.parse(new TextDecoder().decode(stdout));
  const s = doc.streams?.[0];
  if (!s) {
    throw new VideoDecodeError("NoVideoStream", label, "no video stream");
  }
  const ratio = (r: string | undefined) => {
    const [n, d] = (r ?? "0/1").split("/").map(Number);
    return d > 0 && n > 0 ? n / d : 0;
  };
  const frameRate = ratio(s.avg_frame_rate) || ratio(s.r_frame_rate);
  const durationSeconds = Number(s.duration ?? doc.format?.duration ?? 0);
  const [tn, td] = String(s.time_base ?? "1/1").split("/").map(Number);
  const nb = Number(s.nb_frames ?? 0);
  return {
    sampleId,
    timeBase: [tn, td],
    startSeconds: Number(s.start_time ?? 0),
    durationSeconds,
    frameRate,
    frameCount: nb > 0 ? nb : Math.round(durationSeconds * frameRate),
    width: Number(s.width),
    height: Number(s.height),
    codec: String(s.codec_name),
    keyframeSeconds: [],
  };
}

/**
 * Decodes one clip with one `ffmpeg` process: frames from one nominal frame
 * before the first target to one after the last, then, for each target,
 * the last frame at or before it (by the timestamps `showinfo` prints).
 *
 * @param path The video file.
 * @param index Its index.
 * @param frameSeconds Target times in seconds, ascending.
 * @param options Output size and where to write (`T × H × W × 3` bytes).
 * @returns The frames and the time of each chosen frame.
 * @throws {VideoDecodeError} When the clip cannot be decoded (e.g. the file ends first).
 */
export async function decodeClipCli(
  path: string,
  index: VideoIndex,
  frameSeconds: readonly number[],
  options: { height: number; width: number; out?: Uint8Array; label?: string },
): Promise<{ frames: Uint8Array; frameSeconds: number[] }> {
  const { height: h, width: w } = options;
  const label = options.label ?? `sample ${index.sampleId}`;
  const frame = index.frameRate > 0 ? 1 / index.frameRate : 0.04;
  const first = frameSeconds[0];
  const last = frameSeconds[frameSeconds.length - 1];
  const from = Math.max(index.startSeconds, first - frame);
  const { stdout, stderr } = await run("ffmpeg", [
    "-nostdin",
    "-hide_banner",
    "-nostats",
    "-v",
    "info",
    "-threads",
    "1",
    // Source timestamps; -ss and -t bound the input (after -copyts an
    // output -t would count from 0 and cut everything).
    "-copyts",
    "-ss",
    from.toFixed(6),
    "-t",
    (last - from + 2 * frame).toFixed(6),
    ...INPUT_GUARD,
    "-i",
    `file:${path}`,
    "-vf",
    `scale=${w}:${h}:flags=bilinear,showinfo`,
    "-fps_mode",
    "passthrough",
    "-f",
    "rawvideo",
    "-pix_fmt",
    "rgb24",
    "-",
  ], label);
  const times = [
    ...stderr.matchAll(
      /Parsed_showinfo.* n: *\d+ pts: *-?\d+ pts_time:(-?[\d.e+-]+)/g,
    ),
  ]
    .map((m) => Number(m[1]));
  const plane = h * w * 3;
  const n = Math.min(times.length, Math.floor(stdout.length / plane));
  const out = options.out ?? new Uint8Array(frameSeconds.length * plane);
  const chosen: number[] = [];
  let k = 0;
  for (const [i, t] of frameSeconds.entries()) {
    while (k + 1 < n && times[k + 1] <= t + TIME_EPS) k++;
    if (n === 0 || t > times[n - 1] + frame + TIME_EPS) {
      throw new VideoDecodeError(
        "VideoTooShort",
        label,
        n === 0
          ? `no frame decodes from ${from.toFixed(3)} s on (clip frame ${
            i + 1
          } of ${frameSeconds.length} is at ${
            t.toFixed(3)
          } s): the file is truncated or shorter than its header says`
          : `the video ends at ${times[n - 1].toFixed(3)} s but clip frame ${
            i + 1
          } of ${frameSeconds.length} is at ${
            t.toFixed(3)
          } s: the file is truncated or shorter than its header says`,
      );
    }
    out.set(stdout.subarray(k * plane, (k + 1) * plane), i * plane);
    chosen.push(times[k]);
  }
  return {
    frames: out.subarray(0, frameSeconds.length * plane),
    frameSeconds: chosen,
  };
}
