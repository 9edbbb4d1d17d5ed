/**
 * Video clip benchmark (issue 18): on the same files (720p H.264 with 2
 * B-frames, GOP 60 and GOP 250), every 16-frame clip at stride 8 resized to
 * 224×224 RGB24, read by
 *
 * - MX8 `video()` (native `libmx8_video`, defaults: batches of 8 clips, one
 *   decode pass per video and batch, a video's batches on one decoder kept
 *   open, which gets every decode thread when its video is read alone), in
 *   its own process so its RSS is measured; its clock starts after loading
 *   the library (and FFmpeg's), as PyAV's starts after `import av`;
 * - a PyAV loop as issue 18 specifies it (per clip: seek to the keyframe
 *   before, decode, to_ndarray + resize; `thread_type="AUTO"`; 2 worker
 *   processes splitting the clips);
 * - the ffmpeg CLI, one process per clip (2 at a time; every `--cli-every`th
 *   clip);
 * - the decode ceiling: `ffmpeg -threads 2 -i F -f null -` (frames/s).
 *
 * Prints a markdown table: clips/s and the ratios to the goals (MX8 ≥ 3×
 * PyAV, ≥ 10× the CLI; frames decoded/s ≥ 0.8× the ceiling; peak RSS −
 * RSS(open) ≤ 1.1 × maxInflightBytes + 16 MiB), and the load average (the
 * figures are only comparable on a quiet machine).
 *
 * Needs `libmx8_video` (`deno task build:video`) and the ffmpeg CLI; PyAV
 * (`apt-get install -y python3-av`) is optional.
 *
 * ```sh
 * deno run -A scripts/bench/video.ts [--frames 500] [--cli-every 4] [--max-inflight-mib 128] [--rounds 3]
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { loadavg, tmpdir } from "node:os";
import { parseArgs } from "node:util";
import { photoJpeg } from "../../lib/demo/photos.ts";
import { loadVideoLibrary } from "../../lib/native/video_library.ts";
import { probeVideo } from "../../lib/video/native_decoder.ts";
import { mapLimit } from "../../lib/util/map_limit.ts";
import { onPath } from "./_prereq.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    frames: { type: "string", default: "500" },
    "cli-every": { type: "string", default: "4" },
    "max-inflight-mib": { type: "string", default: "128" },
    rounds: { type: "string", default: "3" },
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

const T = 16, STRIDE = 8, H = 224, W = 224, BATCH = 8;
const FRAMES = Number(values.frames);
const CLI_EVERY = Number(values["cli-every"]);
const CAP = Number(values["max-inflight-mib"]) * 2 ** 20;
const ROUNDS = Math.max(1, Number(values.rounds));
const loadAtStart = loadavg().map((x) => x.toFixed(2)).join(" ");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? s[s.length >> 1]
    : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const text = new TextDecoder();

/** Encodes (once, cached in $TMPDIR) a 720p pan over a photo with GOP `gop`. */
async function makeVideo(gop: number): Promise<string> {
  const dir = join(tmpdir(), `mx8-bench-video-v2`, `gop${gop}`);
  const file = join(dir, `720p_gop${gop}.mp4`);
  if (await Deno.stat(file).then(() => true, () => false)) return file;
  await Deno.mkdir(dir, { recursive: true });
  const photo = join(tmpdir(), `mx8-bench-video-v2`, "photo.jpg");
  await Deno.writeFile(
    photo,
    await photoJpeg(7, { width: 1920, height: 1080, quality: 95 }),
  );
  const out = await new Deno.Command("ffmpeg", {
    args: [
      ...["-v", "error", "-y", "-loop", "1", "-framerate", "25", "-i", photo],
      ...["-vf", "crop=1280:720:'n*1.2':'n*0.6',format=yuv420p"],
      ...["-frames:v", String(FRAMES), "-c:v", "libx264", "-bf", "2"],
      ...["-g", String(gop), "-keyint_min", String(gop), "-sc_threshold", "0"],
      ...["-preset", "fast", "-crf", "20", `${file}.tmp.mp4`],
    ],
  }).output();
  if (!out.success) throw new Error(text.decode(out.stderr));
  await Deno.rename(`${file}.tmp.mp4`, file);
  return file;
}

