import assert from "node:assert/strict";
import { ClipPlan } from "../../lib/video/clip_plan.ts";
import type { VideoIndex } from "../../lib/video/types.ts";

function video(
  sampleId: bigint,
  frameCount: number,
  frameRate = 25,
): VideoIndex {
  return {
    sampleId,
    timeBase: [1, 12800],
    startSeconds: 0,
    durationSeconds: frameCount / frameRate,
    frameRate,
    frameCount,
    width: 64,
    height: 48,
    codec: "h264",
    keyframeSeconds: [0],
  };
}

function all(plan: ClipPlan) {
  return Array.from({ length: plan.length }, (_, i) => plan.at(i));
}

Deno.test("regular clips: every stride frames, the last one still fits", () => {
  const plan = new ClipPlan([video(1n, 100)], { clip: 16, stride: 10 });
  // Last frame index 99; a 16-frame clip starting at s needs s + 15 <= 99.
  assert.deepEqual(all(plan).map((c) => c.startFrame), [
    0,
    10,
    20,
    30,
    40,
    50,
    60,
    70,
    80,
  ]);
  const c = plan.at(2);
  assert.equal(c.startSeconds, 0.8);
  assert.equal(c.frameSeconds.length, 16);
  assert.equal(c.frameSeconds[15], 1.4);
});

Deno.test("frameStep spaces frames and sets the default stride to the clip span", () => {
  const plan = new ClipPlan([video(1n, 50)], { clip: 4, frameStep: 3 });
  // Span 9 frames; clips of 4 frames spaced 3: stride default 12.
  assert.deepEqual(all(plan).map((c) => c.startFrame), [0, 12, 24, 36]);
  assert.deepEqual(plan.at(1).frameSeconds, [0.48, 0.6, 0.72, 0.84]);
});

Deno.test("fps resamples: frame times 1/fps apart whatever the source rate", () => {
  const plan = new ClipPlan([video(1n, 300, 30)], {
    clip: 5,
    fps: 4,
    stride: 60,
  });
  assert.deepEqual(plan.at(1).frameSeconds, [2, 2.25, 2.5, 2.75, 3]);
  // 1 s span at 30 fps = 30 frames: starts every 60 up to 240 (240 + 30 <= 299).
  assert.deepEqual(all(plan).map((c) => c.startFrame), [0, 60, 120, 180, 240]);
});

Deno.test("a video shorter than one clip is skipped with the reason", () => {
  const plan = new ClipPlan([video(1n, 10), video(2n, 40)], { clip: 16 });
  assert.deepEqual(all(plan).map((c) => c.sampleId), [2n, 2n]);
  assert.equal(plan.skipped.length, 1);
  assert.equal(plan.skipped[0].sampleId, 1n);
  assert.match(
    plan.skipped[0].reason,
    /10 frames at 25 fps is shorter than a clip \(16 frames/,
  );
});

Deno.test("random starts are seeded: same seed and epoch same clips, another epoch others", () => {
  const vids = [video(1n, 1000), video(2n, 1000)];
  const opts = {
    clip: 8,
    sampling: "random" as const,
    clipsPerVideo: 5,
    seed: 42,
  };
  const a = all(new ClipPlan(vids, opts));
  const b = all(new ClipPlan(vids, opts));
  const c = all(new ClipPlan(vids, { ...opts, epoch: 1 }));
  assert.deepEqual(a, b);
  assert.equal(a.length, 10);
  assert.notDeepEqual(a.map((x) => x.startFrame), c.map((x) => x.startFrame));
  for (const clip of a) {
    assert.ok(clip.startFrame >= 0 && clip.startFrame <= 1000 - 8);
  }
});

Deno.test("shuffle permutes the clips deterministically and keeps every clip once", () => {
  const vids = [video(1n, 200), video(2n, 200), video(3n, 200)];
  const plain = all(new ClipPlan(vids, { clip: 8 }));
  const s1 = all(new ClipPlan(vids, { clip: 8, shuffle: true, seed: 7 }));
  const s2 = all(new ClipPlan(vids, { clip: 8, shuffle: true, seed: 7 }));
  const e1 = all(
    new ClipPlan(vids, { clip: 8, shuffle: true, seed: 7, epoch: 1 }),
  );
  assert.deepEqual(s1, s2);
  assert.notDeepEqual(s1.map((c) => c.clipId), plain.map((c) => c.clipId));
  const key = (c: { sampleId: bigint; startFrame: number }) =>
    `${c.sampleId}:${c.startFrame}`;
  assert.deepEqual(s1.map(key).sort(), plain.map(key).sort());
  assert.notDeepEqual(s1.map(key), e1.map(key));
});

Deno.test("clip ids depend on manifest hash, seed, epoch, video and start", () => {
  const v = [video(1n, 100), video(2n, 100)];
  const base = all(new ClipPlan(v, { clip: 8, manifestHash: "aa" }));
  assert.equal(new Set(base.map((c) => c.clipId)).size, base.length);
  const ids = (o: object) =>
    all(new ClipPlan(v, { clip: 8, manifestHash: "aa", ...o })).map((c) =>
      c.clipId
    );
  assert.deepEqual(ids({}), base.map((c) => c.clipId));
  for (const change of [{ manifestHash: "bb" }, { seed: 1 }, { epoch: 1 }]) {
    const other = ids(change);
    assert.ok(
      other.every((id, i) => id !== base[i].clipId),
      JSON.stringify(change),
    );
  }
  for (const c of base) assert.ok(c.clipId >= 0n && c.clipId < 2n ** 60n);
});

Deno.test("a position is a resume point: the plan after it is the same clips", () => {
  const vids = [video(1n, 300), video(2n, 300)];
  const opts = { clip: 8, shuffle: true, seed: 3, manifestHash: "h" };
  const first = all(new ClipPlan(vids, opts));
  const again = new ClipPlan(vids, opts);
  for (let p = 17; p < again.length; p++) {
    assert.deepEqual(again.at(p), first[p]);
  }
});

Deno.test("options out of range are rejected with the value", () => {
  const v = [video(1n, 100)];
  assert.throws(
    () => new ClipPlan(v, { clip: 0 }),
    /clip must be a positive integer: 0/,
  );
  assert.throws(
    () => new ClipPlan(v, { clip: 4, stride: 1.5 }),
    /stride must be a positive integer: 1.5/,
  );
  assert.throws(
    () => new ClipPlan(v, { clip: 4, fps: 2, frameStep: 2 }),
    /either fps or frameStep/,
  );
  assert.throws(
    () => new ClipPlan(v, { clip: 4, fps: -1 }),
    /fps must be a positive number: -1/,
  );
  assert.throws(
    () => new ClipPlan(v, { clip: 4, epoch: -1 }),
    /epoch must be a non-negative integer/,
  );
  const plan = new ClipPlan(v, { clip: 4 });
  assert.throws(
    () => plan.at(plan.length),
    /Clip position must be an integer in \[0, 25\)/,
  );
});

Deno.test("sampleIdAt: the video of the clip at each position, shuffled or not, as at() gives it", () => {
  for (const shuffle of [false, true]) {
    const plan = new ClipPlan([video(4n, 60), video(9n, 100), video(2n, 40)], {
      clip: 8,
      stride: 6,
      shuffle,
      seed: 5,
    });
    assert.ok(plan.length > 10);
    for (let i = 0; i < plan.length; i++) {
      assert.equal(plan.sampleIdAt(i), plan.at(i).sampleId);
    }
    assert.throws(() => plan.sampleIdAt(plan.length), /Clip position/);
    assert.throws(() => plan.sampleIdAt(-1), /Clip position/);
  }
});
