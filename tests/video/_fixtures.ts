/**
 * Test helper: real encoded videos made by Debian's `ffmpeg` CLI from a
 * photo-like JPEG (a 320×240 window panning 3 px right and 2 px down per
 * frame, so consecutive frames differ), reference frames and timestamps from
 * the CLI and ffprobe, PSNR, and `videoTest`, which ignores a test with the
 * reason (printed once) when `ffmpeg` or `libmx8_video` is unavailable.
 *
 * @module
 */

import { tmpdir } from "node:os";
import { join } from "node:path";
import { photoJpeg } from "../../lib/demo/photos.ts";
import { loadVideoLibrary } from "../../lib/native/video_library.ts";

function hasCommand(cmd: string): boolean {
  try {
    return new Deno.Command(cmd, {
      args: ["-version"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync().success;
  } catch {
    return false;
  }
}

const lib = loadVideoLibrary();
const cli = hasCommand("ffmpeg") && hasCommand("ffprobe");

/** Why video tests are ignored, or `null` when they run. */
export const videoSkipReason: string | null = !lib.ok
  ? lib.reason
  : !cli
  ? `the ffmpeg/ffprobe CLI is missing: install with "apt-get install -y ffmpeg"`
  : null;

const NOTICE_ENV = "MX8_TEST_VIDEO_NOTICE";
if (videoSkipReason && !Deno.env.get(NOTICE_ENV)) {
  Deno.env.set(NOTICE_ENV, "1");
  console.warn(
    `%cmx8 tests: video tests are ignored: ${videoSkipReason}.`,
    "color: yellow",
  );
}

/**
 * Registers a test that needs `libmx8_video` and the ffmpeg CLI.
 *
 * @param name Test name.
 * @param fn Test body.
 */
export function videoTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: videoSkipReason !== null, fn });
}

async function run(cmd: string, args: string[]): Promise<Uint8Array> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return out.stdout;
}

/** The fixture videos (paths). */
export interface Fixtures {
  /** H.264 in MP4, 25 fps, 100 frames, 2 B-frames, GOP 60 (keyframes at 0 and 60). */
  h264: string;
  /** The same, moov first (`+faststart`). */
  h264Fast: string;
  /** The same stream remuxed into Matroska. */
  h264Mkv: string;
  /** The same stream remuxed into QuickTime. */
  h264Mov: string;
  /** H.264 in MP4, variable frame rate: 40 frames at 25 fps, then 40 at ≈10 fps. */
  vfr: string;
  /** VP9 in WebM, 25 fps, 75 frames, GOP 30. */
  vp9: string;
  /** `h264Fast` cut at 60%: its header still says 100 frames (a lying header). */
  truncatedFast: string;
  /** `h264` cut at 60%: the index (moov, at the end) is gone. */
  truncatedNoIndex: string;
  /** `vp9` cut at 50%. */
  truncatedWebm: string;
}

/**
 * Encodes the fixture videos into `dir`.
 *
 * @param dir An empty directory.
 * @returns Their paths.
 */
export async function makeFixtures(dir: string): Promise<Fixtures> {
  const f = (name: string) => join(dir, name);
  if (await Deno.stat(f("done")).then(() => true, () => false)) {
    return fixturePaths(f);
  }
  await encodeFixtures(f);
  await Deno.writeTextFile(f("done"), "");
  return fixturePaths(f);
}

/**
 * The fixture videos, encoded once per machine into
 * `$TMPDIR/mx8-video-fixtures-v1` (built in a private directory, then
 * renamed into place, so concurrent test processes never see half of it).
 * Read-only: tests copy what they change.
 *
 * @returns Their paths.
 */
