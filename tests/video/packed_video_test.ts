import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { startS3 } from "../_helpers/s3rver.ts";
import { join } from "node:path";
import { pack } from "../../lib/pack/pack.ts";
import { parseManifest } from "../../lib/manifest/tsv.ts";
import { openManifestStore } from "../../lib/manifest_store/open.ts";
import { parseVideoIndexHint } from "../../lib/video/index_hint.ts";
import { probeVideo, probeVideoFile } from "../../lib/video/native_decoder.ts";
import { video, type VideoOptions } from "../../lib/video/mod.ts";
import type { ClipBatch } from "../../lib/video/clip_batch.ts";
import { passWorkingBytes } from "../../lib/video/working_memory.ts";
import { sharedFixtures, videoTest } from "./_fixtures.ts";

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "mx8-packed-video-src-" });
  for (const [to, from] of Object.entries(files)) {
    await Deno.mkdir(join(dir, to, ".."), { recursive: true });
    await Deno.copyFile(from, join(dir, to));
  }
  return dir;
}

async function readAll(
  link: string,
  options: VideoOptions,
): Promise<{ batches: ClipBatch[]; stats: ReturnType<typeof l.stats> }> {
  const store = openManifestStore(
    await Deno.makeTempDir({ prefix: "mx8-store-" }),
  );
  const l = video(link, { manifestStore: store, log: () => {}, ...options });
  const batches: ClipBatch[] = [];
  for await (const b of l) {
    batches.push({ ...b, clips: { ...b.clips, data: b.clips.data.slice() } });
  }
  const stats = l.stats();
  await l.close();
  return { batches, stats };
}

videoTest(
  "mx8 pack keeps each video's index in its manifest row (from the container's index, as a probe of the bytes gives it)",
  async () => {
    const fx = await sharedFixtures();
    const src = await folder({
      "a.mp4": fx.h264,
      "b.webm": fx.vp9,
      "c.mkv": fx.h264Mkv,
      "d.mp4": fx.vfr,
      "e.jpg": fx.h264, // not a video by name: no index
    });
    const out = await Deno.makeTempDir({ prefix: "mx8-packed-video-" });
    const r = await pack(src, { out, overwrite: true });
    assert.equal(r.videosIndexed, 4);
    assert.deepEqual(r.videosNotIndexed, []);
    const rows = parseManifest(
      await Deno.readTextFile(join(out, "_mx8", "manifest.tsv")),
      "manifest.tsv",
    );
    const sources = [fx.h264, fx.vp9, fx.h264Mkv, fx.vfr];
    for (const [i, path] of sources.entries()) {
      const hinted = parseVideoIndexHint(rows[i].decodeHint, BigInt(i));
      assert.ok(hinted, `row ${i} has no video index: ${rows[i].decodeHint}`);
      assert.deepEqual(
        hinted,
        probeVideo(await Deno.readFile(path), BigInt(i)),
        `row ${i} (${rows[i].location})`,
      );
      assert.deepEqual(probeVideoFile(path, BigInt(i)), hinted);
      // The row points into a shard: the video is read by byte range.
      assert.match(rows[i].location, /^shards\/shard-\d+\.tar$/);
      assert.equal(rows[i].byteLength, (await Deno.stat(path)).size);
    }
    assert.equal(rows[4].decodeHint, undefined);
  },
);

