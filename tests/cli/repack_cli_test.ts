/**
 * `mx8 pack --overwrite` and what links resolve to afterwards: a plain link
 * never serves the old manifest over new shards, an interrupted overwrite
 * leaves no dataset, and two packs to one destination never mix.
 */
import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { lastLine, mx8Args, runMx8 } from "../_helpers/mx8.ts";
import { startS3 } from "../_helpers/s3rver.ts";
import { startFaultyProxy } from "../_helpers/faulty_proxy.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";
import { contentsOf, readAllSamples } from "../_helpers/read_samples.ts";

const PACKED = /manifest_hash=([0-9a-f]{64})/;
const RESOLVED = /^manifest_hash=([0-9a-f]{64}) samples=(\d+)$/;

function hashOf(stdout: string): string {
  const m = PACKED.exec(lastLine(stdout));
  assert.ok(m, stdout);
  return m[1];
}

Deno.test("mx8 resolve: a plain link follows mx8 pack --overwrite, never the old manifest", async () => {
  await using src = await tempDir();
  await using dst = await tempDir();
  await using st = await tempDir();
  const env = { MX8_MANIFEST_STORE: st.path };
  await writeTree(src.path, {
    "cat/1.jpg": "one",
    "cat/2.jpg": "two!",
    "dog/3.jpg": "three",
    "dog/4.jpg": "four4",
  });
  const first = await runMx8(["pack", "--in", src.path, "--out", dst.path]);
  assert.equal(first.code, 0, first.stderr);
  const h1 = hashOf(first.stdout);
  const r1 = await runMx8(["resolve", dst.path], env);
  assert.equal(lastLine(r1.stdout), `manifest_hash=${h1} samples=4`);

  // One image changes class: other label ids and other byte offsets.
  await Deno.rename(`${src.path}/cat/1.jpg`, `${src.path}/dog/1.jpg`);
  const second = await runMx8([
    "pack",
    "--in",
    src.path,
    "--out",
    dst.path,
    "--overwrite",
  ]);
  assert.equal(second.code, 0, second.stderr);
  const h2 = hashOf(second.stdout);
  assert.notEqual(h2, h1);
  const r2 = await runMx8(["resolve", dst.path], env);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(lastLine(r2.stdout), `manifest_hash=${h2} samples=4`);
  assert.match(r2.stdout, /indexed=true/);
  // Unchanged since: reused, not re-indexed.
  const r3 = await runMx8(["resolve", dst.path], env);
  assert.equal(lastLine(r3.stdout), `manifest_hash=${h2} samples=4`);
  assert.match(r3.stdout, /indexed=false/);
  // The old snapshot, pinned, no longer matches the shards under dst.
  const pinned = await runMx8(["resolve", `${dst.path}@sha256:${h1}`], env);
  assert.equal(pinned.code, 1);
  assert.match(
    pinned.stderr,
    new RegExp(
      `holds manifest sha256:${h2} \\(it was repacked\\).*sha256:${h1}`,
    ),
  );
});

