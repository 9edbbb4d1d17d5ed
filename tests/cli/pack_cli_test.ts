import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { lastLine, runMx8 } from "../_helpers/mx8.ts";
import { startS3 } from "../_helpers/s3rver.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";

const FILES = {
  "cat/1.jpg": "one",
  "cat/2.jpg": "two!",
  "dog/3.jpg": "three",
  "dog/4.png": "four4",
};
const LAST =
  /^samples=(\d+) shards=(\d+) bytes=(\d+) manifest_hash=([0-9a-f]{64}) manifest=(.+)$/;

function assertOneLineError(stderr: string, re: RegExp): void {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.match(lines[0], re);
  assert.ok(!/\bat .*:\d+:\d+/.test(stderr), "no stack trace");
}

Deno.test("mx8 pack: last line, quiet stderr off a terminal, and mx8 resolve agrees on the hash", async () => {
  await using src = await tempDir();
  await using dst = await tempDir();
  await using st = await tempDir();
  await writeTree(src.path, FILES);
  const res = await runMx8([
    "pack",
    "--in",
    src.path,
    "--out",
    dst.path,
    "--shard-mb",
    "0.003", // 3145 bytes: two 1 KiB entries + end blocks per shard
  ]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stderr, "");
  const m = LAST.exec(lastLine(res.stdout));
  assert.ok(m, res.stdout);
  const [, samples, shards, bytes, hash, manifest] = m;
  assert.equal(samples, "4");
  assert.equal(shards, "2");
  assert.equal(bytes, String(3 + 4 + 5 + 5));
  assert.equal(manifest, `${dst.path}/_mx8/manifest.tsv`);

  const resolved = await runMx8(["resolve", dst.path], {
    MX8_MANIFEST_STORE: st.path,
  });
  assert.equal(resolved.code, 0, resolved.stderr);
  assert.equal(lastLine(resolved.stdout), `manifest_hash=${hash} samples=4`);
});

Deno.test("mx8 pack: local → s3 prints the S3 manifest and the same hash", async () => {
  await using src = await tempDir();
  await using dst = await tempDir();
  await using st = await tempDir();
  await using s3 = await startS3(["packed"]);
  await writeTree(src.path, FILES);
  const local = await runMx8(["pack", "--in", src.path, "--out", dst.path]);
  const remote = await runMx8(
    [
      "pack",
      "--in",
      src.path,
      "--out",
      "s3://packed/train",
      "--concurrency",
      "2",
    ],
    s3.env,
  );
  assert.equal(remote.code, 0, remote.stderr);
  const h = LAST.exec(lastLine(local.stdout))![4];
  assert.equal(
    lastLine(remote.stdout),
    `samples=4 shards=1 bytes=17 manifest_hash=${h} manifest=s3://packed/train/_mx8/manifest.tsv`,
  );
  const resolved = await runMx8(["resolve", "s3://packed/train"], {
    ...s3.env,
    MX8_MANIFEST_STORE: st.path,
  });
  assert.equal(lastLine(resolved.stdout), `manifest_hash=${h} samples=4`);
});

