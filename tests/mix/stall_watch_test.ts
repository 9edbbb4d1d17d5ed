import assert from "node:assert/strict";
import { type Stall, watchStall } from "../../lib/mix/stall_watch.ts";

const stall: Stall = {
  source: "a",
  needBytes: 500,
  usedBytes: 600,
  capBytes: 1000,
};

Deno.test("stall watch: reports a blocked state that held without budget activity", async () => {
  const t0 = performance.now();
  const seen = await new Promise<Stall>((resolve) => {
    watchStall({ blocked: () => stall, activity: () => 3 }, resolve, 40);
  });
  assert.equal(seen, stall);
  assert.ok(performance.now() - t0 >= 40, "not before quietMs");
});

Deno.test("stall watch: budget activity or a state that clears restarts the wait; stop ends it", async () => {
  let activity = 0, blocked = true, calls = 0;
  const stop = watchStall(
    { blocked: () => blocked ? stall : undefined, activity: () => activity },
    () => calls++,
    40,
  );
  // Activity on every tick: never quiet long enough.
  const busy = setInterval(() => activity++, 5);
  await new Promise((r) => setTimeout(r, 150));
  clearInterval(busy);
  assert.equal(calls, 0);
  // Cleared state: nothing to report.
  blocked = false;
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(calls, 0);
  // Blocked and quiet again: reported once, then no more.
  blocked = true;
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(calls, 1);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(calls, 1);
  stop();
});
