import assert from "node:assert/strict";
import { NativeError } from "../../lib/native/errors.ts";
import {
  ChangedSizeError,
  NativeShardFile,
} from "../../lib/native/shard_file.ts";
import { nativeLibrary, nativeTest } from "../_helpers/native.ts";
import { tempDir } from "../_helpers/tmp.ts";

// Null only when the native tests below are ignored.
const lib = nativeLibrary!;
const enc = new TextEncoder();

nativeTest(
  "NativeShardFile: writes, then whole files appended by the kernel, in order",
  async () => {
    await using t = await tempDir();
    const big = new Uint8Array(3 * 1024 * 1024 + 7).map((_, i) => i * 31);
    await Deno.writeFile(`${t.path}/big.bin`, big);
    await Deno.writeTextFile(`${t.path}/é.txt`, "small");
    {
      using f = NativeShardFile.create(`${t.path}/out.bin`, lib);
      f.write(enc.encode("<"));
      f.appendFile(enc.encode("["), `${t.path}/big.bin`, big.length);
      f.appendFile(new Uint8Array(), `${t.path}/é.txt`, 5);
      f.write(enc.encode(">"));
    }
    const got = await Deno.readFile(`${t.path}/out.bin`);
    assert.equal(got.length, 2 + big.length + 5 + 1);
    assert.deepEqual(got.subarray(2, 2 + big.length), big);
    assert.equal(
      new TextDecoder().decode(got.subarray(2 + big.length)),
      "small>",
    );
    assert.equal(String.fromCharCode(got[0], got[1]), "<[");
    // Created like Deno creates files (0666 less the umask).
    await Deno.writeTextFile(`${t.path}/by-deno.txt`, "");
    assert.equal(
      (await Deno.stat(`${t.path}/out.bin`)).mode! & 0o777,
      (await Deno.stat(`${t.path}/by-deno.txt`)).mode! & 0o777,
    );
  },
);

nativeTest(
  "NativeShardFile: a size other than the listed one, a missing file and a closed file are typed errors",
  async () => {
    await using t = await tempDir();
    await Deno.writeTextFile(`${t.path}/a.txt`, "12345");
    const f = NativeShardFile.create(`${t.path}/out.bin`, lib);
    assert.throws(
      () => f.appendFile(new Uint8Array(), `${t.path}/a.txt`, 4),
      (e) => e instanceof ChangedSizeError && e.found === 5,
    );
    assert.throws(
      () => f.appendFile(new Uint8Array(), `${t.path}/gone.txt`, 1),
      (e) => e instanceof NativeError && e.code === "NotFound",
    );
    f.close();
    assert.equal(f.open, false);
    assert.throws(() => f.write(enc.encode("x")), /closed/);
    f.close(); // idempotent
    assert.throws(
      () => NativeShardFile.create(`${t.path}/no/such/dir/out.bin`, lib),
      (e) => e instanceof NativeError && e.code === "NotFound",
    );
  },
);
