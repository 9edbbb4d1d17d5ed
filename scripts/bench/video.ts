/**
 * Video clip benchmark: 16-frame clips of a 720p H.264 video (B-frames,
 * GOP 60) resized to 224×224 RGB, decoded by MX8 (`libmx8_video`, 1 and 2
 * clips at once), by PyAV (same algorithm: seek to the keyframe before,
 * frame shown at each target time; one clip at a time) and by the ffmpeg
 * CLI (one process per clip). Prints a markdown table with ratios and the
 * load average (the numbers are only comparable on a quiet machine).
 *
 * Needs `libmx8_video` (`deno task build:video`) and the ffmpeg CLI; PyAV
 * (`apt-get install -y python3-av`) is optional.
 *
 * ```sh
 * deno run -A scripts/bench/video.ts [--clips 24] [--cli-clips 6]
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { tmpdir } from "node:os";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { photoJpeg } from "../../lib/demo/photos.ts";
import { loadVideoLibrary } from "../../lib/native/video_library.ts";
import { decodeClip, probeVideo } from "../../lib/video/native_decoder.ts";
import { mapLimit } from "../../lib/util/map_limit.ts";
import { onPath } from "./_prereq.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    clips: { type: "string", default: "24" },
    "cli-clips": { type: "string", default: "6" },
  },
});
const lib = loadVideoLibrary();
if (!lib.ok) {
  console.error(`bench:video: ${lib.reason}`);
  Deno.exit(1);
}
if (!onPath("ffmpeg")) {
  console.error(
    `bench:video: missing ffmpeg: install with "apt-get install -y ffmpeg"; then rerun it`,
  );
  Deno.exit(1);
}
const python = Deno.env.get("MX8_PYTHON") ?? "/usr/bin/python3";
const hasPyav = await new Deno.Command(python, {
  args: ["-c", "import av"],
  stdout: "null",
  stderr: "null",
}).output().then((o) => o.success, () => false);

const T = 16, H = 224, W = 224;
const nClips = Number(values.clips);
const nCli = Number(values["cli-clips"]);

const dir = join(tmpdir(), "mx8-bench-video-v1");
await Deno.mkdir(dir, { recursive: true });
const file = join(dir, "720p.mp4");
if (!(await Deno.stat(file).then(() => true, () => false))) {
  const photo = join(dir, "photo.jpg");
  await Deno.writeFile(
    photo,
    await photoJpeg(7, { width: 1920, height: 1080, quality: 95 }),
  );
  const out = await new Deno.Command("ffmpeg", {
    args: [
      "-v",
      "error",
      "-y",
      "-loop",
      "1",
      "-framerate",
      "25",
      "-i",
      photo,
      "-vf",
      "crop=1280:720:'n*2':'n',format=yuv420p",
      "-frames:v",
      "250",
      "-c:v",
      "libx264",
      "-bf",
      "2",
      "-g",
      "60",
      "-sc_threshold",
      "0",
      "-preset",
      "fast",
      "-crf",
      "20",
      `${file}.tmp.mp4`,
    ],
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  await Deno.rename(`${file}.tmp.mp4`, file);
}
const bytes = await Deno.readFile(file);
const index = probeVideo(bytes, 0n, file);
// Clip starts spread over the video (deterministic), each needing a seek.
const maxStart = index.frameCount - T;
const starts = Array.from(
  { length: nClips },
  (_, i) => Math.floor((i * 97) % maxStart),
);
const seconds = (s: number) =>
  Array.from({ length: T }, (_, i) => (s + i) / index.frameRate);

async function mx8(concurrency: number): Promise<number> {
  const t0 = performance.now();
  await mapLimit(
    starts,
    concurrency,
    (s) => decodeClip(bytes, index, seconds(s), { height: H, width: W }),
  );
  return performance.now() - t0;
}

async function pyav(): Promise<number | undefined> {
  if (!hasPyav) return undefined;
  const script = new URL("./_video_pyav.py", import.meta.url).pathname;
  const out = await new Deno.Command(python, {
    args: [script, file, String(T), String(H), String(W), starts.join(",")],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)).ms;
}

async function cli(): Promise<number> {
  const t0 = performance.now();
  for (const s of starts.slice(0, nCli)) {
    const out = await new Deno.Command("ffmpeg", {
      args: [
        "-v",
        "error",
        "-threads",
        "1",
        "-ss",
        String(s / index.frameRate),
        "-i",
        file,
        "-frames:v",
        String(T),
        "-vf",
        `scale=${W}:${H}`,
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  }
  return performance.now() - t0;
}

await mx8(1); // warm up
const rows: { name: string; msPerClip: number }[] = [];
rows.push({
  name: "MX8 libmx8_video, 1 clip at a time",
  msPerClip: (await mx8(1)) / nClips,
});
rows.push({
  name: "MX8 libmx8_video, 2 clips at a time",
  msPerClip: (await mx8(2)) / nClips,
});
const py = await pyav();
if (py !== undefined) {
  rows.push({
    name: "PyAV 1 clip at a time (same algorithm)",
    msPerClip: py / nClips,
  });
}
rows.push({
  name: "ffmpeg CLI, one process per clip",
  msPerClip: (await cli()) / nCli,
});

const base = rows[0].msPerClip;
console.log(
  `\n${nClips} clips × ${T} frames of ${index.width}x${index.height} H.264 (B-frames, GOP 60) → ${H}x${W} RGB24`,
);
console.log(
  `load average ${
    loadavg().map((x) => x.toFixed(2)).join(" ")
  } on ${navigator.hardwareConcurrency} cores\n`,
);
console.log("| decoder | ms / clip | clips / s | vs MX8 (1 at a time) |");
console.log("| --- | ---: | ---: | ---: |");
for (const r of rows) {
  console.log(
    `| ${r.name} | ${r.msPerClip.toFixed(1)} | ${
      (1000 / r.msPerClip).toFixed(1)
    } | ${(base / r.msPerClip).toFixed(2)}× |`,
  );
}
if (!hasPyav) {
  console.log(
    `\n(PyAV not found for ${python}: apt-get install -y python3-av to compare)`,
  );
}
