import assert from "node:assert/strict";
import { cutBatches, planOrder } from "../../lib/loader/plan.ts";

const base = {
  startId: 0,
  endId: 1000,
  shuffle: true,
  seed: 42,
  epoch: 0,
  blockSize: 64,
};

Deno.test("planOrder: same seed and epoch give the same order", () => {
  assert.deepEqual(planOrder(base), planOrder(base));
});

Deno.test("planOrder: another epoch or seed reorders; every id appears exactly once", () => {
  const a = planOrder(base);
  const b = planOrder({ ...base, epoch: 1 });
  const c = planOrder({ ...base, seed: 43 });
  assert.notDeepEqual(a, b);
  assert.notDeepEqual(a, c);
  for (const o of [a, b, c]) {
    assert.deepEqual(
      [...o].sort((x, y) => x - y),
      Array.from({ length: 1000 }, (_, i) => i),
    );
  }
});

Deno.test("planOrder: shuffle is by block then within block", () => {
  const o = planOrder(base);
  const blockOf = (id: number) => Math.floor(id / 64);
  // Each block's ids form one contiguous run of positions.
  const runs: number[] = [];
  for (const id of o) if (runs.at(-1) !== blockOf(id)) runs.push(blockOf(id));
  assert.equal(runs.length, Math.ceil(1000 / 64));
  assert.equal(new Set(runs).size, runs.length);
  assert.notDeepEqual(
    runs,
    [...runs].sort((a, b) => a - b),
    "blocks are reordered",
  );
  const first = Array.from(o.subarray(0, 10));
  assert.notDeepEqual(
    first,
    [...first].sort((a, b) => a - b),
    "ids are shuffled within the block",
  );
});

Deno.test("planOrder without shuffle is the id range in order", () => {
  assert.deepEqual(
    Array.from(planOrder({ ...base, shuffle: false, startId: 5, endId: 9 })),
    [5, 6, 7, 8],
  );
});

Deno.test("cutBatches cuts from a position; the last batch may be short", () => {
  const o = planOrder({ ...base, shuffle: false, endId: 10 });
  assert.deepEqual(cutBatches(o, 4).map((b) => b.length), [4, 4, 2]);
  assert.deepEqual(cutBatches(o, 4, 6).map((b) => Array.from(b)), [[
    6,
    7,
    8,
    9,
  ]]);
});
