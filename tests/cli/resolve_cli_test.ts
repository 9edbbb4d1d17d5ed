import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { lastLine, MAIN_TS, mx8Args, runMx8 } from "../_helpers/mx8.ts";
import { startS3 } from "../_helpers/s3rver.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";

const FILES = { "cat/1.jpg": "one", "dog/2.jpg": "two!", "dog/3.jpg": "three" };
const LAST = /^manifest_hash=([0-9a-f]{64}) samples=(\d+)$/;

function assertOneLineError(stderr: string, re: RegExp): void {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.match(lines[0], re);
  assert.ok(!/\bat .*:\d+:\d+/.test(stderr), "no stack trace");
}

Deno.test("mx8 resolve: dir, .tsv and s3 prefix print the same manifest_hash", async () => {
  await using data = await tempDir();
  await using st = await tempDir();
  await using s3 = await startS3(["rawdata"]);
  await writeTree(data.path, FILES);
  const env = { ...s3.env, MX8_MANIFEST_STORE: st.path };
  const dir = await runMx8(["resolve", data.path], env);
  assert.equal(dir.code, 0, dir.stderr);
  const [, hash, samples] = LAST.exec(lastLine(dir.stdout))!;
  assert.equal(samples, "3");

  const tsvPath = `${st.path}/copy.tsv`;
  await Deno.writeFile(
    tsvPath,
    await Deno.readFile(`${st.path}/by-hash/${hash}`),
  );
  const tsv = await runMx8(["resolve", tsvPath], env);
  assert.equal(LAST.exec(lastLine(tsv.stdout))?.[1], hash, tsv.stderr);

  for (const [k, v] of Object.entries(FILES)) {
    await s3.client.send(
      new PutObjectCommand({ Bucket: "rawdata", Key: `train/${k}`, Body: v }),
    );
  }
  const remote = await runMx8(["resolve", "s3://rawdata/train@refresh"], env);
  assert.equal(remote.code, 0, remote.stderr);
  assert.equal(LAST.exec(lastLine(remote.stdout))?.[1], hash);

  const pinned = await runMx8(
    ["resolve", `s3://rawdata/train@sha256:${hash}`],
    env,
  );
  assert.equal(lastLine(pinned.stdout), `manifest_hash=${hash} samples=3`);
});

Deno.test("mx8 resolve: an S3 store works through --manifest-store", async () => {
  await using data = await tempDir();
  await using s3 = await startS3(["mx8store"]);
  await writeTree(data.path, FILES);
  const res = await runMx8([
    "resolve",
    data.path,
    "--manifest-store",
    "s3://mx8store/m",
  ], s3.env);
  assert.equal(res.code, 0, res.stderr);
  assert.match(lastLine(res.stdout), LAST);
});

Deno.test("mx8 resolve: bad input is one clear line and exit 1", async () => {
  await using data = await tempDir();
  await using st = await tempDir();
  await using s3 = await startS3([]);
  const env = { ...s3.env, MX8_MANIFEST_STORE: st.path };
  const h = "ef".repeat(32);
  await writeTree(data.path, {
    "bad.tsv": "schema_version=0\n0\ta.jpg\t\t\t\n1\tb.jpg\t7\t\t\n",
    "dup.tsv": "schema_version=0\n0\ta.jpg\t\t\t\n0\tb.jpg\t\t\t\n",
  });
  const cases: [string[], RegExp][] = [
    [
      ["resolve", `${data.path}/bad.tsv`],
      /bad\.tsv:3: byte_offset and byte_length must both be present/,
    ],
    [["resolve", `${data.path}/dup.tsv`], /dup\.tsv:3: duplicate sample_id 0/],
    [
      ["resolve", `/x@sha256:${h}`],
      new RegExp(`sha256:${h} is not in the manifest store ${st.path}`),
    ],
    [["resolve", `/x@sha256:../../etc/passwd`], /malformed hash/],
    [
      ["resolve", `${data.path}/missing`],
      /Cannot read dataset .*missing: no such file/,
    ],
    [
      ["resolve", "s3://missing-bucket/p"],
      /S3 GetObject s3:\/\/missing-bucket\/p\/_mx8\/manifest\.tsv failed: NoSuchBucket/,
    ],
  ];
  for (const [args, re] of cases) {
    const res = await runMx8(args, env);
    assert.equal(res.code, 1, `${args.join(" ")}: ${res.stderr}`);
    assertOneLineError(res.stderr, re);
  }
});