export async function sharedFixtures(): Promise<Fixtures> {
  const base = join(tmpdir(), FIXTURES_VERSION);
  if (await Deno.stat(join(base, "done")).then(() => true, () => false)) {
    return fixturePaths((name) => join(base, name));
  }
  const tmp = await Deno.makeTempDir({ prefix: `${FIXTURES_VERSION}.tmp-` });
  await makeFixtures(tmp);
  try {
    await Deno.rename(tmp, base);
  } catch {
    // Another process won the race: use its copy.
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  return fixturePaths((name) => join(base, name));
}

/** Bump when the fixtures change. */
const FIXTURES_VERSION = "mx8-video-fixtures-v1";

function fixturePaths(f: (name: string) => string): Fixtures {
  return {
    h264: f("h264.mp4"),
    h264Fast: f("fast.mp4"),
    h264Mkv: f("h264.mkv"),
    h264Mov: f("h264.mov"),
    vfr: f("vfr.mp4"),
    vp9: f("vp9.webm"),
    truncatedFast: f("fast_trunc.mp4"),
    truncatedNoIndex: f("h264_trunc.mp4"),
    truncatedWebm: f("vp9_trunc.webm"),
  };
}

async function encodeFixtures(f: (name: string) => string): Promise<void> {
  const photo = f("photo.jpg");
  await Deno.writeFile(
    photo,
    await photoJpeg(3, { width: 640, height: 480, quality: 95 }),
  );
  const input = [
    "-v",
    "error",
    "-y",
    "-threads",
    "1",
    "-loop",
    "1",
    "-framerate",
    "25",
    "-i",
    photo,
  ];
  const pan = "crop=320:240:'n*3':'n*2'";
  const x264 = [
    "-c:v",
    "libx264",
    "-threads",
    "1",
    "-bf",
    "2",
    "-g",
    "60",
    "-sc_threshold",
    "0",
    "-pix_fmt",
    "yuv420p",
  ];
  await run("ffmpeg", [
    ...input,
    "-vf",
    pan,
    "-frames:v",
    "100",
    ...x264,
    f("h264.mp4"),
  ]);
  await run("ffmpeg", [
    "-v",
    "error",
    "-y",
    "-i",
    f("h264.mp4"),
    "-c",
    "copy",
    "-movflags",
    "+faststart",
    f("fast.mp4"),
  ]);
  for (const ext of ["mkv", "mov"]) {
    await run("ffmpeg", [
      "-v",
      "error",
      "-y",
      "-i",
      f("h264.mp4"),
      "-c",
      "copy",
      f(`h264.${ext}`),
    ]);
  }
  await run("ffmpeg", [
    ...input,
    "-vf",
    `${pan},setpts='if(lt(N,40),N/25,1.6+(N-40)/10)/TB'`,
    "-frames:v",
    "80",
    "-fps_mode",
    "vfr",
    ...x264,
    f("vfr.mp4"),
  ]);
  await run("ffmpeg", [
    ...input,
    "-vf",
    pan,
    "-frames:v",
    "75",
    "-c:v",
    "libvpx-vp9",
    "-threads",
    "1",
    "-deadline",
    "realtime",
    "-cpu-used",
    "8",
    "-g",
    "30",
    "-b:v",
    "600k",
    f("vp9.webm"),
  ]);
  const cut = async (from: string, to: string, fraction: number) => {
    const bytes = await Deno.readFile(from);
    await Deno.writeFile(
      to,
      bytes.subarray(0, Math.floor(bytes.length * fraction)),
    );
  };
  await cut(f("fast.mp4"), f("fast_trunc.mp4"), 0.6);
  await cut(f("h264.mp4"), f("h264_trunc.mp4"), 0.6);
  await cut(f("vp9.webm"), f("vp9_trunc.webm"), 0.5);
}

/**
 * Frame `n` (decode order of presentation: the n-th frame out of the
 * decoder) as the ffmpeg CLI renders it, scaled to `width × height` RGB24
 * with the same bilinear swscale.
 *
 * @param path The video.
 * @param n Frame number.
 * @param height Output height.
 * @param width Output width.
 * @returns `height × width × 3` bytes.
 */
export async function cliFrame(
  path: string,
  n: number,
  height: number,
  width: number,
): Promise<Uint8Array> {
  return await run("ffmpeg", [
    "-v",
    "error",
    "-threads",
    "1",
    "-i",
    path,
    "-vf",
    `select=eq(n\\,${n}),scale=${width}:${height}:flags=bilinear`,
    "-fps_mode",
    "passthrough",
    "-frames:v",
    "1",
    "-f",
    "rawvideo",
    "-pix_fmt",
    "rgb24",
    "-",
  ]);
}

/**
 * Presentation time of every frame, as ffprobe reads it
 * (`best_effort_timestamp_time`).
 *
 * @param path The video.
 * @returns Seconds, in display order.
 */
export async function probeFrameSeconds(path: string): Promise<number[]> {
  const out = await run("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_entries",
    "frame=best_effort_timestamp_time",
    "-of",
    "csv=p=0",
    path,
  ]);
  return new TextDecoder().decode(out).split("\n").map((l) =>
    l.replace(/,$/, "").trim()
  )
    .filter((l) => l.length > 0).map(Number);
}

/**
 * ffprobe's view of the first video stream.
 *
 * @param path The video.
 * @returns The stream's fields as ffprobe prints them.
 */
export async function probeStream(
  path: string,
): Promise<Record<string, string>> {
  const out = await run("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=codec_name,width,height,time_base,avg_frame_rate,nb_frames,duration,start_time:format=duration",
    "-of",
    "json",
    path,
  ]);
  const json = JSON.parse(new TextDecoder().decode(out));
  return { ...json.streams[0], format_duration: json.format?.duration };
}

/**
 * Peak signal-to-noise ratio of two 8-bit images, in dB (`Infinity` when equal).
 *
 * @param a One image.
 * @param b The other, same length.
 * @returns PSNR in dB.
 */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) {
    throw new Error(`PSNR of ${a.length} vs ${b.length} bytes`);
  }
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    sum += d * d;
  }
  const mse = sum / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}