Deno.test("mx8 resolve: an overwrite killed mid-way leaves the old dataset whole (local) or no dataset (S3), never the old manifest over new shards", async () => {
  await using st = await tempDir();
  await using s3 = await startS3(["raw", "out"]);
  const env = { ...s3.env, MX8_MANIFEST_STORE: st.path };
  const old: Record<string, string> = {};
  for (let i = 0; i < 6; i++) {
    old[`${i % 2 ? "cat" : "dog"}/${i}.jpg`] = `old sample ${i}`;
  }
  await putObjects(s3, "raw", prefixed("a", old));
  for (let i = 0; i < 6; i++) {
    await putObjects(s3, "raw", {
      [`b/${i % 3 ? "ant" : "bee"}/${i}.jpg`]: `new sample number ${i}`,
    });
  }
  await using local = await tempDir();
  for (const dst of [local.path, "s3://out/train"]) {
    const first = await runMx8(
      ["pack", "--in", "s3://raw/a", "--out", dst],
      env,
    );
    assert.equal(first.code, 0, first.stderr);
    const h1 = hashOf(first.stdout);
    const r1 = await runMx8(["resolve", dst], env);
    assert.equal(lastLine(r1.stdout), `manifest_hash=${h1} samples=6`);

    // The overwrite stalls on its third object GET, shard 0 being written,
    // and is killed.
    {
      await using _ = await stalledPack(s3.env, s3.endpoint, "raw/b", dst);
    }
    if (dst === local.path) {
      // Locally shards are staged under private names: the old dataset is
      // untouched, every sample still its old bytes.
      await Deno.stat(`${dst}/_mx8/manifest.tsv`);
      const names = await Array.fromAsync(Deno.readDir(`${dst}/shards`));
      assert.ok(
        names.some((e) =>
          /^shard-00000\.tar\.[0-9a-f-]+\.partial$/.test(e.name)
        ),
        JSON.stringify(names),
      );
      const plain = await runMx8(["resolve", dst], env);
      assert.equal(lastLine(plain.stdout), `manifest_hash=${h1} samples=6`);
      const pinned = await runMx8(["resolve", `${dst}@sha256:${h1}`], env);
      assert.equal(pinned.code, 0, pinned.stderr);
      assert.deepEqual(
        await readAllSamples(`${dst}@sha256:${h1}`, st.path),
        contentsOf(old),
      );
      continue;
    }
    // On S3 shards are written under their final keys: the old manifest
    // went first.
    const plain = await runMx8(["resolve", dst], env);
    assert.equal(plain.code, 1, plain.stdout);
    assert.match(plain.stderr, /No objects found under/);
    const pinned = await runMx8(["resolve", `${dst}@sha256:${h1}`], env);
    assert.equal(pinned.code, 1, pinned.stdout);
    assert.match(pinned.stderr, /has no manifest \(a pack is rewriting it/);
    assert.ok(!RESOLVED.test(lastLine(plain.stdout)));
  }
  // The next pack to the local destination removes the killed one's
  // staging file.
  const again = await runMx8(
    ["pack", "--in", "s3://raw/a", "--out", local.path, "--overwrite"],
    env,
  );
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(
    (await Array.fromAsync(Deno.readDir(`${local.path}/shards`))).map((e) =>
      e.name
    ),
    ["shard-00000.tar"],
  );
});

function prefixed(
  prefix: string,
  files: Record<string, string>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(files).map(([k, v]) => [`${prefix}/${k}`, v]),
  );
}

/** Starts `mx8 pack` from an S3 prefix whose object GETs stall after the first two. */
async function stalledPack(
  s3env: Record<string, string>,
  endpoint: string,
  src: string,
  out: string,
) {
  let gets = 0;
  const proxy = await startFaultyProxy(endpoint, {
    fail: () => null,
    hold: (_n, method, url) =>
      method === "GET" && url.includes(`/${src}/`) && ++gets > 2,
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: mx8Args([
      "pack",
      "--in",
      `s3://${src}`,
      "--out",
      out,
      "--overwrite",
      "--concurrency",
      "1",
    ]),
    env: { ...s3env, MX8_S3_ENDPOINT: proxy.endpoint },
    stdout: "null",
    stderr: "null",
  }).spawn();
  while (gets <= 2) await new Promise((r) => setTimeout(r, 20));
  return {
    pid: child.pid,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await child.status;
      await proxy.close();
    },
  };
}

async function putObjects(
  s3: { client: import("@aws-sdk/client-s3").S3Client },
  bucket: string,
  files: Record<string, string>,
) {
  for (const [key, body] of Object.entries(files)) {
    await s3.client.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }),
    );
  }
}

