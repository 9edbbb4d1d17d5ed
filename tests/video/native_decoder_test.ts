import assert from "node:assert/strict";
import {
  decodeClip,
  probeVideo,
  probeVideoFile,
} from "../../lib/video/native_decoder.ts";
import { VideoDecodeError } from "../../lib/video/errors.ts";
import type { VideoIndex } from "../../lib/video/types.ts";
import {
  cliFrame,
  probeFrameSeconds,
  probeStream,
  psnr,
  sharedFixtures,
  videoTest,
} from "./_fixtures.ts";

const videos = sharedFixtures;

async function load(
  path: string,
): Promise<{ bytes: Uint8Array; index: VideoIndex }> {
  const bytes = await Deno.readFile(path);
  return { bytes, index: probeVideo(bytes, 9n, path) };
}

/** Decodes frames `ns` (by their ffprobe times) and compares each with the CLI's frame. */
async function assertFramesMatchCli(
  path: string,
  ns: number[],
  h: number,
  w: number,
) {
  const { bytes, index } = await load(path);
  const times = await probeFrameSeconds(path);
  const clip = await decodeClip(bytes, index, ns.map((n) => times[n]), {
    height: h,
    width: w,
  });
  const plane = h * w * 3;
  for (const [i, n] of ns.entries()) {
    const ours = clip.frames.subarray(i * plane, (i + 1) * plane);
    const ref = await cliFrame(path, n, h, w);
    const db = psnr(ours, ref);
    assert.ok(
      db >= 40,
      `${path} frame ${n}: PSNR ${
        db.toFixed(1)
      } dB < 40 against the ffmpeg CLI`,
    );
    // The test can fail: the neighbouring frame is clearly different.
    const neighbour = await cliFrame(path, n + 1, h, w);
    assert.ok(
      psnr(ours, neighbour) < 35,
      `${path} frame ${n} is indistinguishable from frame ${n + 1}`,
    );
    assert.ok(
      Math.abs(clip.frameSeconds[i] - times[n]) < 1e-6,
      `frame ${n}: ${clip.frameSeconds[i]} vs ${times[n]}`,
    );
  }
}

videoTest(
  "probe reads the container index like ffprobe (H.264 MP4, VFR MP4, VP9 WebM)",
  async () => {
    const v = await videos();
    for (const path of [v.h264, v.vfr, v.vp9]) {
      const { index } = await load(path);
      const s = await probeStream(path);
      const frames = (await probeFrameSeconds(path)).length;
      assert.equal(index.codec, s.codec_name, path);
      assert.equal(index.width, Number(s.width), path);
      assert.equal(index.height, Number(s.height), path);
      assert.equal(
        `${index.timeBase[0]}/${index.timeBase[1]}`,
        s.time_base,
        path,
      );
      const [n, d] = s.avg_frame_rate.split("/").map(Number);
      assert.ok(
        Math.abs(index.frameRate - n / d) < 1e-9,
        `${path}: rate ${index.frameRate} vs ${s.avg_frame_rate}`,
      );
      const duration = Number(s.duration ?? s.format_duration);
      assert.ok(
        Math.abs(index.durationSeconds - duration) < 0.05,
        `${path}: ${index.durationSeconds} vs ${duration}`,
      );
      assert.equal(index.frameCount, frames, path);
      assert.ok(index.keyframeSeconds.length >= 1, path);
    }
    // MP4's index has every frame: both keyframes (0 and 60) are in it.
    assert.equal((await load(v.h264)).index.keyframeSeconds.length, 2);
  },
);

