import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { localSource } from "../../lib/pack/source_local.ts";
import { s3Source } from "../../lib/pack/source_s3.ts";
import { nativeLibrary } from "../_helpers/native.ts";
import { startS3 } from "../_helpers/s3rver.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";

const signal = new AbortController().signal;

for (
  const [syncReads, listing, native] of [
    [false, "Deno", null],
    [true, "Deno", null],
    [true, "native", nativeLibrary],
  ] as const
) {
  Deno.test({
    name:
      `localSource (syncReads ${syncReads}, ${listing} listing): whole and ranged reads; a changed or vanished file is an error naming it`,
    // The native case is ignored when libmx8_ffi is unavailable.
    ignore: listing === "native" && native === null,
    async fn() {
      await using t = await tempDir();
      await writeTree(t.path, { "a/x.bin": "0123456789", "_mx8/m": "skip" });
      const src = localSource(t.path, { syncReads, native });
      const list = await src.list();
      assert.equal(list.length, 1);
      const file = list.at(0);
      assert.deepEqual(file, { rel: "a/x.bin", size: 10 });
      const dec = new TextDecoder();
      assert.equal(
        dec.decode(await src.read(file, 0, new Uint8Array(10), signal)),
        "0123456789",
      );
      assert.equal(
        dec.decode(await src.read(file, 4, new Uint8Array(3), signal)),
        "456",
      );
      await Deno.writeTextFile(`${t.path}/a/x.bin`, "0123");
      await assert.rejects(
        src.read(file, 0, new Uint8Array(10), signal),
        new RegExp(
          `Cannot pack ${t.path}/a/x\\.bin: it changed while packing \\(listed with 10 bytes, read 4\\)`,
        ),
      );
      await assert.rejects(
        src.read(file, 2, new Uint8Array(8), signal),
        /changed while packing/,
      );
      await Deno.remove(`${t.path}/a/x.bin`);
      await assert.rejects(
        src.read(file, 0, new Uint8Array(10), signal),
        /Cannot read .*a\/x\.bin: no such file or directory/,
      );
      await Deno.writeTextFile(`${t.path}/a/x.bin`, "0123456789AB");
      await assert.rejects(
        src.read(file, 0, new Uint8Array(10), signal),
        /changed while packing \(listed with 10 bytes, read 11 or more\)/,
      );
    },
  });
}

Deno.test("s3Source: lists under the prefix, whole and ranged GETs, vanished objects", async () => {
  await using s3 = await startS3(["raw"]);
  for (
    const [k, v] of [["p/a/1.jpg", "hello world"], ["p/shards/s.tar", "x"], [
      "pp/x",
      "y",
    ]]
  ) {
    await s3.client.send(
      new PutObjectCommand({ Bucket: "raw", Key: k, Body: v }),
    );
  }
  const src = s3Source("s3://raw/p");
  const list = await src.list();
  const files = Array.from({ length: list.length }, (_, i) => list.at(i));
  assert.deepEqual(files, [{ rel: "a/1.jpg", size: 11 }]);
  const dec = new TextDecoder();
  assert.equal(
    dec.decode(await src.read(files[0], 0, new Uint8Array(11), signal)),
    "hello world",
  );
  assert.equal(
    dec.decode(await src.read(files[0], 6, new Uint8Array(5), signal)),
    "world",
  );
  await assert.rejects(
    src.read({ rel: "a/gone.jpg", size: 3 }, 0, new Uint8Array(3), signal),
    /Cannot pack s3:\/\/raw\/p\/a\/gone\.jpg: the object was deleted while packing/,
  );
  await assert.rejects(
    src.read({ rel: "a/1.jpg", size: 20 }, 0, new Uint8Array(20), signal),
    /changed while packing \(listed with 20 bytes, read 11\)/,
  );
});
