import assert from "node:assert/strict";
import { Mx8Error } from "../../lib/errors.ts";
import {
  decodeClips,
  liveVideoSessions,
  probeVideo,
  VideoSession,
} from "../../lib/video/native_decoder.ts";
import type { VideoIndex } from "../../lib/video/types.ts";
import { sharedFixtures, videoTest } from "./_fixtures.ts";

const H = 48, W = 64, PLANE = H * W * 3;

/** Target times of `t` frames from source frame `s` at the index's rate. */
function frames(index: VideoIndex, s: number, t: number): number[] {
  return Array.from(
    { length: t },
    (_, i) => index.startSeconds + (s + i) / index.frameRate,
  );
}

/** The clips starting at `starts` (8 frames each) decoded in a fresh pass. */
async function fresh(
  bytes: Uint8Array,
  index: VideoIndex,
  clips: number[][],
): Promise<Uint8Array> {
  const out = new Uint8Array(clips.length * 8 * PLANE);
  const r = await decodeClips(bytes, index, clips, {
    height: H,
    width: W,
    out,
  });
  assert.deepEqual(r.errors, clips.map(() => undefined));
  return out;
}

videoTest(
  "a session's passes go on from where the last stopped (no seek, no lead-in again) and give exactly the frames of a fresh pass; a pass back opens the video again (1 decoder thread, and 3: frame threads, resizes on their own thread)",
  async () => {
    const fx = await sharedFixtures();
    for (
      const [path, threads] of [fx.h264, fx.vp9, fx.vfr].flatMap((
        p,
      ) => [[p, 1], [p, 3]] as const)
    ) {
      const bytes = await Deno.readFile(path);
      const index = probeVideo(bytes, 1n, path);
      const live = liveVideoSessions();
      using session = new VideoSession(bytes, index, threads);
      assert.equal(liveVideoSessions(), live + 1);
      // Batches of 2 clips of 8 frames at stride 4: each batch's first clip
      // overlaps the last batch's last clip by 4 frames.
      let decoded = 0;
      const last = Math.min(index.frameCount, 75) - 8;
      for (let s = 0; s + 4 <= last; s += 8) {
        const clips = [frames(index, s, 8), frames(index, s + 4, 8)];
        const out = new Uint8Array(2 * 8 * PLANE);
        const r = await session.decode(clips, { height: H, width: W, out });
        assert.deepEqual(r.errors, [undefined, undefined], path);
        const want = await fresh(bytes, index, clips);
        assert.ok(
          out.every((x, i) => x === want[i]),
          `${path}: pass from frame ${s} differs from a fresh pass`,
        );
        if (s > 0) {
          assert.equal(r.stats.seeks, 0, `${path}: pass from frame ${s}`);
        }
        decoded += r.stats.framesDecoded;
      }
      // Each frame decoded once over all passes (a fresh pass per batch
      // decodes each batch's GOP lead-in again).
      assert.ok(
        decoded <= last + 8 + 4,
        `${path}: ${decoded} frames decoded for frames 0..${last + 8}`,
      );
      // Back to the start: the video opens again; the frames are the same.
      const back = [frames(index, 0, 8), frames(index, 2, 8)];
      const out = new Uint8Array(2 * 8 * PLANE);
      const r = await session.decode(back, { height: H, width: W, out });
      assert.deepEqual(r.errors, [undefined, undefined]);
      const want = await fresh(bytes, index, back);
      assert.ok(out.every((x, i) => x === want[i]), `${path}: pass back`);
    }
  },
);

videoTest(
  "release() during a pass frees the session when the pass ends; a released session refuses passes; the live count returns",
  async () => {
    const fx = await sharedFixtures();
    const bytes = await Deno.readFile(fx.h264);
    const index = probeVideo(bytes, 2n, fx.h264);
    const live = liveVideoSessions();
    const session = new VideoSession(bytes, index);
    const clips = [frames(index, 40, 8)];
    const out = new Uint8Array(8 * PLANE);
    const pass = session.decode(clips, { height: H, width: W, out });
    session.release();
    assert.equal(session.released, true);
    // The pass runs on: the native session is freed after it.
    assert.equal(liveVideoSessions(), live + 1);
    const r = await pass;
    assert.deepEqual(r.errors, [undefined]);
    assert.equal(liveVideoSessions(), live);
    await assert.rejects(
      () => session.decode(clips, { height: H, width: W, out }),
      (e: unknown) => e instanceof Mx8Error && /released/.test(e.message),
    );
    session.release(); // idempotent
    assert.equal(liveVideoSessions(), live);
  },
);

videoTest(
  "a session over a truncated file: the pass past the end fails those clips alone, the next pass (the video opened again) decodes",
  async () => {
    const fx = await sharedFixtures();
    const bytes = await Deno.readFile(fx.truncatedFast);
    const index = probeVideo(bytes, 3n, fx.truncatedFast);
    const live = liveVideoSessions();
    for (const threads of [1, 3]) {
      using session = new VideoSession(bytes, index, threads);
      const out = new Uint8Array(2 * 8 * PLANE);
      const late = await session.decode(
        [frames(index, 40, 8), frames(index, 90, 8)],
        { height: H, width: W, out },
      );
      assert.equal(late.errors[0], undefined);
      assert.equal(late.errors[1]?.code, "VideoTooShort");
      const again = [frames(index, 8, 8), frames(index, 12, 8)];
      const r = await session.decode(again, { height: H, width: W, out });
      assert.deepEqual(r.errors, [undefined, undefined]);
      const want = await fresh(bytes, index, again);
      assert.ok(out.every((x, i) => x === want[i]));
    }
    assert.equal(liveVideoSessions(), live);
  },
);