Deno.test("mx8 pack: a second pack to a locked destination fails naming the lock; a dead holder's lock is taken over", async () => {
  await using src = await tempDir();
  await using dst = await tempDir();
  await using s3 = await startS3(["raw", "out"]);
  await putObjects(s3, "raw", {
    "a/cat/1.jpg": "one",
    "a/dog/2.jpg": "two",
    "a/dog/3.jpg": "three",
  });
  await writeTree(src.path, { "x/1.jpg": "111", "y/2.jpg": "2222" });
  for (const out of [dst.path, "s3://out/train"]) {
    {
      await using holder = await stalledPack(s3.env, s3.endpoint, "raw/a", out);
      const second = await runMx8(
        ["pack", "--in", src.path, "--out", out, "--overwrite"],
        s3.env,
      );
      assert.equal(second.code, 1, `${out}: ${second.stdout}`);
      assert.match(
        second.stderr,
        new RegExp(
          `Another pack is writing this destination: .*_mx8/\\.pack\\.lock is held by pid ${holder.pid} on .*if that pack is gone, delete`,
        ),
      );
      assert.equal(second.stderr.trim().split("\n").length, 1, second.stderr);
    }
    // The holder was killed: its lock names a process of this host that is
    // gone, so it is stale at once.
    const third = await runMx8(
      ["pack", "--in", src.path, "--out", out, "--overwrite"],
      s3.env,
    );
    assert.equal(third.code, 0, third.stderr);
    const h = hashOf(third.stdout);
    await using st = await tempDir();
    const r = await runMx8(["resolve", out], {
      ...s3.env,
      MX8_MANIFEST_STORE: st.path,
    });
    assert.equal(lastLine(r.stdout), `manifest_hash=${h} samples=2`);
  }
  await assert.rejects(Deno.stat(`${dst.path}/_mx8/.pack.lock`));
});

Deno.test("mx8 pack: two packs racing to one destination never leave a mix", async () => {
  await using a = await tempDir();
  await using b = await tempDir();
  await using dst = await tempDir();
  const files = (tag: string, classes: string[]) => {
    const out: Record<string, string> = {};
    for (let i = 0; i < 300; i++) {
      out[`${classes[i % classes.length]}/${i}.jpg`] = `${tag} ${i} `.repeat(
        1 + (i % 7),
      );
    }
    return out;
  };
  const filesA = files("a", ["cat", "dog"]);
  const filesB = files("bee", ["ant", "bee", "cow"]);
  await writeTree(a.path, filesA);
  await writeTree(b.path, filesB);
  // Each source packed alone: the only two acceptable outcomes.
  const alone = new Map<string, string>();
  for (const src of [a.path, b.path]) {
    await using out = await tempDir();
    const r = await runMx8([
      "pack",
      "--in",
      src,
      "--out",
      out.path,
      "--shard-mb",
      "0.01",
    ]);
    alone.set(src, hashOf(r.stdout));
  }
  for (let trial = 0; trial < 3; trial++) {
    const run = (src: string) =>
      runMx8([
        "pack",
        "--in",
        src,
        "--out",
        dst.path,
        "--overwrite",
        "--shard-mb",
        "0.01",
      ]);
    const [ra, rb] = await Promise.all([run(a.path), run(b.path)]);
    for (const r of [ra, rb]) {
      if (r.code !== 0) assert.match(r.stderr, /Another pack is writing/);
    }
    assert.ok(ra.code === 0 || rb.code === 0, ra.stderr + rb.stderr);
    await using st = await tempDir();
    const res = await runMx8(["resolve", dst.path], {
      MX8_MANIFEST_STORE: st.path,
    });
    assert.equal(res.code, 0, res.stderr);
    const h = RESOLVED.exec(lastLine(res.stdout))![1];
    // The manifest on disk is one of the two, and its labels came with it.
    const labels = await Deno.readTextFile(`${dst.path}/_mx8/labels.tsv`);
    if (h === alone.get(a.path)) assert.match(labels, /\tcat\n1\tdog\n$/);
    else {
      assert.equal(h, alone.get(b.path));
      assert.match(labels, /\tant\n1\tbee\n2\tcow\n$/);
    }
    // And every shard byte came with them: each sample is its source's.
    assert.deepEqual(
      await readAllSamples(dst.path, st.path),
      contentsOf(h === alone.get(a.path) ? filesA : filesB),
    );
  }
});
