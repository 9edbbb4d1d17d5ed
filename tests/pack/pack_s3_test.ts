import { fileListOf } from "../../lib/pack/file_list.ts";
import assert from "node:assert/strict";
import {
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Mx8Error, S3Error } from "../../lib/errors.ts";
import { s3Destination } from "../../lib/pack/dest_s3.ts";
import { pack } from "../../lib/pack/pack.ts";
import { listObjects } from "../../lib/s3/objects.ts";
import { planShards } from "../../lib/pack/plan.ts";
import type { PackSource } from "../../lib/pack/source.ts";
import { writeShards } from "../../lib/pack/write_shards.ts";
import { startS3, type TestS3 } from "../_helpers/s3rver.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";
import { dataset, verifyPacked } from "./_verify.ts";

const SIZES = [1, 511, 512, 513, 1000, 3000, 5000, 20_000, 7, 1024, 4097, 9];
// Shards of ≤ 10 KiB in parts of 4 KiB: most shards are multipart uploads.
const OPTS = { shardMb: 0.01, partMb: 0.004 };

async function getBytes(s3: TestS3, bucket: string, key: string) {
  const res = await s3.client.send(
    new GetObjectCommand({ Bucket: bucket, Key: key }),
  );
  return await res.Body!.transformToByteArray();
}

async function putTree(
  s3: TestS3,
  bucket: string,
  prefix: string,
  files: Record<string, Uint8Array>,
) {
  for (const [rel, body] of Object.entries(files)) {
    await s3.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `${prefix}/${rel}`,
        Body: body,
      }),
    );
  }
}

Deno.test("pack: local→S3, S3→local and S3→S3 give the bytes and manifest_hash of local→local", async () => {
  await using s3 = await startS3(["raw", "packed"]);
  await using t = await tempDir();
  const files = dataset(SIZES);
  await writeTree(`${t.path}/src`, files);
  await putTree(s3, "raw", "train", files);

  const local = await pack(`${t.path}/src`, {
    out: `${t.path}/local`,
    ...OPTS,
  });
  const toS3 = await pack(`${t.path}/src`, { out: "s3://packed/a/", ...OPTS });
  const fromS3 = await pack("s3://raw/train/", {
    out: `${t.path}/from-s3`,
    ...OPTS,
  });
  const s3s3 = await pack("s3://raw/train", { out: "s3://packed/b", ...OPTS });
  for (const r of [toS3, fromS3, s3s3]) {
    assert.equal(r.manifestHash, local.manifestHash);
    assert.equal(r.shards, local.shards);
    assert.equal(r.samples, SIZES.length);
  }
  assert.equal(toS3.manifestPath, "s3://packed/a/_mx8/manifest.tsv");
  assert.equal(s3s3.manifestPath, "s3://packed/b/_mx8/manifest.tsv");
  await verifyPacked(`${t.path}/from-s3`, files, {
    labels: true,
    shardBytes: 10485,
  });

  const names = [
    "_mx8/manifest.tsv",
    "_mx8/labels.tsv",
    ...Array.from(
      { length: local.shards },
      (_, k) => `shards/shard-${String(k).padStart(5, "0")}.tar`,
    ),
  ];
  for (const prefix of ["a", "b"]) {
    for (const name of names) {
      assert.deepEqual(
        await getBytes(s3, "packed", `${prefix}/${name}`),
        await Deno.readFile(`${t.path}/local/${name}`),
        `${prefix}/${name}`,
      );
    }
  }
});

Deno.test("pack: S3 destination needs overwrite over a manifest and drops stale shards", async () => {
  await using s3 = await startS3(["packed"]);
  await using t = await tempDir();
  const files = dataset(SIZES);
  await writeTree(t.path, files);
  const first = await pack(t.path, { out: "s3://packed/x", ...OPTS });
  await assert.rejects(
    pack(t.path, { out: "s3://packed/x", ...OPTS }),
    /s3:\/\/packed\/x\/_mx8\/manifest\.tsv already exists: pass --overwrite/,
  );
  const second = await pack(t.path, {
    out: "s3://packed/x",
    overwrite: true,
    labelMode: "none",
  });
  assert.equal(second.shards, 1);
  assert.ok(first.shards > 1);
  const keys = [];
  for await (const o of listObjects(s3.client, "packed", "x/")) {
    keys.push(o.key);
  }
  assert.deepEqual(keys, ["x/_mx8/manifest.tsv", "x/shards/shard-00000.tar"]);
});

Deno.test("pack: S3 access errors name the bucket", async () => {
  await using _s3 = await startS3(["raw"]);
  await using t = await tempDir();
  await writeTree(t.path, { "a.jpg": "x" });
  await assert.rejects(
    pack("s3://nope/train", { out: `${t.path}/out` }),
    (err) =>
      err instanceof S3Error &&
      /^S3 ListObjectsV2 s3:\/\/nope\/train\/ failed: NoSuchBucket/.test(
        err.message,
      ),
  );
  await assert.rejects(
    pack(t.path, { out: "s3://nope/out" }),
    (err) =>
      err instanceof S3Error &&
      /^S3 ListObjectsV2 s3:\/\/nope\/out\/_mx8\/manifest\.tsv failed: NoSuchBucket/
        .test(err.message),
  );
  await assert.rejects(
    pack("s3://raw/empty", { out: `${t.path}/out` }),
    /No files to pack under s3:\/\/raw\/empty/,
  );
});

/** A client that records the commands it sends. */
function recording(client: S3Client): { client: S3Client; sent: string[] } {
  const sent: string[] = [];
  const wrapped = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === "send") {
        return (cmd: { constructor: { name: string } }, ...rest: unknown[]) => {
          sent.push(cmd.constructor.name);
          // deno-lint-ignore no-explicit-any
          return (target.send as any)(cmd, ...rest);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
  return { client: wrapped, sent };
}

Deno.test("writeShards: a failing read aborts the multipart upload of the open shard", async () => {
  await using s3 = await startS3(["packed"]);
  const files = Array.from(
    { length: 20 },
    (_, i) => ({ rel: `f${i}.bin`, size: 3000 }),
  );
  const plan = planShards(files, 1 << 20, "mem");
  const source: PackSource = {
    root: "mem",
    list: () => Promise.resolve(fileListOf(files)),
    read(file) {
      if (file.rel === "f15.bin") {
        return Promise.reject(new Mx8Error("read of f15 failed"));
      }
      return Promise.resolve(new Uint8Array(file.size));
    },
  };
  const rec = recording(s3.client);
  const dest = s3Destination("s3://packed/p", {
    client: rec.client,
    partBytes: 8192,
  });
  await assert.rejects(
    writeShards(plan, source, dest, {
      concurrency: 2,
      budgetBytes: 1 << 20,
      pieceBytes: 1 << 20,
    }),
    /read of f15 failed/,
  );
  assert.ok(rec.sent.includes("CreateMultipartUploadCommand"));
  assert.ok(rec.sent.includes("UploadPartCommand"));
  assert.equal(rec.sent.at(-1), "AbortMultipartUploadCommand");
  assert.ok(!rec.sent.includes("CompleteMultipartUploadCommand"));
  await assert.rejects(getBytes(s3, "packed", "p/shards/shard-00000.tar"));
});
