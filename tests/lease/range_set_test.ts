import assert from "node:assert/strict";
import { RangeSet } from "../../lib/lease/range_set.ts";

const r = (startId: number, endId: number) => ({ startId, endId });

Deno.test("RangeSet merges adjacent ranges in any order", () => {
  const set = new RangeSet();
  set.add(r(10, 20));
  set.add(r(30, 40));
  set.add(r(0, 5));
  set.add(r(20, 30));
  set.add(r(7, 7));
  assert.deepEqual(set.ranges(), [r(0, 5), r(10, 40)]);
  assert.equal(set.size, 35);
  assert.equal(set.rangeCount, 2);
  set.add(r(5, 10));
  assert.deepEqual(set.ranges(), [r(0, 40)]);
});

Deno.test("RangeSet refuses to add a sample twice", () => {
  const set = new RangeSet([r(10, 20)]);
  assert.throws(() => set.add(r(19, 21)), RangeError);
  assert.throws(() => set.add(r(5, 11)), RangeError);
  assert.throws(() => set.add(r(12, 13)), RangeError);
  assert.throws(() => set.add(r(0, 30)), RangeError);
  assert.throws(() => set.add(r(5, 4)), RangeError);
  assert.deepEqual(set.ranges(), [r(10, 20)]);
});

Deno.test("RangeSet.overlaps() and subtractFrom()", () => {
  const set = new RangeSet([r(10, 20), r(30, 40)]);
  assert.equal(set.overlaps(r(0, 10)), false);
  assert.equal(set.overlaps(r(20, 30)), false);
  assert.equal(set.overlaps(r(19, 30)), true);
  assert.equal(set.overlaps(r(15, 15)), false);
  assert.deepEqual(set.subtractFrom(r(0, 50)), [
    r(0, 10),
    r(20, 30),
    r(40, 50),
  ]);
  assert.deepEqual(set.subtractFrom(r(12, 18)), []);
  assert.deepEqual(set.subtractFrom(r(15, 35)), [r(20, 30)]);
});
