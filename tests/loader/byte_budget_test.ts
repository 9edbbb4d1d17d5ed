import assert from "node:assert/strict";
import {
  BatchTooLargeError,
  ByteBudget,
} from "../../lib/loader/byte_budget.ts";

Deno.test("ByteBudget: waiters are served FIFO and never exceed the cap", async () => {
  const b = new ByteBudget(100);
  await b.acquire(60);
  const order: number[] = [];
  const p1 = b.acquire(50).then(() => order.push(1));
  const p2 = b.acquire(10).then(() => order.push(2)); // fits now, but waits behind p1 (FIFO)
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(order, []);
  b.release(60);
  await Promise.all([p1, p2]);
  assert.deepEqual(order, [1, 2]);
  assert.equal(b.usedBytes, 60);
  assert.equal(b.highWaterBytes, 60);
});

Deno.test("ByteBudget: a request over the cap fails with the spec's text", async () => {
  const b = new ByteBudget(100);
  await assert.rejects(() => b.acquire(101), (err: unknown) => {
    assert.ok(err instanceof BatchTooLargeError);
    assert.match(
      err.message,
      /^batch payload bytes 101 exceeds max_inflight_bytes 100/,
    );
    return true;
  });
});

Deno.test("ByteBudget: an aborted wait leaves the queue and frees its turn", async () => {
  const b = new ByteBudget(10);
  await b.acquire(10);
  const ac = new AbortController();
  const p = b.acquire(5, ac.signal);
  ac.abort(new Error("stop"));
  await assert.rejects(p, /stop/);
  b.release(10);
  await b.acquire(10);
  assert.equal(b.usedBytes, 10);
});
