/**
 * Resolving a pinned link (`BASE@sha256:H`) of a packed dataset: the base
 * is checked to still hold H by one HEAD (or stat) of its manifest file
 * when the store recorded that file's identity, never by downloading and
 * hashing it again; any row with a byte range makes the check apply.
 */
import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { lastLine, runMx8 } from "../_helpers/mx8.ts";
import { startS3 } from "../_helpers/s3rver.ts";
import { startFaultyProxy } from "../_helpers/faulty_proxy.ts";
import { tempDir } from "../_helpers/tmp.ts";

const HASH = /manifest_hash=([0-9a-f]{64})/;

Deno.test("mx8 resolve @sha256: an unchanged S3 base's manifest is checked with a HEAD, not downloaded again; a repacked one is still refused", async () => {
  await using st = await tempDir();
  await using s3 = await startS3(["raw", "out"]);
  const put = (key: string, body: string) =>
    s3.client.send(
      new PutObjectCommand({ Bucket: "raw", Key: key, Body: body }),
    );
  for (let i = 0; i < 4; i++) await put(`a/c${i % 2}/${i}.jpg`, `sample ${i}`);
  const env = { ...s3.env, MX8_MANIFEST_STORE: st.path };
  const packed = await runMx8(
    ["pack", "--in", "s3://raw/a", "--out", "s3://out/train"],
    env,
  );
  assert.equal(packed.code, 0, packed.stderr);
  const h = HASH.exec(lastLine(packed.stdout))![1];
  const plain = await runMx8(["resolve", "s3://out/train"], env);
  assert.equal(lastLine(plain.stdout), `manifest_hash=${h} samples=4`);

  const seen: string[] = [];
  await using proxy = {
    p: await startFaultyProxy(s3.endpoint, {
      fail: (_n, method, url) => {
        if (url.includes("/out/train/_mx8/manifest.tsv")) seen.push(method);
        return null;
      },
    }),
    async [Symbol.asyncDispose]() {
      await this.p.close();
    },
  };
  const viaProxy = { ...env, MX8_S3_ENDPOINT: proxy.p.endpoint };
  const pinned = await runMx8(
    ["resolve", `s3://out/train@sha256:${h}`],
    viaProxy,
  );
  assert.equal(pinned.code, 0, pinned.stderr);
  assert.equal(lastLine(pinned.stdout), `manifest_hash=${h} samples=4`);
  assert.deepEqual(seen, ["HEAD"]);

  // Repacked from other files: the HEAD differs, the full check refuses.
  await put("b/x/1.jpg", "another sample");
  const again = await runMx8(
    ["pack", "--in", "s3://raw/b", "--out", "s3://out/train", "--overwrite"],
    env,
  );
  assert.equal(again.code, 0, again.stderr);
  const refused = await runMx8(
    ["resolve", `s3://out/train@sha256:${h}`],
    viaProxy,
  );
  assert.equal(refused.code, 1, refused.stdout);
  assert.match(
    refused.stderr,
    /\(it was repacked\), so its shards no longer hold/,
  );
});

Deno.test("mx8 resolve @sha256: a packed manifest whose first row is a whole file but others are byte ranges is still checked against the base", async () => {
  await using dst = await tempDir();
  await using st = await tempDir();
  const env = { MX8_MANIFEST_STORE: st.path };
  await Deno.mkdir(`${dst.path}/_mx8`);
  const manifest = (offset: number) =>
    `schema_version=0\n0\twhole.bin\t\t\t\n1\tshards/shard-00000.tar\t${offset}\t3\t\n`;
  await Deno.writeTextFile(`${dst.path}/_mx8/manifest.tsv`, manifest(512));
  const r1 = await runMx8(["resolve", dst.path], env);
  assert.equal(r1.code, 0, r1.stderr);
  const h = HASH.exec(lastLine(r1.stdout))![1];
  // The dataset is rewritten: the shard now holds that sample elsewhere.
  await Deno.writeTextFile(`${dst.path}/_mx8/manifest.tsv`, manifest(1536));
  const pinned = await runMx8(["resolve", `${dst.path}@sha256:${h}`], env);
  assert.equal(pinned.code, 1, pinned.stdout);
  assert.match(
    pinned.stderr,
    /\(it was repacked\), so its shards no longer hold/,
  );
});
