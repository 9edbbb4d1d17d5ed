import assert from "node:assert/strict";
import { sha256HexAsync } from "../../lib/util/sha256.ts";
import { Mx8Error, PathError } from "../../lib/errors.ts";
import { pack, type PackProgress } from "../../lib/pack/pack.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";
import { bytesOf, dataset, readPackedTree, verifyPacked } from "./_verify.ts";

const SIZES = [1, 511, 512, 513, 1000, 3000, 5000, 20_000, 7, 1024, 4097, 9];
const SHARD_MB = 0.01; // 10485 bytes: several shards, one oversized file

Deno.test("pack: ImageFolder dir → tar shards GNU tar lists and extracts, byte ranges match, labels on", async () => {
  await using src = await tempDir();
  await using dst = await tempDir();
  const files = dataset(SIZES);
  await writeTree(src.path, files);
  const progress: PackProgress[] = [];
  const res = await pack(src.path, {
    out: dst.path,
    shardMb: SHARD_MB,
    onProgress: (p) => progress.push(p),
  });
  const shards = await verifyPacked(dst.path, files, {
    labels: true,
    shardBytes: Math.floor(SHARD_MB * 2 ** 20),
  });
  assert.equal(res.samples, SIZES.length);
  assert.equal(res.shards, shards.length);
  assert.ok(res.shards >= 4, `${res.shards} shards`);
  assert.equal(res.bytes, SIZES.reduce((a, b) => a + b));
  assert.equal(res.labels, 3);
  assert.equal(res.manifestPath, `${dst.path}/_mx8/manifest.tsv`);
  assert.match(res.manifestHash, /^[0-9a-f]{64}$/);
  let total = 0;
  for (const s of shards) {
    total += (await Deno.stat(`${dst.path}/shards/${s}`)).size;
  }
  assert.equal(res.shardBytes, total);
  const last = progress.at(-1)!;
  assert.equal(progress[0].filesDone, 0);
  assert.equal(last.filesDone, SIZES.length);
  assert.equal(last.bytesDone, res.bytes);
  assert.equal(last.bytesTotal, res.bytes);
  assert.equal(last.shardsDone, res.shards);
});

Deno.test("pack: the same input twice gives byte-identical shards and manifest", async () => {
  await using src = await tempDir();
  await using a = await tempDir();
  await using b = await tempDir();
  await writeTree(src.path, dataset(SIZES));
  const ra = await pack(src.path, { out: a.path, shardMb: SHARD_MB });
  const rb = await pack(src.path, {
    out: b.path,
    shardMb: SHARD_MB,
    concurrency: 1,
  });
  assert.equal(ra.manifestHash, rb.manifestHash);
  assert.deepEqual(await readPackedTree(a.path), await readPackedTree(b.path));
});

Deno.test("pack: label modes", async () => {
  await using t = await tempDir();
  const flat = dataset([10, 20, 30], [""]);
  const oneClass = dataset([10, 20], ["only"]);
  const mixed = {
    ...dataset([10, 20], ["cat", "dog"]),
    "deep/x/y.jpg": bytesOf(5, 9),
  };
  await writeTree(`${t.path}/flat`, flat);
  await writeTree(`${t.path}/one`, oneClass);
  await writeTree(`${t.path}/mixed`, mixed);
  await writeTree(`${t.path}/if`, dataset([10, 20, 30]));

  const none = await pack(`${t.path}/if`, {
    out: `${t.path}/o1`,
    labelMode: "none",
  });
  assert.equal(none.labels, 0);
  await verifyPacked(`${t.path}/o1`, dataset([10, 20, 30]), { labels: false });

  for (
    const [name, files] of [["flat", flat], ["one", oneClass], [
      "mixed",
      mixed,
    ]] as const
  ) {
    const r = await pack(`${t.path}/${name}`, { out: `${t.path}/o-${name}` });
    assert.equal(r.labels, 0, name);
    await verifyPacked(`${t.path}/o-${name}`, files, { labels: false });
  }
  const single = await pack(`${t.path}/one`, {
    out: `${t.path}/o-one-if`,
    labelMode: "imagefolder",
  });
  assert.equal(single.labels, 1);
  await assert.rejects(
    pack(`${t.path}/mixed`, { out: `${t.path}/o2`, labelMode: "imagefolder" }),
    /"deep\/x\/y\.jpg" is nested deeper/,
  );
  await assert.rejects(Deno.stat(`${t.path}/o2`), "nothing written");
});

Deno.test("pack: files larger than a read piece are read in ranges", async () => {
  await using src = await tempDir();
  await using dst = await tempDir();
  const files = {
    "a/big.bin": bytesOf(9 * 2 ** 20 + 123, 1),
    "a/small.txt": bytesOf(100, 2),
    "b/huge.bin": bytesOf(17 * 2 ** 20, 3),
  };
  await writeTree(src.path, files);
  const res = await pack(src.path, { out: dst.path, shardMb: 12 });
  assert.equal(res.shards, 2);
  await verifyPacked(dst.path, files, { labels: true });
});

