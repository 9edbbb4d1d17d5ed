import assert from "node:assert/strict";
import { localDestination } from "../../lib/pack/dest_local.ts";
import { pack } from "../../lib/pack/pack.ts";
import { planShards } from "../../lib/pack/plan.ts";
import { localSource } from "../../lib/pack/source_local.ts";
import { writeShards } from "../../lib/pack/write_shards.ts";
import { nativeLibrary, nativeTest } from "../_helpers/native.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";
import { bytesOf, readPackedTree, verifyPacked } from "./_verify.ts";

// Null only when the native tests below are ignored.
const lib = nativeLibrary!;

/** Nested folders, byte-order traps and block-edge sizes. */
function trickyTree(): Record<string, Uint8Array> {
  const rels = [
    "a.txt",
    "a/b/deep.bin",
    "a/z.jpg",
    "B/upper.JPG",
    "é/ü.jpg",
    "\u{1f600}.png",
    "\uff5e.png",
    "x/_mx8/kept.bin",
    "plain",
  ];
  const sizes = [1, 511, 512, 513, 4096, 4097, 100_000, 3, 70_000];
  return Object.fromEntries(rels.map((r, i) => [r, bytesOf(sizes[i], i + 7)]));
}

nativeTest(
  "pack: native listing + kernel copy, Deno blocking reads and threaded reads write byte-identical datasets",
  async () => {
    await using src = await tempDir();
    await writeTree(src.path, trickyTree());
    const results = [];
    const outs = [];
    for (const opts of [{}, { native: false }, { concurrency: 4 }]) {
      const out = await tempDir();
      outs.push(out);
      results.push(
        await pack(src.path, { out: out.path, shardMb: 0.1, ...opts }),
      );
    }
    try {
      await verifyPacked(outs[0].path, trickyTree(), {
        labels: false,
        shardBytes: Math.floor(0.1 * 2 ** 20),
      });
      assert.ok(results[0].shards >= 2, `${results[0].shards} shards`);
      const first = await readPackedTree(outs[0].path);
      for (let i = 1; i < outs.length; i++) {
        assert.equal(results[i].manifestHash, results[0].manifestHash);
        assert.deepEqual(await readPackedTree(outs[i].path), first);
      }
    } finally {
      for (const o of outs) await o[Symbol.asyncDispose]();
    }
  },
);

nativeTest(
  "writeShards (kernel copy): a file changed or deleted after listing is an error naming it, and the open shard is removed",
  async () => {
    for (
      const [change, want] of [
        [
          (p: string) => Deno.writeTextFile(p, "longer now"),
          /Cannot pack .*f1\.bin: it changed while packing \(listed with 4 bytes, read 10 or more\)/,
        ],
        [
          (p: string) => Deno.remove(p),
          /Cannot read .*f1\.bin: no such file or directory/,
        ],
      ] as const
    ) {
      await using src = await tempDir();
      await using dst = await tempDir();
      await writeTree(src.path, { "f0.bin": "aaaa", "f1.bin": "bbbb" });
      const source = localSource(src.path, { syncReads: true, native: lib });
      const dest = localDestination(dst.path, { native: lib });
      assert.equal(dest.appendsFiles, true);
      const plan = planShards(await source.list(), 1 << 20, src.path);
      await change(`${src.path}/f1.bin`);
      await assert.rejects(
        writeShards(plan, source, dest, {
          concurrency: 1,
          budgetBytes: 1 << 20,
          pieceBytes: 1 << 20,
        }),
        want,
      );
      await assert.rejects(Deno.stat(`${dst.path}/shards/shard-00000.tar`));
    }
  },
);

nativeTest(
  "pack: a dangling symlink is the same error with and without the native library",
  async () => {
    await using src = await tempDir();
    await writeTree(src.path, { "cat/a.jpg": "x", "dog/b.jpg": "y" });
    await Deno.symlink(`${src.path}/nowhere`, `${src.path}/dog/c.jpg`);
    for (const native of [true, false]) {
      await using out = await tempDir();
      await assert.rejects(
        pack(src.path, { out: out.path, native }),
        new RegExp(
          `^PathError: Cannot stat ${src.path}/dog/c\\.jpg: no such file or directory`,
        ),
      );
    }
  },
);
