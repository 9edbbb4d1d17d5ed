import assert from "node:assert/strict";
import { MixScheduler } from "../../lib/mix/scheduler.ts";
import { SharedBudget } from "../../lib/mix/shared_budget.ts";

/** Two sources at equal weight, sample units. */
function plan(): MixScheduler {
  return new MixScheduler({
    points: [{ at: 0, weights: [0.5, 0.5] }],
    seed: 7n,
    epoch: 0,
  });
}

/** The plan's first pick. */
function firstPick(): number {
  return plan().next();
}

Deno.test("shared budget: a source's next batch that cannot fit beside the held ones is reported blocked only while it is the one a pull waits for", async () => {
  const first = firstPick(), other = 1 - first;
  const b = new SharedBudget(1000, plan(), true);
  const a0 = b.activity;
  // The plan's first source gets 8 samples' batch (600 bytes).
  await b.acquire(first, 600, 8);
  b.endTurn(first);
  assert.ok(b.activity > a0, "a grant counts as activity");
  // The other source asks for 500: it does not fit beside 600.
  let granted = false;
  const p = b.acquire(other, 500, 8).then(() => granted = true);
  await Promise.resolve();
  assert.equal(granted, false);
  // Nothing of `other` was pulled and its request is the plan's next: blocked.
  assert.equal(b.blockedBytes(other, 0), 500);
  // The first source has no request: not blocked.
  assert.equal(b.blockedBytes(first, 8), undefined);
  // A release that makes room grants it: no longer blocked.
  const a1 = b.activity;
  b.release(200);
  await p;
  assert.ok(granted && b.activity > a1);
  assert.equal(b.blockedBytes(other, 0), undefined);
});

Deno.test("shared budget: a request is not blocked while a batch already granted to its source is on its way", async () => {
  const one = new MixScheduler({
    points: [{ at: 0, weights: [1] }],
    seed: 1n,
    epoch: 0,
  });
  const b = new SharedBudget(1000, one, true);
  await b.acquire(0, 300, 4);
  b.endTurn(0);
  // The second batch does not fit yet, but a pull still waits for the first
  // (granted, not pulled): its delivery may release memory.
  const p = b.acquire(0, 800, 4);
  await Promise.resolve();
  assert.equal(b.blockedBytes(0, 0), undefined);
  // Once the first batch was pulled, the pull waits for this one.
  assert.equal(b.blockedBytes(0, 4), 800);
  b.release(300);
  await p;
  assert.equal(b.blockedBytes(0, 4), undefined);
});

Deno.test("shared budget: a turn holder's top-up that cannot fit is blocked; another source is not", async () => {
  const first = firstPick(), other = 1 - first;
  const b = new SharedBudget(1000, plan(), true);
  await b.acquire(first, 700, 8);
  // Top-up (units 0) of 400 more: does not fit beside 700.
  const t = b.acquire(first, 400, 0).catch(() => {});
  await Promise.resolve();
  assert.equal(b.blockedBytes(first, 0), 400);
  assert.equal(b.blockedBytes(other, 0), undefined);
  b.release(700);
  await t;
  assert.equal(b.blockedBytes(first, 0), undefined);
});
