import assert from "node:assert/strict";
import { LiveIndex } from "../../lib/lease/live_index.ts";
import { Prng } from "../../lib/lease/prng.ts";

const lease = (
  leaseId: string,
  nodeId: string,
  startId: number,
  endId: number,
) => ({
  leaseId,
  nodeId,
  startId,
  endId,
});

Deno.test("LiveIndex finds the overlapping lease at every edge", () => {
  const index = new LiveIndex();
  index.add(lease("b", "n1", 20, 30));
  index.add(lease("a", "n1", 0, 10));
  index.add(lease("c", "n2", 40, 50));
  assert.equal(index.overlapping({ startId: 10, endId: 20 }), undefined);
  assert.equal(index.overlapping({ startId: 30, endId: 40 }), undefined);
  assert.equal(index.overlapping({ startId: 50, endId: 60 }), undefined);
  assert.equal(index.overlapping({ startId: 9, endId: 10 })?.leaseId, "a");
  assert.equal(index.overlapping({ startId: 10, endId: 21 })?.leaseId, "b");
  assert.equal(index.overlapping({ startId: 0, endId: 100 })?.leaseId, "a");
  assert.equal(index.overlapping({ startId: 45, endId: 46 })?.leaseId, "c");
  assert.deepEqual(index.inStartOrder().map((l) => l.leaseId), ["a", "b", "c"]);
  assert.equal(index.heldBy("n1"), 2);
  assert.equal(index.heldBy("n2"), 1);
  assert.equal(index.heldBy("n3"), 0);
});

Deno.test("LiveIndex refuses an overlapping add and an unknown remove", () => {
  const index = new LiveIndex();
  index.add(lease("a", "n1", 10, 20));
  assert.throws(
    () => index.add(lease("x", "n2", 15, 25)),
    /\[15, 25\) overlaps live lease "a"/,
  );
  assert.throws(
    () => index.remove(lease("x", "n2", 10, 20)),
    /live lease "x" is not indexed/,
  );
  assert.equal(index.size, 1);
  assert.equal(index.heldBy("n2"), 0);
  index.remove(lease("a", "n1", 10, 20));
  assert.equal(index.size, 0);
  assert.equal(index.heldBy("n1"), 0);
});

Deno.test("LiveIndex agrees with a linear scan over random adds and removes", () => {
  const prng = new Prng(7n);
  const rand = () => prng.nextU32() / 2 ** 32;
  const index = new LiveIndex();
  const live = new Map<string, ReturnType<typeof lease>>();
  for (let step = 0; step < 5000; step++) {
    const startId = Math.floor(rand() * 1000);
    const range = { startId, endId: startId + 1 + Math.floor(rand() * 20) };
    const scan = [...live.values()].filter((l) =>
      l.startId < range.endId && range.startId < l.endId
    ).sort((a, b) =>
      a.startId - b.startId
    )[0];
    assert.equal(index.overlapping(range)?.leaseId, scan?.leaseId);
    if (scan === undefined) {
      const l = lease(`l${step}`, `n${step % 7}`, range.startId, range.endId);
      index.add(l);
      live.set(l.leaseId, l);
    } else if (rand() < 0.5) {
      index.remove(scan);
      live.delete(scan.leaseId);
    }
    for (let n = 0; n < 7; n++) {
      const held = [...live.values()].filter((l) => l.nodeId === `n${n}`);
      assert.equal(index.heldBy(`n${n}`), held.length);
    }
  }
  assert.equal(index.size, live.size);
});