Deno.test("mx8 resolve: an unreachable S3 endpoint names the endpoint", async () => {
  const res = await runMx8([
    "resolve",
    "s3://b/p",
    "--manifest-store",
    "/tmp/mx8-unused",
  ], {
    MX8_S3_ENDPOINT: "http://127.0.0.1:9",
    AWS_ACCESS_KEY_ID: "x",
    AWS_SECRET_ACCESS_KEY: "y",
  });
  assert.equal(res.code, 1);
  assertOneLineError(
    res.stderr,
    /s3:\/\/b\/p\/_mx8\/manifest\.tsv failed: .*cannot reach http:\/\/127\.0\.0\.1:9/,
  );
});

Deno.test("mx8 resolve: two concurrent @refresh runs index once and agree on the hash", async () => {
  await using data = await tempDir();
  await using st = await tempDir();
  await writeTree(data.path, FILES);
  const spawn = (hold: string) =>
    new Deno.Command(Deno.execPath(), {
      args: mx8Args(["resolve", `${data.path}@refresh`]),
      env: {
        MX8_MANIFEST_STORE: st.path,
        MX8_INDEX_HOLD_MS: hold,
        NO_COLOR: "1",
      },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  const a = spawn("1500");
  // Start the second once the first holds the lock.
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const locks = await Array.fromAsync(Deno.readDir(`${st.path}/locks`)).catch(
      () => [],
    );
    if (locks.some((e) => e.name.endsWith(".lock"))) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const b = spawn("0");
  const [ra, rb] = await Promise.all([a.output(), b.output()]);
  const dec = new TextDecoder();
  const outA = dec.decode(ra.stdout);
  const outB = dec.decode(rb.stdout);
  assert.equal(ra.code, 0, dec.decode(ra.stderr));
  assert.equal(rb.code, 0, dec.decode(rb.stderr));
  assert.equal(lastLine(outA), lastLine(outB));
  assert.match(outA, /indexed=true/);
  assert.match(
    outB,
    /indexed=false/,
    "the waiter reuses the index made while it waited",
  );
  assert.match(dec.decode(rb.stderr), /waiting for another indexer/);
  assert.equal(
    (await Array.fromAsync(Deno.readDir(`${st.path}/by-hash`))).length,
    1,
  );
});

Deno.test("mx8 --help lists every subcommand; each has --help; --version matches deno.json", async () => {
  const top = await runMx8(["--help"]);
  assert.equal(top.code, 0);
  for (const c of ["coordinator", "agent", "pack", "tui", "resolve", "demo"]) {
    assert.match(top.stdout, new RegExp(`^  ${c} `, "m"));
    const sub = await runMx8([c, "--help"]);
    assert.equal(sub.code, 0, c);
    assert.match(sub.stdout, new RegExp(`Usage:\\n  mx8 ${c}`));
  }
  const v = await runMx8(["--version"]);
  const json = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  );
  assert.equal(v.stdout.trim(), `mx8 ${json.version}`);
  assert.ok(MAIN_TS.endsWith("main.ts"));
});

Deno.test("mx8: unknown commands and flags are usage errors (exit 2)", async () => {
  const unknown = await runMx8(["frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  const flag = await runMx8(["resolve", "--bogus", "x"]);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /mx8 resolve: .*bogus.*see mx8 resolve --help/);
  const missing = await runMx8(["resolve"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /missing LINK/);
});
