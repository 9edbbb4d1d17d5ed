/**
 * The resize to RGB24 (`ffi/video/shim/mx8_rgb.c`): 8-bit planar YUV goes
 * through swscale to planar YUV at the output size and our own YUV → RGB24
 * conversion; every other input through swscale's one-step RGB24 context.
 * Both must give the ffmpeg CLI's frames (PSNR ≥ 40 dB, as every video
 * test), and the planar path the one-step context's frames to ≥ 45 dB
 * (`MX8_VIDEO_SCALE=swscale` forces the one-step context).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeClip, probeVideo } from "../../lib/video/native_decoder.ts";
import {
  cliFrame,
  probeFrameSeconds,
  psnr,
  sharedFixtures,
  videoTest,
} from "./_fixtures.ts";

/** A 20-frame test pattern encoded with `codec` as `pixFmt`, `size` W×H. */
async function encode(
  dir: string,
  codec: string,
  pixFmt: string,
  size: string,
  ext: string,
): Promise<string> {
  const path = join(dir, `${codec}_${pixFmt}_${size}.${ext}`);
  const vp9 = codec === "libvpx-vp9"
    ? ["-deadline", "realtime", "-cpu-used", "8", "-g", "10"]
    : [];
  const out = await new Deno.Command("ffmpeg", {
    args: [
      ...["-v", "error", "-y", "-f", "lavfi"],
      ...["-i", `testsrc2=size=${size}:rate=25`, "-frames:v", "20"],
      ...["-c:v", codec, ...vp9, "-pix_fmt", pixFmt, path],
    ],
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return path;
}

/** Frames `ns` of `path` at h×w: ours, the one-step context's and the CLI's. */
async function frames(path: string, ns: number[], h: number, w: number) {
  const bytes = await Deno.readFile(path);
  const index = probeVideo(bytes, 1n, path);
  const all = await probeFrameSeconds(path);
  const times = ns.map((n) => all[n]);
  const ours = await decodeClip(bytes, index, times, { height: h, width: w });
  Deno.env.set("MX8_VIDEO_SCALE", "swscale");
  let direct;
  try {
    direct = await decodeClip(bytes, index, times, { height: h, width: w });
  } finally {
    Deno.env.delete("MX8_VIDEO_SCALE");
  }
  const plane = h * w * 3;
  return await Promise.all(ns.map(async (n, i) => ({
    n,
    ours: ours.frames.subarray(i * plane, (i + 1) * plane),
    direct: direct.frames.subarray(i * plane, (i + 1) * plane),
    cli: await cliFrame(path, n, h, w),
  })));
}

/** Output sizes [h, w]: square, odd width (full chroma), odd height, upscale. */
const SIZES: [number, number][] = [[224, 224], [75, 111], [121, 160], [
  300,
  400,
]];

/** Asserts the planar path's frames: ≥ 40 dB vs the CLI, ≥ 45 dB vs the one-step context. */
async function assertPlanar(path: string, ns: number[]): Promise<void> {
  let min = Infinity;
  for (const [h, w] of SIZES) {
    for (const f of await frames(path, ns, h, w)) {
      const cli = psnr(f.ours, f.cli), direct = psnr(f.ours, f.direct);
      const at = `${path} frame ${f.n} at ${h}x${w}`;
      assert.ok(cli >= 40, `${at}: PSNR ${cli.toFixed(1)} dB vs the CLI`);
      assert.ok(
        direct >= 45,
        `${at}: PSNR ${direct.toFixed(1)} dB vs swscale's RGB24 context`,
      );
      min = Math.min(min, direct);
    }
  }
  // The planar path did run: its rounding differs from the one-step
  // context's somewhere (were both one code, every frame would be equal).
  assert.ok(Number.isFinite(min), `${path}: every frame equals swscale's`);
  console.log(
    `${path}: min PSNR vs swscale's RGB24 context ${min.toFixed(1)} dB`,
  );
}

videoTest(
  "the planar resize gives the CLI's frames and swscale's RGB24 frames (H.264, VP9; even, odd, upscaled sizes)",
  async () => {
    const v = await sharedFixtures();
    await assertPlanar(v.h264, [45, 61]);
    await assertPlanar(v.vp9, [50]);
  },
);

videoTest(
  "the planar resize handles 4:2:2, 4:4:4, full-range (yuvj) and odd-sized inputs",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "mx8-scale-" });
    try {
      const inputs = [
        await encode(dir, "libx264", "yuv422p", "322x242", "mp4"),
        await encode(dir, "libx264", "yuv444p", "322x242", "mp4"),
        await encode(dir, "mjpeg", "yuvj420p", "322x242", "mkv"),
        await encode(dir, "mjpeg", "yuvj422p", "322x242", "mkv"),
        await encode(dir, "ffv1", "yuv420p", "321x241", "mkv"),
      ];
      for (const path of inputs) await assertPlanar(path, [3, 11]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

videoTest(
  "other inputs (10-bit, gray) fall back to swscale's RGB24 context: byte-identical, and the CLI's frames",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "mx8-scale-" });
    try {
      const inputs = [
        await encode(dir, "libx264", "yuv420p10le", "322x242", "mp4"),
        await encode(dir, "ffv1", "gray", "322x242", "mkv"),
      ];
      for (const path of inputs) {
        for (const [h, w] of SIZES) {
          for (const f of await frames(path, [3, 11], h, w)) {
            const at = `${path} frame ${f.n} at ${h}x${w}`;
            assert.deepEqual(
              f.ours,
              f.direct,
              `${at}: not the RGB24 context's`,
            );
            const db = psnr(f.ours, f.cli);
            assert.ok(db >= 40, `${at}: PSNR ${db.toFixed(1)} dB vs the CLI`);
          }
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

videoTest(
  "a stream whose frame size changes mid-way (VP9 320x240, then 480x270): the CLI's frames, with the resize thread and without",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "mx8-scale-" });
    try {
      const parts = [
        await encode(dir, "libvpx-vp9", "yuv420p", "320x240", "webm"),
        await encode(dir, "libvpx-vp9", "yuv420p", "480x270", "webm"),
      ];
      const list = join(dir, "list.txt");
      await Deno.writeTextFile(list, parts.map((p) => `file ${p}\n`).join(""));
      const path = join(dir, "both.webm");
      const out = await new Deno.Command("ffmpeg", {
        args: [
          ...["-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", list],
          ...["-c", "copy", path],
        ],
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const bytes = await Deno.readFile(path);
      const index = probeVideo(bytes, 1n, path);
      const all = await probeFrameSeconds(path);
      const ns = [5, 19, 20, 33];
      const [h, w] = [96, 128], plane = h * w * 3;
      for (const threads of [1, 3]) {
        const clip = await decodeClip(bytes, index, ns.map((n) => all[n]), {
          height: h,
          width: w,
          threads,
        });
        for (const [i, n] of ns.entries()) {
          const db = psnr(
            clip.frames.subarray(i * plane, (i + 1) * plane),
            // The same frame from its part (the CLI rebuilds its filter
            // graph at the size change, so `select`'s n restarts there).
            await cliFrame(parts[n < 20 ? 0 : 1], n % 20, h, w),
          );
          assert.ok(db >= 40, `frame ${n}, ${threads} threads: PSNR ${db}`);
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
