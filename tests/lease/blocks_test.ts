import assert from "node:assert/strict";
import {
  cutBlocks,
  dealBlocks,
  DEFAULT_BLOCK_SIZE,
  planRankQueues,
  shuffleBlocks,
} from "../../lib/lease/blocks.ts";
import { Prng } from "../../lib/lease/prng.ts";
import { RangeSet } from "../../lib/lease/range_set.ts";

Deno.test("cutBlocks() cuts [0,N) into half-open blocks, last one short", () => {
  assert.deepEqual(cutBlocks(10, 4), [
    { startId: 0, endId: 4 },
    { startId: 4, endId: 8 },
    { startId: 8, endId: 10 },
  ]);
  assert.deepEqual(cutBlocks(8, 4).length, 2);
  assert.deepEqual(cutBlocks(0, 4), []);
  assert.equal(DEFAULT_BLOCK_SIZE, 65536);
  assert.equal(cutBlocks(200_000, DEFAULT_BLOCK_SIZE).length, 4);
});

Deno.test("cutBlocks() rejects bad sizes", () => {
  assert.throws(() => cutBlocks(-1, 4), RangeError);
  assert.throws(() => cutBlocks(10, 0), RangeError);
  assert.throws(() => cutBlocks(1.5, 4), RangeError);
});

Deno.test("dealBlocks() deals round-robin to ranks", () => {
  const queues = dealBlocks(cutBlocks(7, 1), 3);
  assert.deepEqual(queues.map((q) => q.map((b) => b.startId)), [
    [0, 3, 6],
    [1, 4],
    [2, 5],
  ]);
  assert.deepEqual(dealBlocks([], 2), [[], []]);
  assert.throws(() => dealBlocks([], 0), RangeError);
});

Deno.test("shuffleBlocks() is deterministic by seed and epoch", () => {
  const blocks = cutBlocks(1000, 10);
  const a = shuffleBlocks(blocks, 42n, 0);
  assert.deepEqual(a, shuffleBlocks(blocks, 42n, 0));
  assert.deepEqual(
    a,
    shuffleBlocks(blocks, 42, 0),
    "number seed = bigint seed",
  );
  assert.notDeepEqual(a, blocks, "actually shuffled");
  assert.notDeepEqual(a, shuffleBlocks(blocks, 42n, 1), "another epoch");
  assert.notDeepEqual(a, shuffleBlocks(blocks, 43n, 0), "another seed");
  const sorted = [...a].sort((x, y) => x.startId - y.startId);
  assert.deepEqual(sorted, blocks, "a permutation");
  assert.deepEqual(blocks, cutBlocks(1000, 10), "input untouched");
});

Deno.test("planRankQueues() skips completed samples but keeps the deal", () => {
  const base = {
    totalSamples: 12,
    blockSize: 3,
    worldSize: 2,
    shuffle: true,
    seed: 9n,
    epoch: 2,
  };
  const full = planRankQueues(base);
  const completed = new RangeSet([{ startId: 4, endId: 7 }]);
  const resumed = planRankQueues({ ...base, completed });
  for (let rank = 0; rank < 2; rank++) {
    const expected = full[rank].flatMap((b) => completed.subtractFrom(b));
    assert.deepEqual(resumed[rank], expected);
  }
  const all = new RangeSet(resumed.flat());
  assert.equal(all.size, 12 - 3);
  assert.equal(all.overlaps({ startId: 4, endId: 7 }), false);
});

Deno.test("Prng gives repeatable, roughly uniform numbers", () => {
  const a = new Prng(1n, 5n);
  const b = new Prng(1n, 5n);
  const xs = Array.from({ length: 100 }, () => a.nextU32());
  assert.deepEqual(xs, Array.from({ length: 100 }, () => b.nextU32()));
  assert.ok(xs.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32));
  const counts = [0, 0, 0, 0];
  const c = new Prng(-3, 0);
  for (let i = 0; i < 4000; i++) counts[c.nextBelow(4)]++;
  assert.ok(counts.every((n) => n > 850 && n < 1150), `${counts}`);
  assert.throws(() => c.nextBelow(0), RangeError);
  assert.throws(() => new Prng(0.5), RangeError);
});
