import assert from "node:assert/strict";
import {
  decodeClip,
  decodeClips,
  probeVideo,
} from "../../lib/video/native_decoder.ts";
import { VideoDecodeError } from "../../lib/video/errors.ts";
import type { VideoIndex } from "../../lib/video/types.ts";
import { probeFrameSeconds, sharedFixtures, videoTest } from "./_fixtures.ts";

const videos = sharedFixtures;
const H = 48, W = 64, PLANE = H * W * 3;

async function load(
  path: string,
): Promise<{ bytes: Uint8Array; index: VideoIndex }> {
  const bytes = await Deno.readFile(path);
  return { bytes, index: probeVideo(bytes, 9n, path) };
}

/** Target times of `t` frames from source frame `s` at the index's rate. */
function frames(index: VideoIndex, s: number, t: number): number[] {
  return Array.from(
    { length: t },
    (_, i) => index.startSeconds + (s + i) / index.frameRate,
  );
}

/** Asserts every clip of a pass is byte-identical to that clip decoded alone. */
async function assertSameAsAlone(
  bytes: Uint8Array,
  index: VideoIndex,
  clips: number[][],
  slots: number[],
  out: Uint8Array,
) {
  const t = clips[0].length;
  for (const [k, times] of clips.entries()) {
    const alone = await decodeClip(bytes, index, times, {
      height: H,
      width: W,
    });
    const got = out.subarray(slots[k] * t * PLANE, (slots[k] + 1) * t * PLANE);
    assert.ok(
      got.every((x, i) => x === alone.frames[i]),
      `clip ${k} (slot ${slots[k]}, from ${
        times[0]
      } s) differs from the clip decoded alone`,
    );
  }
}

videoTest(
  "one pass over overlapping clips (16 frames, stride 8, B-frames) equals each clip alone and decodes and scales each frame once",
  async () => {
    const v = await videos();
    const { bytes, index } = await load(v.h264);
    // Frames 0..95 wanted by 11 clips, given out of order into shuffled slots.
    const starts = [40, 0, 80, 8, 72, 16, 64, 24, 56, 32, 48];
    const clips = starts.map((s) => frames(index, s, 16));
    const slots = [3, 10, 0, 7, 1, 9, 2, 8, 4, 6, 5];
    const out = new Uint8Array(11 * 16 * PLANE);
    const r = await decodeClips(bytes, index, clips, {
      height: H,
      width: W,
      out,
      slots,
    });
    assert.deepEqual(r.errors, new Array(11).fill(undefined));
    // 96 distinct frames: each scaled once, the 80 shared ones copied.
    assert.equal(r.stats.framesScaled, 96);
    assert.equal(r.stats.framesCopied, 11 * 16 - 96);
    // Each frame decoded at most once (plus the decoder's few frames past
    // the last one wanted), never the ~2× of clip-by-clip decoding.
    assert.ok(
      r.stats.framesDecoded >= 96 && r.stats.framesDecoded <= 100,
      `decoded ${r.stats.framesDecoded} frames for 96 wanted`,
    );
    let alone = 0;
    for (const times of clips) {
      const one = await decodeClips(bytes, index, [times], {
        height: H,
        width: W,
        out: new Uint8Array(16 * PLANE),
      });
      alone += one.stats.framesDecoded;
    }
    assert.ok(alone > 1.8 * r.stats.framesDecoded, `alone ${alone}`);
    for (const [k, times] of clips.entries()) {
      assert.deepEqual(
        r.frameSeconds[k].map((s) => s.toFixed(3)),
        times.map((s) => s.toFixed(3)),
      );
    }
    await assertSameAsAlone(bytes, index, clips, slots, out);
  },
);

videoTest(
  "a pass seeks past a GOP nobody wants: late clips decode only from their keyframe",
  async () => {
    const v = await videos();
    const { bytes, index } = await load(v.h264Fast);
    // Keyframes at 0 and 60: clips from 64 and 72 need nothing before 60.
    const clips = [64, 72].map((s) => frames(index, s, 16));
    const out = new Uint8Array(2 * 16 * PLANE);
    const r = await decodeClips(bytes, index, clips, {
      height: H,
      width: W,
      out,
    });
    assert.deepEqual(r.errors, [undefined, undefined]);
    assert.ok(r.stats.seeks >= 1, `seeks ${r.stats.seeks}`);
    assert.ok(
      r.stats.framesDecoded <= 40,
      `decoded ${r.stats.framesDecoded} frames: the pass did not skip the first GOP`,
    );
    await assertSameAsAlone(bytes, index, clips, [0, 1], out);
    // Two far-apart clips in one pass: the second seeks forward instead of
    // decoding the gap.
    const far = [frames(index, 2, 4), frames(index, 90, 4)];
    const r2Out = new Uint8Array(2 * 4 * PLANE);
    const r2 = await decodeClips(bytes, index, far, {
      height: H,
      width: W,
      out: r2Out,
    });
    assert.deepEqual(r2.errors, [undefined, undefined]);
    // Frames 2..5, then from the keyframe at 60 to 93: not 0..93.
    assert.ok(r2.stats.framesDecoded < 60, `${r2.stats.framesDecoded}`);
    await assertSameAsAlone(bytes, index, far, [0, 1], r2Out);
  },
);