Deno.test("pack: an existing manifest needs overwrite; overwrite drops stale shards", async () => {
  await using src = await tempDir();
  await using dst = await tempDir();
  const files = dataset(SIZES);
  await writeTree(src.path, files);
  const first = await pack(src.path, { out: dst.path, shardMb: SHARD_MB });
  await assert.rejects(
    pack(src.path, { out: dst.path }),
    (err) =>
      err instanceof Mx8Error &&
      err.message ===
        `${dst.path}/_mx8/manifest.tsv already exists: pass --overwrite to replace the packed dataset at ${dst.path}`,
  );
  const second = await pack(src.path, {
    out: dst.path,
    overwrite: true,
    labelMode: "none",
  });
  assert.ok(first.shards > 1);
  assert.equal(second.shards, 1);
  assert.notEqual(second.manifestHash, first.manifestHash);
  await verifyPacked(dst.path, files, { labels: false });
});

Deno.test("pack: DST = SRC packs in place and repacks to the same hash; DST inside SRC is refused", async () => {
  await using src = await tempDir();
  const files = dataset([10, 2000, 30]);
  await writeTree(src.path, files);
  const a = await pack(src.path, { out: src.path, shardMb: 0.002 });
  await verifyPacked(src.path, files, { labels: true });
  const b = await pack(`${src.path}/`, {
    out: src.path,
    shardMb: 0.002,
    overwrite: true,
  });
  assert.equal(a.manifestHash, b.manifestHash);
  await assert.rejects(
    pack(src.path, { out: `${src.path}/packed` }),
    /--out .*\/packed is inside --in/,
  );
  await assert.rejects(
    pack(`${src.path}/shards`, { out: src.path, overwrite: true }),
    /is inside .*shards\/ or .*_mx8\/, which pack overwrites/,
  );
});

Deno.test("pack: bad input fails before anything is written", async () => {
  await using t = await tempDir();
  await writeTree(t.path, {
    "zero/a/1.jpg": "x",
    "zero/b/2.jpg": "",
    "empty/_mx8/manifest.tsv": "schema_version=0\n",
    "empty/shards/shard-00000.tar": "x",
    "link/a.jpg": "x",
  });
  await Deno.symlink(`${t.path}/nowhere`, `${t.path}/link/b.jpg`);
  const out = `${t.path}/out`;
  await assert.rejects(
    pack(`${t.path}/zero`, { out }),
    (err) =>
      err instanceof Mx8Error &&
      err.message.startsWith(
        `Cannot pack ${t.path}/zero/b/2.jpg: the file is empty`,
      ),
  );
  await assert.rejects(
    pack(`${t.path}/empty`, { out }),
    new RegExp(
      `No files to pack under ${t.path}/empty \\(_mx8/ and shards/ are skipped\\)`,
    ),
  );
  await assert.rejects(
    pack(`${t.path}/link`, { out }),
    (err) =>
      err instanceof PathError &&
      /Cannot stat .*link\/b\.jpg: no such file/.test(err.message),
  );
  await assert.rejects(
    pack(`${t.path}/missing`, { out }),
    /Cannot read directory .*missing: no such file/,
  );
  await assert.rejects(Deno.stat(out), "nothing was written");
});

Deno.test("pack: a local pack stopped midway leaves the old dataset as it was and no staging file", async () => {
  await using src = await tempDir();
  await using dst = await tempDir();
  await writeTree(src.path, dataset(SIZES));
  await pack(src.path, { out: dst.path, shardMb: SHARD_MB });
  const snapshot = async () => {
    const out: Record<string, string> = {};
    for (const dir of ["_mx8", "shards"]) {
      for await (const e of Deno.readDir(`${dst.path}/${dir}`)) {
        const bytes = await Deno.readFile(`${dst.path}/${dir}/${e.name}`);
        out[`${dir}/${e.name}`] = await sha256HexAsync(bytes);
      }
    }
    return out;
  };
  const before = await snapshot();
  // Another source: had the stopped pack written into the shards in place,
  // their bytes would differ.
  await Deno.writeFile(
    `${src.path}/${Object.keys(dataset(SIZES))[0]}`,
    new Uint8Array(SIZES[0]).fill(7),
  );
  const ac = new AbortController();
  await assert.rejects(
    pack(src.path, {
      out: dst.path,
      overwrite: true,
      shardMb: SHARD_MB,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.filesDone === 3) ac.abort(new Mx8Error("stopped by the test"));
      },
    }),
    /stopped by the test/,
  );
  assert.deepEqual(await snapshot(), before);
});

Deno.test("pack: option values are checked", async () => {
  await assert.rejects(pack("/x", { out: "/y", shardMb: 0 }), RangeError);
  await assert.rejects(pack("/x", { out: "/y", shardMb: NaN }), RangeError);
  await assert.rejects(pack("/x", { out: "/y", concurrency: 0 }), RangeError);
  await assert.rejects(
    pack("/x", { out: "/y", labelMode: "folders" as "auto" }),
    RangeError,
  );
  await assert.rejects(pack("/x", { out: "" }), TypeError);
});
