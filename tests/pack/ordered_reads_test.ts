import assert from "node:assert/strict";
import { readInOrder } from "../../lib/pack/ordered_reads.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("readInOrder: in order, with at most `concurrency` reads and `budgetBytes` held", async () => {
  let running = 0;
  let maxRunning = 0;
  let held = 0;
  let maxHeld = 0;
  const read = async (n: number, into: Uint8Array) => {
    running++;
    held += 10;
    maxRunning = Math.max(maxRunning, running);
    maxHeld = Math.max(maxHeld, held);
    await sleep((n * 7) % 5);
    running--;
    return into.fill(n);
  };
  const seen: number[] = [];
  const tasks = Array.from({ length: 60 }, (_, i) => i);
  for await (
    const { task, data } of readInOrder(tasks, read, {
      concurrency: 3,
      budgetBytes: 50,
      cost: () => 10,
    })
  ) {
    assert.equal(data[0], task);
    seen.push(task);
    await sleep(1);
    held -= 10; // released when the next result is asked for
  }
  assert.deepEqual(seen, tasks);
  assert.equal(maxRunning, 3);
  assert.ok(maxHeld <= 50 + 10, `held ${maxHeld}`);
});

Deno.test("readInOrder: reads fill views of one ring; a task larger than the ring is an error", async () => {
  const buffers = new Set<ArrayBufferLike>();
  const out: number[] = [];
  await assert.rejects(async () => {
    for await (
      const { task, data } of readInOrder(
        [5, 60, 30, 500],
        (n, into) => Promise.resolve(into.fill(n)),
        { concurrency: 4, budgetBytes: 100, cost: (n) => n },
      )
    ) {
      assert.equal(data.length, task);
      assert.ok(data.every((b) => b === task % 256));
      buffers.add(data.buffer);
      out.push(task);
    }
  }, RangeError);
  assert.deepEqual(out, [5, 60, 30]);
  assert.equal(buffers.size, 1);
});

Deno.test("readInOrder: maxQueued bounds results held for tiny tasks", async () => {
  let started = 0;
  let consumed = 0;
  let maxAhead = 0;
  for await (
    const _ of readInOrder(
      Array(200).fill(1),
      (_n, into) => {
        started++;
        maxAhead = Math.max(maxAhead, started - consumed);
        return Promise.resolve(into);
      },
      { concurrency: 4, budgetBytes: 1 << 20, cost: () => 1, maxQueued: 8 },
    )
  ) {
    consumed++;
    await sleep(0);
  }
  assert.equal(consumed, 200);
  assert.ok(maxAhead <= 9, `read ${maxAhead} ahead`);
});

Deno.test("readInOrder: the first failure in task order is thrown; later reads stop", async () => {
  let started = 0;
  const read = async (n: number, into: Uint8Array, signal: AbortSignal) => {
    started++;
    await sleep(n === 3 ? 1 : 5);
    if (n === 3 || n === 5) throw new Error(`bad ${n}`);
    signal.throwIfAborted();
    return into;
  };
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (
      const { task } of readInOrder(
        Array.from({ length: 1000 }, (_, i) => i),
        read,
        { concurrency: 4, budgetBytes: 8, cost: () => 1 },
      )
    ) seen.push(task);
  }, /bad 3/);
  assert.deepEqual(seen, [0, 1, 2]);
  assert.ok(started < 20, `started ${started} reads`);
});

Deno.test("readInOrder: breaking out early waits for running reads and stops", async () => {
  let settled = 0;
  let started = 0;
  const read = async (_n: number, into: Uint8Array) => {
    started++;
    await sleep(5);
    settled++;
    return into;
  };
  for await (
    const _ of readInOrder(Array(100).fill(0), read, {
      concurrency: 4,
      budgetBytes: 10,
      cost: () => 1,
    })
  ) break;
  assert.equal(settled, started, "no read still running after the loop");
  assert.ok(started <= 10);
});

Deno.test("readInOrder: an aborted outer signal stops the loop with its reason", async () => {
  const ac = new AbortController();
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (
      const { task } of readInOrder([0, 1, 2, 3], (n, into) => {
        if (n === 1) ac.abort(new Error("stop now"));
        return Promise.resolve(into);
      }, { concurrency: 1, budgetBytes: 4, cost: () => 1, signal: ac.signal })
    ) seen.push(task);
  }, /stop now/);
  assert.ok(seen.length <= 2);
});
