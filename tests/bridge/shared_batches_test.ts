import assert from "node:assert/strict";
import { SharedBatches } from "../../lib/bridge/shared_batches.ts";
import { loadNativeLibrary } from "../../lib/native/mod.ts";

const native = loadNativeLibrary().ok;

function shmPath(): string {
  const dir = (() => {
    try {
      return Deno.statSync("/dev/shm").isDirectory
        ? "/dev/shm"
        : Deno.makeTempDirSync();
    } catch {
      return Deno.makeTempDirSync();
    }
  })();
  return `${dir}/mx8-test-${Deno.pid}-${crypto.randomUUID()}`;
}

Deno.test({
  name:
    "SharedBatches (mapped): pool slabs are offsets in the file; other bytes are copied into a slab",
  ignore: !native,
  fn() {
    const path = shmPath();
    const shared = new SharedBatches(path, 1 << 16);
    try {
      assert.equal(shared.stats().mode, "mapped");
      const slab = shared.pool!.tryAcquire(1000)!;
      slab.uint8().fill(7);
      const zero = shared.place(slab.uint8(1000));
      assert.equal(zero.copied, false);
      const heap = new Uint8Array(300).fill(9);
      const copy = shared.place(heap);
      assert.equal(copy.copied, true);
      const file = Deno.readFileSync(path);
      assert.equal(file.byteLength, 1 << 16);
      assert.deepEqual(
        file.subarray(zero.offset!, zero.offset! + 1000),
        new Uint8Array(1000).fill(7),
      );
      assert.deepEqual(file.subarray(copy.offset!, copy.offset! + 300), heap);
      assert.notEqual(copy.offset, zero.offset);
      copy.release();
      slab.release();
      // Larger than the mapping: travels inline.
      const big = shared.place(new Uint8Array((1 << 16) + 1));
      assert.equal(big.offset, null);
      assert.equal(big.inline!.byteLength, (1 << 16) + 1);
      assert.deepEqual(shared.stats(), {
        mode: "mapped",
        bytes: 1 << 16,
        zeroCopyBatches: 1,
        copiedBatches: 1,
        inlineBatches: 1,
      });
    } finally {
      shared.close();
    }
    assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
  },
});

Deno.test("SharedBatches (file): positional writes at offset 0; an existing file is refused", () => {
  const path = shmPath();
  const shared = new SharedBatches(path, 64, false);
  try {
    assert.equal(shared.stats().mode, "file");
    const p = shared.place(new Uint8Array([1, 2, 3]));
    assert.equal(p.offset, 0);
    assert.deepEqual(
      Deno.readFileSync(path).subarray(0, 3),
      new Uint8Array([1, 2, 3]),
    );
    assert.throws(
      () => new SharedBatches(path, 64, false),
      Deno.errors.AlreadyExists,
    );
  } finally {
    shared.close();
  }
  assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
});