videoTest(
  "video() over a packed dataset probes nothing, reads each video by byte range from its shard, and gives the same clips as over the folder",
  async () => {
    const fx = await sharedFixtures();
    // A big file in the same shard: reading the shard whole would not fit.
    const filler = join(
      await Deno.makeTempDir({ prefix: "mx8-filler-" }),
      "f.bin",
    );
    await Deno.writeFile(filler, new Uint8Array(24 * 2 ** 20).fill(7));
    const src = await folder({
      "a.mp4": fx.h264,
      "b.webm": fx.vp9,
      "z.bin": filler,
    });
    const out = await Deno.makeTempDir({ prefix: "mx8-packed-video-" });
    await pack(src, { out, overwrite: true });
    const shards = [...Deno.readDirSync(join(out, "shards"))];
    assert.equal(shards.length, 1, "one shard holds the videos and the filler");
    const shardSize = (await Deno.stat(join(out, "shards", shards[0].name)))
      .size;
    const videoBytes = (await Deno.stat(fx.h264)).size +
      (await Deno.stat(fx.vp9)).size;
    const options: VideoOptions = {
      clip: 8,
      stride: 4,
      batchSizeClips: 4,
      resizeHw: [48, 64],
      prefetchBatches: 1,
      decodeConcurrency: 1,
      // The videos + a batch tensor + one decoder, far below the shard.
      maxInflightBytes: videoBytes + 2 * 4 * 8 * 48 * 64 * 3 +
        passWorkingBytes({ width: 320, height: 240 }, 1),
    };
    assert.ok(options.maxInflightBytes! < shardSize / 4);
    const packed = await readAll(out, options);
    const plain = await readAll(src, options);
    assert.equal(packed.stats.videosProbed, 0);
    assert.equal(packed.stats.videosFromManifest, 2);
    assert.equal(plain.stats.videosProbed, 2);
    assert.ok(packed.batches.length > 2);
    assert.equal(packed.batches.length, plain.batches.length);
    for (const [i, b] of packed.batches.entries()) {
      const p = plain.batches[i];
      assert.deepEqual(b.startSeconds, p.startSeconds);
      assert.deepEqual(b.sampleIds, p.sampleIds);
      assert.deepEqual(b.clips.shape, p.clips.shape);
      assert.ok(
        b.clips.data.every((x, j) => x === p.clips.data[j]),
        `batch ${i}: packed and folder clips differ`,
      );
    }
    assert.ok(packed.stats.inflightHighWaterBytes <= options.maxInflightBytes!);
  },
);

videoTest(
  "a video pack cannot index is listed with why, and the loader probes it at open (skipped with onDecodeError: skip)",
  async () => {
    const fx = await sharedFixtures();
    const src = await folder({
      "a.mp4": fx.h264,
      "b.mp4": fx.truncatedNoIndex,
    });
    const out = await Deno.makeTempDir({ prefix: "mx8-packed-video-" });
    const r = await pack(src, { out, overwrite: true });
    assert.equal(r.videosIndexed, 1);
    assert.equal(r.videosNotIndexed.length, 1);
    assert.equal(r.videosNotIndexed[0].rel, "b.mp4");
    assert.match(r.videosNotIndexed[0].reason, /^b\.mp4: cannot open/);
    const got = await readAll(out, {
      clip: 4,
      stride: 40,
      resizeHw: [48, 64],
      onDecodeError: "skip",
    });
    assert.equal(got.stats.videosFromManifest, 1);
    assert.equal(got.stats.videosSkipped, 1);
    assert.ok(got.stats.deliveredClipsTotal > 0);
  },
);

videoTest(
  "S3 (s3rver): a pack written to S3, and one packed from S3 objects (indexed from their bytes), give the same clips as the local pack",
  async () => {
    const fx = await sharedFixtures();
    await using s3 = await startS3(["vids"]);
    const files = { "a.mp4": fx.h264, "b.webm": fx.vp9 };
    const src = await folder(files);
    const local = await Deno.makeTempDir({ prefix: "mx8-packed-video-" });
    await pack(src, { out: local, overwrite: true });
    await pack(src, { out: "s3://vids/packed" });
    for (const [rel, path] of Object.entries(files)) {
      await s3.client.send(
        new PutObjectCommand({
          Bucket: "vids",
          Key: `raw/${rel}`,
          Body: await Deno.readFile(path),
        }),
      );
    }
    const fromS3 = await pack("s3://vids/raw", { out: "s3://vids/repacked" });
    assert.equal(fromS3.videosIndexed, 2);
    const options: VideoOptions = {
      clip: 6,
      stride: 10,
      batchSizeClips: 3,
      resizeHw: [48, 64],
    };
    const want = await readAll(local, options);
    for (const link of ["s3://vids/packed", "s3://vids/repacked"]) {
      const got = await readAll(link, options);
      assert.equal(got.stats.videosProbed, 0, link);
      assert.equal(got.stats.videosFromManifest, 2, link);
      assert.equal(got.batches.length, want.batches.length, link);
      for (const [i, b] of got.batches.entries()) {
        assert.deepEqual(b.clipIds, want.batches[i].clipIds, link);
        assert.ok(
          b.clips.data.every((x, j) => x === want.batches[i].clips.data[j]),
          `${link} batch ${i} differs from the local pack's`,
        );
      }
    }
  },
);
