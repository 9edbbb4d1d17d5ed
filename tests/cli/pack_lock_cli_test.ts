/**
 * The destination lock of `mx8 pack` against a holder that loses it: a
 * pack that stalled past the stale time and resumes after another pack
 * committed never touches the committed dataset; holders in another PID
 * namespace or behind a reused pid are judged right.
 */
import assert from "node:assert/strict";
import { lastLine, mx8Args, runMx8 } from "../_helpers/mx8.ts";
import { startS3 } from "../_helpers/s3rver.ts";
import { startFaultyProxy } from "../_helpers/faulty_proxy.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";
import { contentsOf, readAllSamples } from "../_helpers/read_samples.ts";
import { PutObjectCommand } from "@aws-sdk/client-s3";

/** `n` files in two classes, each 3000 bytes naming `tag` and its index. */
function tree(tag: string, n: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    out[`c${i % 2}/${String(i).padStart(4, "0")}.bin`] = `${tag}${
      String(i).padStart(4, "0")
    } `.repeat(500);
  }
  return out;
}

async function shardNames(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(`${dir}/shards`)))
      .map((e) => e.name).sort();
  } catch {
    return [];
  }
}

Deno.test("mx8 pack: a pack whose lock was taken over while it stalled never touches the dataset the other pack committed", async () => {
  await using b = await tempDir();
  await using dst = await tempDir();
  await using st = await tempDir();
  await using s3 = await startS3(["raw"]);
  const filesA = tree("A", 60);
  const filesB = tree("B", 60);
  for (const [rel, body] of Object.entries(filesA)) {
    await s3.client.send(
      new PutObjectCommand({ Bucket: "raw", Key: `a/${rel}`, Body: body }),
    );
  }
  await writeTree(b.path, filesB);
  // Pack A reads its source slowly (30 ms a GET) so it can be stopped
  // mid-way, after its second shard was started.
  await using proxy = {
    p: await startFaultyProxy(s3.endpoint, { fail: () => null, delayMs: 30 }),
    async [Symbol.asyncDispose]() {
      await this.p.close();
    },
  };
  const a = new Deno.Command(Deno.execPath(), {
    args: mx8Args([
      "pack",
      "--in",
      "s3://raw/a",
      "--out",
      dst.path,
      "--shard-mb",
      "0.02",
      "--concurrency",
      "1",
    ]),
    env: { ...s3.env, MX8_S3_ENDPOINT: proxy.p.endpoint, NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const aErr = new Response(a.stderr).text();
  let aExited = false;
  a.status.then(() => aExited = true);
  try {
    while (
      !(await shardNames(dst.path)).some((n) => n.startsWith("shard-00001"))
    ) {
      // A pack that ended before its second shard fails the test, not hangs it.
      if (aExited) {
        assert.fail(
          `pack A exited before its second shard: ${
            (await a.status).code
          }\n${await aErr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    a.kill("SIGSTOP");
    // A stalls past the stale time: its lock was last refreshed 2 min ago.
    const past = new Date(Date.now() - 120_000);
    await Deno.utime(`${dst.path}/_mx8/.pack.lock`, past, past);
    const packB = await runMx8([
      "pack",
      "--in",
      b.path,
      "--out",
      dst.path,
      "--overwrite",
      "--shard-mb",
      "0.02",
    ]);
    assert.equal(packB.code, 0, packB.stderr);
    const hashB =
      /manifest_hash=([0-9a-f]{64})/.exec(lastLine(packB.stdout))![1];
    a.kill("SIGCONT");
    const status = await a.status;
    assert.equal(status.code, 1, await aErr);
    assert.match(await aErr, /Lost the destination lock .*_mx8\/\.pack\.lock/);
    // Every sample is B's, byte for byte; no staging file is left.
    const r = await runMx8(["resolve", dst.path], {
      MX8_MANIFEST_STORE: st.path,
    });
    assert.equal(lastLine(r.stdout), `manifest_hash=${hashB} samples=60`);
    const read = await readAllSamples(dst.path, st.path);
    const notB = read.filter((s) => !s.startsWith("B")).map((s) =>
      s.slice(0, 5)
    );
    assert.deepEqual(
      notB,
      [],
      `${notB.length} of ${read.length} samples are not B's`,
    );
    assert.deepEqual(read, contentsOf(filesB));
    for (const name of await shardNames(dst.path)) {
      assert.match(name, /^shard-\d{5}\.tar$/);
    }
  } finally {
    try {
      a.kill("SIGKILL");
    } catch { /* exited */ }
    await a.status;
    await aErr;
  }
});

/** Writes a lock file as `mx8 pack` does, with the given owner fields. */
async function plantLock(dst: string, fields: Record<string, string | number>) {
  await Deno.mkdir(`${dst}/_mx8`, { recursive: true });
  await Deno.writeTextFile(
    `${dst}/_mx8/.pack.lock`,
    Object.entries({
      token: crypto.randomUUID(),
      since: new Date().toISOString(),
      ...fields,
    })
      .map(([k, v]) => `${k}=${v}\n`).join(""),
  );
}

Deno.test("mx8 pack: a fresh lock of a pack in another PID namespace on this host is honoured; a reused pid's is taken over", async () => {
  await using src = await tempDir();
  await using dst = await tempDir();
  await writeTree(src.path, { "x/1.jpg": "111", "y/2.jpg": "2222" });
  const host = Deno.hostname();
  const ns = Deno.statSync("/proc/self/ns/pid").ino!;
  // A container with the same host name: pid 999999 is not ours to judge.
  await plantLock(dst.path, { pid: 999999, host, pidns: ns + 1, start: "123" });
  const refused = await runMx8(["pack", "--in", src.path, "--out", dst.path]);
  assert.equal(refused.code, 1, refused.stdout);
  assert.match(
    refused.stderr,
    /Another pack is writing this destination: .*held by pid 999999/,
  );
  // This very process's pid, but started at another time: the holder is
  // gone and its pid was reused, so the lock is stale.
  await plantLock(dst.path, { pid: Deno.pid, host, pidns: ns, start: "1" });
  const taken = await runMx8(["pack", "--in", src.path, "--out", dst.path]);
  assert.equal(taken.code, 0, taken.stderr);
  await assert.rejects(Deno.stat(`${dst.path}/_mx8/.pack.lock`));
});

/** `faketime` (libfaketime) runs a process with a shifted clock. */
const faketimeMissing = await new Deno.Command("faketime", {
  args: ["-f", "+0s", "true"],
  stdout: "null",
  stderr: "null",
}).output().then((o) => !o.success, () => true);
if (faketimeMissing) {
  console.warn(
    "%cmx8 tests: the S3 clock-skew lock test is ignored: faketime is missing (apt-get install -y faketime).",
    "color: yellow",
  );
}

Deno.test({
  name:
    "mx8 pack: a fresh S3 lock is honoured by a pack whose local clock runs 2 minutes ahead (age is measured on the server's clock)",
  ignore: faketimeMissing,
  async fn() {
    await using src = await tempDir();
    await using s3 = await startS3(["out"]);
    await writeTree(src.path, { "x/1.jpg": "111", "y/2.jpg": "2222" });
    await s3.client.send(
      new PutObjectCommand({
        Bucket: "out",
        Key: "train/_mx8/.pack.lock",
        Body: `token=${crypto.randomUUID()}\npid=4242\nhost=another-host\n` +
          `since=${new Date().toISOString()}\n`,
      }),
    );
    const out = await new Deno.Command("faketime", {
      args: [
        "-f",
        "+120s",
        Deno.execPath(),
        ...mx8Args(["pack", "--in", src.path, "--out", "s3://out/train"]),
      ],
      env: { ...s3.env, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, stderr);
    assert.match(
      stderr,
      /Another pack is writing this destination: s3:\/\/out\/train\/_mx8\/\.pack\.lock is held by pid 4242 on another-host/,
    );
  },
});
