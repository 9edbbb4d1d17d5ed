import assert from "node:assert/strict";
import { NativeBufferPool } from "../../lib/native/mod.ts";
import { nativeMissing } from "./_fixtures.ts";

const ignore = nativeMissing;

Deno.test({
  name: "tryAcquire fails over capacity and when the pool is full",
  ignore,
  fn() {
    using pool = new NativeBufferPool(1000);
    assert.equal(pool.tryAcquire(1001), null);
    const a = pool.tryAcquire(600)!;
    assert.equal(a.byteLength, 600);
    assert.equal(pool.tryAcquire(401), null);
    const b = pool.tryAcquire(400)!;
    assert.equal(pool.usedBytes, 1000);
    assert.equal(pool.tryAcquire(1), null);
    a.release();
    b.release();
    assert.equal(pool.usedBytes, 0);
    assert.equal(pool.highWaterBytes, 1000);
    assert.throws(() => pool.tryAcquire(0), RangeError);
    assert.throws(() => pool.tryAcquire(1.5), RangeError);
  },
});

Deno.test({
  name: "acquire waits in FIFO order until bytes are released",
  ignore,
  async fn() {
    using pool = new NativeBufferPool(1000);
    const first = await pool.acquire(800);
    const order: string[] = [];
    const big = pool.acquire(700).then((s) => (order.push("big"), s));
    const small = pool.acquire(100).then((s) => (order.push("small"), s));
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(order, [], "both wait: small does not jump the queue");
    assert.equal(pool.waiting, 2);
    assert.equal(
      pool.tryAcquire(100),
      null,
      "tryAcquire does not jump the queue",
    );
    first.release();
    const [b, s] = await Promise.all([big, small]);
    assert.deepEqual(order, ["big", "small"]);
    assert.equal(pool.usedBytes, 800);
    assert.ok(pool.highWaterBytes <= 1000);
    b.release();
    s.release();
  },
});

Deno.test({
  name:
    "acquire rejects impossible sizes, aborted waits and waits cut by close",
  ignore,
  async fn() {
    const pool = new NativeBufferPool(1000);
    await assert.rejects(pool.acquire(1001), RangeError);
    const held = await pool.acquire(1000);
    const controller = new AbortController();
    const aborted = pool.acquire(10, { signal: controller.signal });
    controller.abort(new Error("stop"));
    await assert.rejects(aborted, /stop/);
    assert.equal(pool.waiting, 0);
    const pending = pool.acquire(10);
    pool.close();
    pool.close();
    await assert.rejects(pending, /closed/);
    assert.throws(() => pool.tryAcquire(1), TypeError);
    // A slab outlives its pool.
    held.uint8().fill(1);
    held.release();
  },
});

Deno.test({
  name:
    "slab views are zero-copy and detached on release; release is idempotent",
  ignore,
  fn() {
    using pool = new NativeBufferPool(4096);
    const slab = pool.tryAcquire(1024)!;
    const f = slab.float32();
    const u = slab.uint8();
    assert.equal(f.length, 256);
    f[0] = 1; // 0x3f800000 little-endian
    assert.deepEqual([...u.subarray(0, 4)], [0, 0, 0x80, 0x3f]);
    slab.release();
    slab.release();
    assert.equal(slab.released, true);
    assert.equal(f.length, 0);
    assert.equal(u.length, 0);
    assert.throws(() => slab.float32(), TypeError);
    assert.equal(pool.usedBytes, 0);
  },
});

Deno.test({
  name:
    "released slabs are reused without the pool ever holding more than its capacity",
  ignore,
  fn() {
    using pool = new NativeBufferPool(3000);
    for (let i = 0; i < 50; i++) {
      const a = pool.tryAcquire(1000)!;
      const b = pool.tryAcquire(1000 + (i % 3) * 500)!;
      assert.ok(a && b);
      a.release();
      b.release();
      assert.ok(pool.retainedBytes <= 3000, `retained ${pool.retainedBytes}`);
    }
    assert.equal(pool.usedBytes, 0);
    pool.trim();
    assert.equal(pool.retainedBytes, 0);
  },
});

Deno.test({
  name: "invalid capacities are rejected",
  ignore,
  fn() {
    assert.throws(() => new NativeBufferPool(0), RangeError);
    assert.throws(() => new NativeBufferPool(-5), RangeError);
  },
});
