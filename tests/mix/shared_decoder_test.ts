import assert from "node:assert/strict";
import { ThreadGate } from "../../lib/mix/shared_decoder.ts";

/** A task that runs until `finish()` is called, recording the gate's use. */
function task(gate: ThreadGate, threads: number, log: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((r) => finish = r);
  const ran = gate.run(threads, async () => {
    log.push(`start ${name} (${gate.inUse} in use)`);
    await done;
    log.push(`end ${name}`);
  });
  return { finish, ran };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("thread gate: first come first served within the budget; a call wider than the budget runs alone", async () => {
  const gate = new ThreadGate(2);
  const log: string[] = [];
  const a = task(gate, 2, log, "a");
  const b = task(gate, 1, log, "b");
  const c = task(gate, 1, log, "c");
  const d = task(gate, 8, log, "d");
  await tick();
  assert.deepEqual(log, ["start a (2 in use)"]);
  a.finish();
  await a.ran;
  await tick();
  assert.deepEqual(log.slice(1), [
    "end a",
    "start b (2 in use)",
    "start c (2 in use)",
  ]);
  b.finish();
  c.finish();
  await Promise.all([b.ran, c.ran]);
  await tick();
  assert.equal(log.at(-1), "start d (2 in use)");
  d.finish();
  await d.ran;
  assert.equal(gate.inUse, 0);
  assert.equal(gate.highWater, 2);
});

Deno.test("thread gate: an aborted wait leaves the queue, later calls still run; errors free the threads", async () => {
  const gate = new ThreadGate(1);
  const log: string[] = [];
  const a = task(gate, 1, log, "a");
  const ac = new AbortController();
  const b = gate.run(1, () => Promise.resolve("b"), ac.signal);
  const c = task(gate, 1, log, "c");
  ac.abort(new Error("stop b"));
  await assert.rejects(b, /stop b/);
  a.finish();
  await a.ran;
  await tick();
  assert.equal(log.at(-1), "start c (1 in use)");
  c.finish();
  await c.ran;
  await assert.rejects(
    gate.run(1, () => Promise.reject(new Error("boom"))),
    /boom/,
  );
  assert.equal(gate.inUse, 0);
  assert.equal(await gate.run(1, () => Promise.resolve(7)), 7);
  assert.throws(() => new ThreadGate(0), /positive integer, got 0/);
});