videoTest(
  "VP9 WebM and variable frame rate: a pass equals each clip alone",
  async () => {
    const v = await videos();
    for (const path of [v.vp9, v.vfr]) {
      const { bytes, index } = await load(path);
      const clips = [0, 6, 12, 30, 36].map((s) => frames(index, s, 10));
      const out = new Uint8Array(5 * 10 * PLANE);
      const r = await decodeClips(bytes, index, clips, {
        height: H,
        width: W,
        out,
      });
      assert.deepEqual(r.errors, new Array(5).fill(undefined), path);
      await assertSameAsAlone(bytes, index, clips, [0, 1, 2, 3, 4], out);
    }
  },
);

videoTest(
  "a truncated file in one pass: the clips before its real end decode, the late one fails alone, naming itself",
  async () => {
    const v = await videos();
    const { bytes, index } = await load(v.truncatedFast);
    const early = [0, 0.04, 0.08];
    const late = [3.6, 3.64, 3.68];
    const out = new Uint8Array(3 * 3 * PLANE);
    const r = await decodeClips(bytes, index, [early, late, early], {
      height: H,
      width: W,
      out,
      labels: ["clip A", "clip B", "clip C"],
    });
    assert.equal(r.errors[0], undefined);
    assert.equal(r.errors[2], undefined);
    const e = r.errors[1];
    assert.ok(e instanceof VideoDecodeError, String(e));
    assert.equal(e.code, "VideoTooShort");
    assert.match(
      e.message,
      /^clip B: (the video ends at \d\.\d{3} s but clip frame 1 of 3 is at 3\.600 s|no frame decodes from the keyframe before 3\.600 s to the end \(clip frame 1 of 3\)): the file is truncated/,
    );
    const alone = await decodeClip(bytes, index, early, {
      height: H,
      width: W,
    });
    assert.deepEqual(out.subarray(0, 3 * PLANE), alone.frames);
  },
);

videoTest("a slot past the slab is refused before any decode", async () => {
  const v = await videos();
  const { bytes, index } = await load(v.h264);
  await assert.rejects(
    () =>
      decodeClips(bytes, index, [[0, 0.04]], {
        height: H,
        width: W,
        out: new Uint8Array(2 * PLANE),
        slots: [1],
      }),
    /slot 1 .* lies past the slab of 18432 bytes/,
  );
});

videoTest(
  "lead-in frames skipped as non-reference never change which frame is shown (every gap of a VFR and a B-frame video)",
  async () => {
    const v = await videos();
    for (const path of [v.vfr, v.h264]) {
      const { bytes, index } = await load(path);
      const pts = await probeFrameSeconds(path);
      // Halfway between frame k and k+1 the frame shown is k; just before
      // k+1 too. Each target alone (its own seek and lead-in), then all in
      // one pass.
      const ks = Array.from({ length: pts.length - 1 }, (_, k) => k);
      const targets = ks.flatMap((k) => [
        (pts[k] + pts[k + 1]) / 2,
        pts[k + 1] - 1e-4,
      ]);
      const want = ks.flatMap((k) => [pts[k], pts[k]]);
      const out = new Uint8Array(targets.length * PLANE);
      const r = await decodeClips(bytes, index, targets.map((t) => [t]), {
        height: H,
        width: W,
        out,
      });
      assert.deepEqual(r.errors, new Array(targets.length).fill(undefined));
      for (const [i, s] of r.frameSeconds.entries()) {
        assert.ok(
          Math.abs(s[0] - want[i]) < 1e-6,
          `${path} target ${targets[i]}: frame at ${s[0]}, expected ${want[i]}`,
        );
      }
      for (const i of [1, 41, 61, 81, 131].filter((i) => i < targets.length)) {
        const alone = await decodeClips(bytes, index, [[targets[i]]], {
          height: H,
          width: W,
          out: new Uint8Array(PLANE),
        });
        assert.ok(Math.abs(alone.frameSeconds[0][0] - want[i]) < 1e-6);
        assert.deepEqual(
          alone.stats.framesDecoded <= r.stats.framesDecoded,
          true,
        );
      }
    }
  },
);