interface Mx8Run {
  ms: number;
  /** Loading libmx8_video and FFmpeg, before `ms` starts (as PyAV's import). */
  libLoadMs: number;
  clips: number;
  framesDecoded: number;
  framesKept: number;
  decodePasses: number;
  rssOpen: number;
  peakRss: number;
  highWater: number;
}

async function mx8(dir: string): Promise<Mx8Run> {
  const script = new URL("./_video_mx8.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "-A", script, dir, String(T), String(STRIDE)],
      ...[String(H), String(W), String(BATCH), String(CAP)],
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(text.decode(out.stderr));
  return JSON.parse(text.decode(out.stdout));
}

/** PyAV runs killed after this long (its threaded decoder can deadlock). */
const PYAV_TIMEOUT_MS = 180_000;
let pyavHangs = 0;

/**
 * PyAV with 2 worker processes: the slower worker's time (startup
 * excluded), or `undefined` when a worker hung (killed after
 * `PYAV_TIMEOUT_MS`; seen here: every thread of a worker waiting on a futex
 * after a seek with `thread_type="AUTO"`).
 */
async function pyav(
  file: string,
  starts: number[],
): Promise<number | undefined> {
  const script = new URL("./_video_pyav.py", import.meta.url).pathname;
  const runs = await Promise.all([0, 1].map(async (k) => {
    const child = new Deno.Command(python, {
      args: [
        ...[script, file, String(T), String(H), String(W)],
        ...[starts.join(","), String(k), "2"],
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill("SIGKILL");
    }, PYAV_TIMEOUT_MS);
    const out = await child.output();
    clearTimeout(timer);
    if (hung) return undefined;
    if (!out.success) throw new Error(text.decode(out.stderr));
    return JSON.parse(text.decode(out.stdout)) as { ms: number };
  }));
  if (runs.some((r) => r === undefined)) {
    pyavHangs++;
    return undefined;
  }
  return Math.max(...runs.map((r) => r!.ms));
}

/** One ffmpeg process per clip, 2 at a time. */
async function cli(file: string, seconds: number[]): Promise<number> {
  const t0 = performance.now();
  await mapLimit(seconds, 2, async (s) => {
    const out = await new Deno.Command("ffmpeg", {
      args: [
        ...["-v", "error", "-ss", s.toFixed(6), "-i", file],
        ...["-frames:v", String(T), "-vf", `scale=${W}:${H}:flags=bilinear`],
        ...["-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(text.decode(out.stderr));
    if (out.stdout.length !== T * H * W * 3) {
      throw new Error(`ffmpeg gave ${out.stdout.length} bytes at ${s} s`);
    }
  });
  return performance.now() - t0;
}

/** Frames/s of `ffmpeg -threads 2 -i F -f null -` (decode only). */
async function ceiling(file: string, frames: number): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command("ffmpeg", {
    args: ["-v", "error", "-threads", "2", "-i", file, "-f", "null", "-"],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(text.decode(out.stderr));
  return frames / ((performance.now() - t0) / 1000);
}

const mib = (b: number) => (b / 2 ** 20).toFixed(1);
const rows: string[] = [];
const goals: string[] = [];
const libLoads: number[] = [];
for (const gop of [60, 250]) {
  const file = await makeVideo(gop);
  const bytes = await Deno.readFile(file);
  const index = probeVideo(bytes, 0n, file);
  const starts: number[] = [];
  for (let s = 0; s + T <= index.frameCount; s += STRIDE) starts.push(s);
  const startSeconds = starts.map((s) =>
    index.startSeconds + s / index.frameRate
  );
  const cliStarts = startSeconds.filter((_, i) => i % CLI_EVERY === 0);
  // Rounds interleave the readers so a burst of load hits them alike; each
  // figure is the median of its rounds (RSS: the worst round).
  const runs: Mx8Run[] = [];
  const py: number[] = [], cl: number[] = [], ce: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const m = await mx8(join(file, ".."));
    if (m.clips !== starts.length) {
      throw new Error(
        `MX8 delivered ${m.clips} clips, expected ${starts.length}`,
      );
    }
    runs.push(m);
    libLoads.push(m.libLoadMs);
    const pyMs = hasPyav ? await pyav(file, starts) : undefined;
    if (pyMs !== undefined) py.push(starts.length / (pyMs / 1000));
    cl.push(cliStarts.length / ((await cli(file, cliStarts)) / 1000));
    ce.push(await ceiling(file, index.frameCount));
  }
  const mx8Rate = median(runs.map((m) => m.clips / (m.ms / 1000)));
  const decodedRate = median(runs.map((m) => m.framesDecoded / (m.ms / 1000)));
  const m = {
    ...runs[0],
    peakRss: Math.max(...runs.map((r) => r.peakRss - r.rssOpen)),
    rssOpen: 0,
  };
  const pyRate = py.length > 0 ? median(py) : undefined;
  const cliRate = median(cl);
  const ceil = median(ce);
  const label = `GOP ${gop}`;
  rows.push(
    `| ${label} | MX8 video() | ${mx8Rate.toFixed(1)} | 1.00× |`,
    pyRate === undefined
      ? `| ${label} | PyAV (not installed, or every run hung) | – | – |`
      : `| ${label} | PyAV, 2 processes, AUTO threads | ${
        pyRate.toFixed(1)
      } | ${(mx8Rate / pyRate).toFixed(2)}× |`,
    `| ${label} | ffmpeg CLI per clip, 2 at a time | ${cliRate.toFixed(1)} | ${
      (mx8Rate / cliRate).toFixed(2)
    }× |`,
  );
  const growth = m.peakRss - m.rssOpen;
  const bound = 1.1 * CAP + 16 * 2 ** 20;
  goals.push(
    `| ${label} | ${starts.length} | ${m.framesDecoded} / ${m.framesKept} | ${m.decodePasses} | ${
      decodedRate.toFixed(0)
    } | ${ceil.toFixed(0)} | ${(decodedRate / ceil).toFixed(2)}× | ${
      mib(growth)
    } MiB ≤ ${mib(bound)} MiB: ${growth <= bound ? "yes" : "NO"} | ${
      mib(m.highWater)
    } MiB |`,
  );
}

console.log(
  `\n${FRAMES}-frame 720p H.264 videos (2 B-frames), clips of ${T} frames at stride ${STRIDE} → ${H}x${W} RGB24, batches of ${BATCH}, maxInflightBytes ${
    mib(CAP)
  } MiB; medians of ${ROUNDS} interleaved rounds (RSS: the worst)`,
);
console.log(
  `load average ${loadAtStart} at the start, ${
    loadavg().map((x) => x.toFixed(2)).join(" ")
  } at the end, on ${navigator.hardwareConcurrency} cores\n`,
);
console.log("| file | reader | clips / s | MX8 is |");
console.log("| --- | --- | ---: | ---: |");
for (const r of rows) console.log(r);
console.log(
  "\n| file | clips | MX8 frames decoded / kept | passes | MX8 decoded frames / s | ceiling (ffmpeg -threads 2, null) frames / s | MX8 / ceiling | peak RSS − RSS(open) | budget high water |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |");
for (const g of goals) console.log(g);
console.log(
  `\nMX8's clock starts after loading libmx8_video and FFmpeg (median ${
    median(libLoads).toFixed(0)
  } ms), as PyAV's starts after \`import av\`; the ceiling and the CLI include their process start.`,
);
if (pyavHangs > 0) {
  console.log(
    `\n(${pyavHangs} PyAV run(s) hung and were killed after ${
      PYAV_TIMEOUT_MS / 1000
    } s; their rounds have no PyAV figure)`,
  );
}
if (!hasPyav) {
  console.log(
    `\n(PyAV not found for ${python}: apt-get install -y python3-av to compare)`,
  );
}