videoTest(
  "probe of MP4s read from their header alone (audio stream first, start offset, 24000/1001 fps) and of one that needs the stream-info probe (fragmented) matches ffprobe; the bytes and file probes agree",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "mx8-probe-mp4-" });
    try {
      const src = (rate: string) => [
        "-f",
        "lavfi",
        "-i",
        `testsrc=size=160x96:rate=${rate}`,
      ];
      const cases: [string, string[]][] = [
        ["audio_first.mp4", [
          ...src("25"),
          "-f",
          "lavfi",
          "-i",
          "sine",
          "-t",
          "2",
          "-map",
          "1:a",
          "-map",
          "0:v",
          "-bf",
          "2",
        ]],
        ["offset.mp4", [
          ...src("30"),
          "-frames:v",
          "40",
          "-vf",
          "setpts=PTS+2/TB",
        ]],
        ["ntsc.mp4", [...src("24000/1001"), "-frames:v", "40"]],
        ["fragmented.mp4", [
          ...src("30"),
          "-t",
          "2",
          "-movflags",
          "frag_keyframe+empty_moov",
        ]],
      ];
      for (const [name, args] of cases) {
        const path = `${dir}/${name}`;
        const r = await new Deno.Command("ffmpeg", {
          args: ["-y", "-loglevel", "error", ...args, "-c:v", "libx264", path],
          stderr: "piped",
        }).output();
        assert.ok(r.success, new TextDecoder().decode(r.stderr));
        const index = probeVideo(await Deno.readFile(path), 1n, path);
        assert.deepEqual(probeVideoFile(path, 1n), index, path);
        const s = await probeStream(path);
        assert.equal(index.codec, "h264", path);
        assert.equal(index.width, Number(s.width), path);
        assert.equal(index.height, Number(s.height), path);
        assert.equal(
          `${index.timeBase[0]}/${index.timeBase[1]}`,
          s.time_base,
          path,
        );
        const [n, d] = s.avg_frame_rate.split("/").map(Number);
        assert.ok(
          Math.abs(index.frameRate - n / d) < 1e-9,
          `${path}: rate ${index.frameRate} vs ${s.avg_frame_rate}`,
        );
        assert.ok(
          Math.abs(index.startSeconds - Number(s.start_time)) < 1e-6,
          `${path}: start ${index.startSeconds} vs ${s.start_time}`,
        );
        const duration = Number(s.duration ?? s.format_duration);
        assert.ok(
          Math.abs(index.durationSeconds - duration) < 0.05,
          `${path}: ${index.durationSeconds} vs ${duration}`,
        );
        assert.equal(
          index.frameCount,
          (await probeFrameSeconds(path)).length,
          path,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

videoTest(
  "clip frames after a seek into a GOP with B-frames match the ffmpeg CLI's (PSNR >= 40 dB)",
  async () => {
    const v = await videos();
    await assertFramesMatchCli(v.h264, [45, 46, 47, 48], 224, 224); // keyframe 0, B-frames
    await assertFramesMatchCli(v.h264, [59, 60, 61, 62], 240, 320); // across keyframe 60
  },
);

videoTest(
  "VFR: frames picked by best_effort_timestamp across a rate change match the CLI's",
  async () => {
    const v = await videos();
    await assertFramesMatchCli(v.vfr, [38, 39, 40, 41, 42, 50], 120, 160);
  },
);

videoTest("MKV and MOV containers: clip frames match the CLI's", async () => {
  const v = await videos();
  await assertFramesMatchCli(v.h264Mkv, [45, 46, 47], 120, 160);
  await assertFramesMatchCli(v.h264Mov, [61, 62, 63], 120, 160);
});

videoTest("VP9 WebM clip frames match the CLI's", async () => {
  const v = await videos();
  await assertFramesMatchCli(v.vp9, [50, 51, 52, 53], 224, 224);
});

videoTest(
  "fps resampling: each target gets the frame shown at that time",
  async () => {
    const v = await videos();
    const { bytes, index } = await load(v.h264);
    // 10 fps over a 25 fps video: 0.5, 0.6, 0.7, 0.8 s show frames 12, 15, 17, 20.
    const clip = await decodeClip(bytes, index, [0.5, 0.6, 0.7, 0.8], {
      height: 60,
      width: 80,
    });
    assert.deepEqual(clip.frameSeconds, [0.48, 0.6, 0.68, 0.8]);
    const plane = 60 * 80 * 3;
    for (const [i, n] of [12, 15, 17, 20].entries()) {
      const db = psnr(
        clip.frames.subarray(i * plane, (i + 1) * plane),
        await cliFrame(v.h264, n, 60, 80),
      );
      assert.ok(db >= 40, `target ${i}: frame ${n} PSNR ${db.toFixed(1)}`);
    }
  },
);

videoTest(
  "decoding is repeatable: the same clip after a backward seek is byte-identical",
  async () => {
    const v = await videos();
    const { bytes, index } = await load(v.h264Fast);
    const opts = { height: 96, width: 128 };
    const late = [2.6, 2.64, 2.68];
    const a = await decodeClip(bytes, index, late, opts);
    await decodeClip(bytes, index, [0.2, 0.24], opts);
    const b = await decodeClip(bytes, index, late, opts);
    assert.deepEqual(a.frames, b.frames);
    // Several clips of one video at once (the loader's concurrency) agree too.
    const many = await Promise.all(
      [late, late, late].map((t) => decodeClip(bytes, index, t, opts)),
    );
    for (const c of many) assert.deepEqual(c.frames, a.frames);
  },
);

videoTest(
  "a truncated MP4 whose header still says 100 frames: early clips decode, late ones fail clearly",
  async () => {
    const v = await videos();
    const { bytes, index } = await load(v.truncatedFast);
    assert.equal(index.frameCount, 100); // the header lies
    const ok = await decodeClip(bytes, index, [0, 0.04, 0.08], {
      height: 48,
      width: 64,
      label: "sample 9 (fast_trunc.mp4)",
    });
    assert.equal(ok.frames.length, 3 * 48 * 64 * 3);
    await assert.rejects(
      () =>
        decodeClip(bytes, index, [3.6, 3.64], {
          height: 48,
          width: 64,
          label: "sample 9 (fast_trunc.mp4)",
        }),
      (e: unknown) =>
        e instanceof VideoDecodeError && e.code === "VideoTooShort" &&
        /^sample 9 \(fast_trunc\.mp4\): .*truncated or shorter than its header says/
          .test(e.message),
    );
  },
);

videoTest(
  "a truncated MP4 without its index and garbage bytes fail to open, naming the video",
  async () => {
    const v = await videos();
    const cut = await Deno.readFile(v.truncatedNoIndex);
    assert.throws(
      () => probeVideo(cut, 4n, "sample 4 (h264_trunc.mp4)"),
      (e: unknown) =>
        e instanceof VideoDecodeError && e.code === "OpenFailed" &&
        /^sample 4 \(h264_trunc\.mp4\): cannot open the container \(\d+ bytes; MX8 reads MP4\/MOV and Matroska\/WebM\)/
          .test(e.message),
    );
    const garbage = new Uint8Array(10_000).map((_, i) => (i * 31) & 0xff);
    assert.throws(
      () => probeVideo(garbage, 5n),
      /^VideoDecodeError|sample 5: cannot open the container/,
    );
  },
);

videoTest(
  "a truncated WebM: the error says where the video really ends",
  async () => {
    const v = await videos();
    const { bytes, index } = await load(v.truncatedWebm);
    await assert.rejects(
      () => decodeClip(bytes, index, [2.8, 2.84], { height: 48, width: 64 }),
      /sample 9: the video ends at \d\.\d{3} s but clip frame 1 of 2 is at 2\.800 s/,
    );
  },
);

videoTest(
  "the per-clip packet limit stops a clip that needs more decoding",
  async () => {
    const v = await videos();
    const { bytes, index } = await load(v.h264);
    // Frame 50 needs every packet from keyframe 0.
    await assert.rejects(
      () =>
        decodeClip(bytes, index, [2.0], {
          height: 48,
          width: 64,
          maxPackets: 5,
        }),
      (e: unknown) =>
        e instanceof VideoDecodeError && e.code === "LimitExceeded" &&
        /limit of 5 decoded packets/.test(e.message),
    );
    const ok = await decodeClip(bytes, index, [2.0], {
      height: 48,
      width: 64,
      maxPackets: 200,
    });
    assert.deepEqual(ok.frameSeconds, [2]);
  },
);

videoTest(
  "a too-small output buffer is refused before any decode",
  async () => {
    const v = await videos();
    const { bytes, index } = await load(v.h264);
    await assert.rejects(
      () =>
        decodeClip(bytes, index, [0, 0.04], {
          height: 48,
          width: 64,
          out: new Uint8Array(100),
        }),
      /Clip buffer holds 100 bytes, 2 frames of 48x64 RGB need 18432/,
    );
  },
);

videoTest(
  "the per-clip time limit stops a clip (even while opening) with LimitExceeded",
  async () => {
    const v = await videos();
    const { bytes, index } = await load(v.h264);
    await assert.rejects(
      () =>
        decodeClip(bytes, index, [2.0], {
          height: 48,
          width: 64,
          maxSeconds: 1e-9,
        }),
      (e: unknown) =>
        e instanceof VideoDecodeError && e.code === "LimitExceeded" &&
        /time limit/.test(e.message),
    );
  },
);
