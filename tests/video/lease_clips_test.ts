import assert from "node:assert/strict";
import { ClipPlan } from "../../lib/video/clip_plan.ts";
import { leaseClipBatches } from "../../lib/video/lease_clips.ts";
import type { VideoIndex } from "../../lib/video/types.ts";

function video(sampleId: number, frameCount: number): VideoIndex {
  return {
    sampleId: BigInt(sampleId),
    timeBase: [1, 12800],
    startSeconds: 0,
    durationSeconds: frameCount / 25,
    frameRate: 25,
    frameCount,
    width: 64,
    height: 48,
    codec: "h264",
    keyframeSeconds: [0],
  };
}

/** Every delivery prefix: the rows the cursor claims have no clip left. */
function assertAtLeastOnce(
  start: number,
  end: number,
  clipRows: number[],
  batchSize: number,
): void {
  const plan = leaseClipBatches(start, end, clipRows, batchSize);
  const claimedWithClipsLeft = (cursor: number, delivered: number) =>
    clipRows.slice(delivered).some((r) => r < cursor);
  assert.ok(!claimedWithClipsLeft(plan.cursor, 0), "starting cursor");
  let prev = plan.cursor;
  let covered = 0;
  for (const b of plan.batches) {
    assert.equal(b.from, covered, "batches are contiguous");
    assert.ok(b.to - b.from >= 1 && b.to - b.from <= batchSize);
    covered = b.to;
    assert.ok(b.cursor >= prev, "cursor never moves backwards");
    assert.ok(
      !claimedWithClipsLeft(b.cursor, b.to),
      `cursor ${b.cursor} after clip ${b.to} claims a row with clips left`,
    );
    // Tight: the row at the cursor (if any) still has a clip to go.
    if (b.cursor < end) {
      assert.ok(
        clipRows.slice(b.to).includes(b.cursor),
        `cursor ${b.cursor} stops short of a finished row`,
      );
    }
    prev = b.cursor;
  }
  assert.equal(covered, clipRows.length, "every clip is in a batch");
  assert.equal(prev, end, "the last batch completes the lease");
}

Deno.test("leaseClipBatches: a lease with no clip is complete before any batch", () => {
  assert.deepEqual(leaseClipBatches(5, 9, [], 4), { cursor: 9, batches: [] });
});

Deno.test("leaseClipBatches: the cursor passes rows without clips only once the rows before are delivered", () => {
  // Rows 0 (none), 1 (3 clips), 2 (none), 3 (none), 4 (1 clip), 5 (none).
  const plan = leaseClipBatches(0, 6, [1, 1, 1, 4], 2);
  assert.equal(plan.cursor, 1);
  assert.deepEqual(plan.batches, [
    { from: 0, to: 2, cursor: 1 },
    { from: 2, to: 4, cursor: 6 },
  ]);
  assertAtLeastOnce(0, 6, [1, 1, 1, 4], 2);
});

Deno.test("leaseClipBatches: a batch that ends a row exactly moves the cursor past it", () => {
  const plan = leaseClipBatches(100, 103, [100, 100, 101, 101, 102], 2);
  assert.deepEqual(plan.batches.map((b) => b.cursor), [101, 102, 103]);
});

Deno.test("leaseClipBatches: shuffled clips move the cursor only past rows whose every clip is out", () => {
  const rows = [3, 1, 2, 1, 3, 2, 1];
  const plan = leaseClipBatches(1, 4, rows, 3);
  // After [3,1,2]: row 1 has clips left. After [1,3,2]: row 1 still has one.
  // After [1]: all out.
  assert.deepEqual(plan.batches.map((b) => b.cursor), [1, 1, 4]);
  assertAtLeastOnce(1, 4, rows, 3);
});

Deno.test("leaseClipBatches: at-least-once holds for many random leases", () => {
  let s = 12345;
  const rand = (n: number) => (s = (s * 1103515245 + 12345) % 2 ** 31) % n;
  for (let t = 0; t < 300; t++) {
    const start = rand(50);
    const end = start + 1 + rand(12);
    const rows: number[] = [];
    for (let id = start; id < end; id++) {
      for (let k = rand(4); k > 0; k--) rows.push(id);
    }
    if (rand(2)) {
      for (let i = rows.length - 1; i > 0; i--) {
        const j = rand(i + 1);
        [rows[i], rows[j]] = [rows[j], rows[i]];
      }
    }
    assertAtLeastOnce(start, end, rows, 1 + rand(5));
  }
});

Deno.test("leaseClipBatches: refuses a clip outside the lease and a bad batch size", () => {
  assert.throws(
    () => leaseClipBatches(0, 3, [0, 3], 2),
    /clip 1 belongs to row 3, outside the lease \[0, 3\)/,
  );
  assert.throws(() => leaseClipBatches(0, 3, [0], 0), /batchSize/);
});

Deno.test("planning each lease's videos alone gives the clips (ids, starts, frame times) of the whole plan", () => {
  const videos = [
    video(0, 100),
    video(1, 10), // too short for a 16-frame clip
    video(2, 64),
    video(3, 250),
    video(4, 40),
  ];
  for (
    const options of [
      { clip: 16, stride: 8, seed: 7, epoch: 2, manifestHash: "ab" },
      {
        clip: 8,
        sampling: "random" as const,
        clipsPerVideo: 3,
        seed: 3,
        epoch: 1,
        manifestHash: "cd",
      },
      { clip: 4, fps: 5, seed: 1, manifestHash: "ef" },
    ]
  ) {
    const whole = new ClipPlan(videos, options);
    const key = (c: ReturnType<ClipPlan["at"]>) =>
      JSON.stringify([
        String(c.clipId),
        String(c.sampleId),
        c.startFrame,
        c.frameSeconds,
      ]);
    const expected = Array.from(
      { length: whole.length },
      (_, i) => key(whole.at(i)),
    ).sort();
    const leased: string[] = [];
    for (const lease of [[0, 2], [2, 3], [3, 5]]) {
      const part = new ClipPlan(videos.slice(lease[0], lease[1]), options);
      for (let i = 0; i < part.length; i++) leased.push(key(part.at(i)));
    }
    assert.deepEqual(leased.sort(), expected, JSON.stringify(options));
    assert.ok(expected.length > 5);
  }
});
