import assert from "node:assert/strict";
import {
  isVideoHint,
  parseVideoIndexHint,
  unindexedVideoHint,
  videoIndexHint,
} from "../../lib/video/index_hint.ts";
import { probeVideo } from "../../lib/video/native_decoder.ts";
import { labelIdOfHint } from "../../lib/manifest/row.ts";
import type { VideoIndex } from "../../lib/video/types.ts";
import { sharedFixtures, videoTest } from "./_fixtures.ts";

videoTest(
  "a real video's index survives its decode hint exactly (H.264, VFR, VP9, MKV)",
  async () => {
    const fx = await sharedFixtures();
    for (const path of [fx.h264, fx.vfr, fx.vp9, fx.h264Mkv]) {
      const index = probeVideo(await Deno.readFile(path), 5n);
      const hint = videoIndexHint(index, 2);
      assert.ok(!/[\t\n\r]/.test(hint), "a hint is one manifest field");
      assert.deepEqual(parseVideoIndexHint(hint, 5n), index, path);
      assert.equal(labelIdOfHint(hint), 2);
      assert.equal(isVideoHint(hint), true);
    }
  },
);

Deno.test("keyframes at a fixed GOP are run-length encoded", () => {
  const index: VideoIndex = {
    sampleId: 0n,
    timeBase: [1, 90000],
    startSeconds: 0,
    durationSeconds: 3600,
    frameRate: 30000 / 1001,
    frameCount: 107892,
    width: 1920,
    height: 1080,
    codec: "hevc",
    keyframeSeconds: Array.from({ length: 1800 }, (_, i) => i * 2),
  };
  const hint = videoIndexHint(index);
  assert.ok(hint.endsWith(";keys=0,180000*1799"), hint);
  assert.deepEqual(parseVideoIndexHint(hint, 0n), index);
  assert.equal(labelIdOfHint(hint), undefined);
});

Deno.test("hints that are not a video index parse as none (the loader probes)", () => {
  for (
    const h of [
      undefined,
      "",
      "mx8:vision:imagefolder;label_id=3",
      unindexedVideoHint(),
      unindexedVideoHint(4),
      "mx8:video;tb=0/1;start=0;dur=1;fr=25;n=1;wh=2x2;codec=h264;keys=",
      "mx8:video;tb=1/25;start=0;dur=1;fr=25;n=1;wh=2x2;codec=h264;keys=1*x",
      "mx8:video;tb=1/25;start=0;dur=1;fr=25;n=1;wh=2x2;codec=h264",
    ]
  ) {
    assert.equal(parseVideoIndexHint(h, 0n), undefined, String(h));
  }
  assert.equal(isVideoHint(unindexedVideoHint(4)), true);
  assert.equal(labelIdOfHint(unindexedVideoHint(4)), 4);
  assert.equal(isVideoHint("mx8:videox"), false);
});
