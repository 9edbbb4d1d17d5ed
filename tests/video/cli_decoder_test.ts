import assert from "node:assert/strict";
import { decodeClipCli, probeVideoCli } from "../../lib/video/cli_decoder.ts";
import { VideoDecodeError } from "../../lib/video/errors.ts";
import { decodeClip, probeVideo } from "../../lib/video/native_decoder.ts";
import {
  probeFrameSeconds,
  psnr,
  sharedFixtures,
  videoTest,
} from "./_fixtures.ts";

const videos = sharedFixtures;

videoTest(
  "CLI backend: the index matches the native one (but for keyframes)",
  async () => {
    const v = await videos();
    for (const path of [v.h264, v.vfr, v.vp9]) {
      const native = probeVideo(await Deno.readFile(path), 1n);
      const cli = await probeVideoCli(path, 1n);
      assert.deepEqual({ ...cli, keyframeSeconds: [] }, {
        ...native,
        keyframeSeconds: [],
      }, path);
    }
  },
);

videoTest(
  "CLI backend: the same frames as the native decoder (B-frames, VFR, VP9, fps resampling)",
  async () => {
    const v = await videos();
    const cases: [string, number[]][] = [
      [v.h264, (await probeFrameSeconds(v.h264)).slice(45, 49)],
      [v.vfr, (await probeFrameSeconds(v.vfr)).slice(38, 43)],
      [v.vp9, (await probeFrameSeconds(v.vp9)).slice(50, 54)],
      [v.h264, [0.5, 0.6, 0.7, 0.8]], // between frames: the frame shown then
    ];
    for (const [path, times] of cases) {
      const bytes = await Deno.readFile(path);
      const index = probeVideo(bytes, 1n);
      const opts = { height: 60, width: 80 };
      const a = await decodeClip(bytes, index, times, opts);
      const b = await decodeClipCli(path, index, times, opts);
      assert.deepEqual(
        b.frameSeconds.map((t) => t.toFixed(4)),
        a.frameSeconds.map((t) => t.toFixed(4)),
        path,
      );
      const plane = 60 * 80 * 3;
      for (let i = 0; i < times.length; i++) {
        const db = psnr(
          a.frames.subarray(i * plane, (i + 1) * plane),
          b.frames.subarray(i * plane, (i + 1) * plane),
        );
        assert.ok(db >= 40, `${path} @ ${times[i]}: PSNR ${db.toFixed(1)}`);
      }
    }
  },
);

videoTest(
  "CLI backend: a truncated file fails the late clip clearly, a file without its index fails to probe",
  async () => {
    const v = await videos();
    const index = probeVideo(await Deno.readFile(v.truncatedWebm), 2n);
    await assert.rejects(
      () =>
        decodeClipCli(v.truncatedWebm, index, [2.8, 2.84], {
          height: 16,
          width: 16,
        }),
      (e: unknown) =>
        e instanceof VideoDecodeError && e.code === "VideoTooShort" &&
        /^sample 2: .*clip frame 1 of 2 is at 2\.800 s.*truncated or shorter than its header says/
          .test(e.message),
    );
    await assert.rejects(
      () => probeVideoCli(v.truncatedNoIndex, 3n),
      /sample 3: ffprobe failed/,
    );
  },
);