Deno.test("mx8 pack: bad input is one clear line and exit 1, with no manifest left", async () => {
  await using t = await tempDir();
  await using s3 = await startS3(["raw"]);
  await s3.client.send(
    new PutObjectCommand({
      Bucket: "raw",
      Key: "zero/a/1.jpg",
      Body: new Uint8Array(0),
    }),
  );
  const p = t.path;
  await writeTree(p, {
    "zero/a/1.jpg": "x",
    "zero/b/2.jpg": "",
    "flat/1.jpg": "x",
    "flat/a/2.jpg": "y",
    "ok/a/1.jpg": "x",
    "ok/b/1.jpg": "y",
    "empty/_mx8/manifest.tsv": "schema_version=0\n",
    "link/a.jpg": "x",
  });
  await Deno.symlink(`${p}/nowhere`, `${p}/link/b.jpg`);
  await writeTree(`${p}/packed`, {});
  const ok = await runMx8(["pack", "--in", `${p}/ok`, "--out", `${p}/packed`]);
  assert.equal(ok.code, 0, ok.stderr);

  const cases: [string[], RegExp][] = [
    [
      ["--in", `${p}/zero`, "--out", `${p}/o1`],
      /^mx8 pack: error: Cannot pack .*\/zero\/b\/2\.jpg: the file is empty \(0 bytes\)/,
    ],
    [
      // Tests run as root, so chmod 000 cannot make a file unreadable; a
      // dangling symlink is a file that cannot be read.
      ["--in", `${p}/link`, "--out", `${p}/o2`],
      /^mx8 pack: error: Cannot stat .*\/link\/b\.jpg: no such file or directory/,
    ],
    [
      ["--in", `${p}/flat`, "--out", `${p}/o3`, "--label-mode", "imagefolder"],
      /needs every file at <class>\/<file>, but "1\.jpg" is not inside a class folder/,
    ],
    [
      ["--in", p, "--out", `${p}/ok/out`],
      /--out .*\/ok\/out is inside --in /,
    ],
    [
      ["--in", `${p}/ok`, "--out", `${p}/packed`],
      /packed\/_mx8\/manifest\.tsv already exists: pass --overwrite/,
    ],
    [
      ["--in", `${p}/empty`, "--out", `${p}/o4`],
      /No files to pack under .*\/empty/,
    ],
    [
      ["--in", `${p}/missing`, "--out", `${p}/o5`],
      /Cannot read directory .*\/missing: no such file/,
    ],
    [
      ["--in", "s3://missing-bucket/train", "--out", `${p}/o6`],
      /S3 ListObjectsV2 s3:\/\/missing-bucket\/train\/ failed: NoSuchBucket/,
    ],
    [
      ["--in", `${p}/ok`, "--out", "s3://missing-bucket/out"],
      /S3 ListObjectsV2 s3:\/\/missing-bucket\/out\/_mx8\/manifest\.tsv failed: NoSuchBucket/,
    ],
    [
      ["--in", "s3://raw/zero", "--out", `${p}/o7`],
      /Cannot pack s3:\/\/raw\/zero\/a\/1\.jpg: the file is empty/,
    ],
  ];
  for (const [args, re] of cases) {
    const res = await runMx8(["pack", ...args], s3.env);
    assert.equal(res.code, 1, `${args.join(" ")}: ${res.stderr}`);
    assertOneLineError(res.stderr, re);
    assert.equal(res.stdout, "");
  }
  for (const o of ["o1", "o2", "o3", "o4", "o5", "o6", "o7"]) {
    await assert.rejects(Deno.stat(`${p}/${o}/_mx8/manifest.tsv`), o);
  }
});

Deno.test("mx8 pack: flag mistakes are usage errors (exit 2)", async () => {
  const cases: [string[], RegExp][] = [
    [["--out", "/tmp/x"], /missing --in SRC/],
    [["--in", "/tmp/x"], /missing --out DST/],
    [
      ["--in", "a", "--out", "b", "--shard-mb", "0"],
      /--shard-mb must be a number > 0, got "0"/,
    ],
    [
      ["--in", "a", "--out", "b", "--shard-mb", "lots"],
      /--shard-mb must be a number > 0/,
    ],
    // Positive but too small for one tar entry (was an internal error), or absurd.
    ...["1e-9", "0.0001", "1e300", "6000000"].map((v): [string[], RegExp] => [
      ["--in", "a", "--out", "b", "--shard-mb", v],
      new RegExp(
        `--shard-mb must be a number of MiB in 0\\.001953125\\.\\.5242880 \\(2 KiB\\.\\.5 TiB\\), got "${v}"`,
      ),
    ]),
    [
      ["--in", "a", "--out", "b", "--concurrency", "1.5"],
      /--concurrency must be a whole number/,
    ],
    [
      ["--in", "a", "--out", "b", "--label-mode", "dirs"],
      /--label-mode must be one of auto\|imagefolder\|none, got "dirs"/,
    ],
    [["--in", "a", "--out", "b", "extra"], /unexpected argument "extra"/],
    [["--in", "a", "--out", "b", "--bogus"], /bogus/],
  ];
  for (const [args, re] of cases) {
    const res = await runMx8(["pack", ...args]);
    assert.equal(res.code, 2, `${args.join(" ")}: ${res.stderr}`);
    assertOneLineError(res.stderr, re);
    assert.match(res.stderr, /see mx8 pack --help/);
  }
  const help = await runMx8(["pack", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage:\n {2}mx8 pack --in SRC --out DST/m);
});
