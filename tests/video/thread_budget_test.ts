import assert from "node:assert/strict";
import { ThreadBudget } from "../../lib/video/thread_budget.ts";

Deno.test("a thread budget never runs more threads than it holds, and serves waiters in order", async () => {
  const b = new ThreadBudget(2);
  let peak = 0;
  const order: number[] = [];
  const gates: (() => void)[] = [];
  const job = (i: number, n: number) =>
    b.run(n, async () => {
      peak = Math.max(peak, b.used);
      order.push(i);
      await new Promise<void>((go) => gates.push(go));
    });
  const all = [job(0, 1), job(1, 2), job(2, 1), job(3, 1)];
  await new Promise((r) => setTimeout(r, 0));
  // Job 0 holds 1 thread; job 1 needs 2 and waits; 2 and 3 queue behind it.
  assert.deepEqual(order, [0]);
  gates.shift()!();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(order, [0, 1]);
  gates.shift()!();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(order, [0, 1, 2, 3]);
  gates.splice(0).forEach((go) => go());
  await Promise.all(all);
  assert.equal(peak, 2);
  assert.equal(b.used, 0);
  // More threads than the budget holds run alone, capped at the capacity.
  assert.equal(await b.run(8, () => Promise.resolve(b.used)), 2);
  // A failing job gives its threads back.
  await assert.rejects(() => b.run(2, () => Promise.reject(new Error("x"))));
  assert.equal(b.used, 0);
  assert.throws(() => new ThreadBudget(0), /positive integer: 0/);
});
