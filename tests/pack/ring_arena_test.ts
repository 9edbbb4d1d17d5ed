import assert from "node:assert/strict";
import { RingArena } from "../../lib/pack/ring_arena.ts";

Deno.test("RingArena: FIFO allocations wrap around without overlapping", async () => {
  const ring = new RingArena(10);
  const a = await ring.alloc(4); // [0,4)
  const b = await ring.alloc(4); // [4,8)
  a.fill(1);
  b.fill(2);
  let cDone = false;
  const c = ring.alloc(4).then((v) => {
    cDone = true;
    return v;
  });
  await Promise.resolve();
  assert.equal(cDone, false, "2 bytes left at the end, 0 at the start");
  ring.free(); // a
  const cv = await c; // wraps to [0,4)
  assert.equal(cv.byteOffset, 0);
  cv.fill(3);
  assert.ok(b.every((x) => x === 2), "b untouched");
  assert.equal(ring.inUse, 8);
  ring.free(); // b
  const d = await ring.alloc(6); // [4,10)
  assert.equal(d.byteOffset, 4);
  ring.free(); // c
  ring.free(); // d
  assert.equal(ring.inUse, 0);
  assert.equal((await ring.alloc(10)).length, 10);
});

Deno.test("RingArena: waiters are served in order; bad sizes throw", async () => {
  const ring = new RingArena(8);
  await ring.alloc(8);
  const order: number[] = [];
  const big = ring.alloc(6).then(() => order.push(6));
  const small = ring.alloc(1).then(() => order.push(1));
  ring.free();
  await Promise.all([big, small]);
  assert.deepEqual(order, [6, 1]);
  assert.throws(() => ring.alloc(9), RangeError);
  assert.throws(() => ring.alloc(0), RangeError);
  assert.throws(() => new RingArena(0), RangeError);
  ring.free();
  ring.free();
  assert.throws(() => ring.free(), RangeError);
});
