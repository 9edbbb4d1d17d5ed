import assert from "node:assert/strict";
import { join } from "node:path";
import { openManifestStore } from "../../lib/manifest_store/open.ts";
import { BatchTooLargeError } from "../../lib/loader/byte_budget.ts";
import { CheckpointError } from "../../lib/loader/checkpoint.ts";
import type { ClipBatch } from "../../lib/video/clip_batch.ts";
import { toPlanarFloat } from "../../lib/video/clip_batch.ts";
import { VideoDecodeError } from "../../lib/video/errors.ts";
import { decodeClip, probeVideo } from "../../lib/video/native_decoder.ts";
import { passWorkingBytes } from "../../lib/video/working_memory.ts";
import { video, VideoLoader } from "../../lib/video/video_loader.ts";
import { loader } from "../../lib/loader/loader.ts";
import type { VideoOptions } from "../../lib/video/options.ts";
import { type Fixtures, psnr, sharedFixtures, videoTest } from "./_fixtures.ts";

let made: Promise<{ fx: Fixtures; root: string }> | undefined;
function fixtures(): Promise<{ fx: Fixtures; root: string }> {
  made ??= (async () => {
    const root = await Deno.makeTempDir({ prefix: "mx8-video-loader-" });
    globalThis.addEventListener(
      "unload",
      () => Deno.removeSync(root, { recursive: true }),
    );
    const fx = await sharedFixtures();
    return { fx, root };
  })();
  return made;
}

/** A dataset folder holding copies of `files` (name → source path) and a stray JPEG. */
async function dataset(
  name: string,
  files: Record<string, string>,
): Promise<string> {
  const { root } = await fixtures();
  const dir = join(root, name);
  await Deno.mkdir(dir, { recursive: true });
  for (const [to, from] of Object.entries(files)) {
    await Deno.copyFile(from, join(dir, to));
  }
  await Deno.writeFile(
    join(dir, "notes.jpg"),
    new Uint8Array([0xff, 0xd8, 0xff, 0xd9]),
  );
  return dir;
}

async function openLoader(
  link: string,
  options: VideoOptions,
): Promise<VideoLoader> {
  const store = openManifestStore(
    await Deno.makeTempDir({ prefix: "mx8-store-" }),
  );
  return video(link, { manifestStore: store, log: () => {}, ...options });
}

async function drain(l: VideoLoader, max = Infinity): Promise<ClipBatch[]> {
  const out: ClipBatch[] = [];
  for await (const b of l) {
    // Keep a copy: the batch's memory is the loader's once we move on.
    out.push({ ...b, clips: { ...b.clips, data: b.clips.data.slice() } });
    if (out.length >= max) break;
  }
  return out;
}

videoTest(
  "video(): every planned clip once, [B, T, H, W, 3] uint8 equal to decoding each clip alone",
  async () => {
    const { fx } = await fixtures();
    const link = await dataset("plain", {
      "a.mp4": fx.h264,
      "b.webm": fx.vp9,
      "c.mp4": fx.vfr,
    });
    await using l = await openLoader(link, {
      clip: 4,
      stride: 20,
      frameStep: 2,
      batchSizeClips: 3,
      resizeHw: [48, 64],
    });
    const batches = await drain(l);
    const plan = l.plan!;
    assert.ok(plan.length >= 8, `plan of ${plan.length} clips`);
    const ids = batches.flatMap((b) => [...b.clipIds]);
    assert.deepEqual(
      ids,
      Array.from({ length: plan.length }, (_, i) => plan.at(i).clipId),
    );
    for (const b of batches) {
      assert.equal(b.clips.dtype, "uint8");
      assert.deepEqual(b.clips.shape.slice(1), [4, 48, 64, 3]);
    }
    // Full batches of 3, then the rest.
    for (const b of batches.slice(0, -1)) assert.equal(b.clips.shape[0], 3);
    assert.equal(
      batches.reduce((n, b) => n + b.clips.shape[0], 0),
      plan.length,
    );
    // Every clip against a direct decode of it alone (the loader decodes
    // the clips of a video in a batch in one pass). Manifest rows are
    // sorted: a.mp4 is sample 0, b.webm 1, c.mp4 2, notes.jpg 3.
    const bySampleId = [fx.h264, fx.vp9, fx.vfr];
    const seen = new Set<bigint>();
    let position = 0;
    for (const b of batches) {
      for (let i = 0; i < b.clips.shape[0]; i++, position++) {
        const c = plan.at(position);
        seen.add(c.sampleId);
        const bytes = await Deno.readFile(bySampleId[Number(c.sampleId)]);
        const direct = await decodeClip(
          bytes,
          probeVideo(bytes, c.sampleId),
          c.frameSeconds,
          { height: 48, width: 64 },
        );
        const n = 4 * 48 * 64 * 3;
        assert.deepEqual(
          b.clips.data.subarray(i * n, (i + 1) * n),
          direct.frames,
          `clip ${c.clipId}`,
        );
        assert.equal(b.startSeconds[i], c.startSeconds);
        assert.equal(b.sampleIds[i], c.sampleId);
      }
    }
    assert.equal(seen.size, 3);
    const s = l.stats();
    assert.equal(s.deliveredClipsTotal, plan.length);
    assert.equal(s.videosIndexed, 3);
    assert.equal(s.inflightBytes, 0);
    assert.equal(s.clipsDecoded, plan.length);
    assert.equal(s.framesKept, plan.length * 4);
  },
);

videoTest(
  "overlapping clips (16 frames, stride 8): one decode pass per video and batch, fewer frames decoded than kept, equal to each clip alone",
  async () => {
    const { fx } = await fixtures();
    const link = await dataset("overlap", { "a.mp4": fx.h264 });
    await using l = await openLoader(link, {
      clip: 16,
      stride: 8,
      batchSizeClips: 4,
      resizeHw: [48, 64],
      decodeConcurrency: 1,
    });
    const batches = await drain(l);
    const plan = l.plan!;
    assert.equal(plan.length, 11); // starts 0, 8, …, 80 of 100 frames
    const bytes = await Deno.readFile(fx.h264);
    const index = probeVideo(bytes, 0n);
    const n = 16 * 48 * 64 * 3;
    let position = 0;
    for (const b of batches) {
      for (let i = 0; i < b.clips.shape[0]; i++, position++) {
        const direct = await decodeClip(
          bytes,
          index,
          plan.at(position).frameSeconds,
          { height: 48, width: 64 },
        );
        assert.ok(
          b.clips.data.subarray(i * n, (i + 1) * n).every((x, j) =>
            x === direct.frames[j]
          ),
          `clip ${position} differs from the clip decoded alone`,
        );
      }
    }
    const s = l.stats();
    assert.equal(s.decodePasses, batches.length);
    assert.equal(s.framesKept, 11 * 16);
    // Clip by clip this is 11 × (16 + GOP lead-in) ≥ 176 frames.
    assert.ok(
      s.framesDecoded < s.framesKept,
      `decoded ${s.framesDecoded} frames for ${s.framesKept} kept`,
    );
    assert.ok(s.decodeMs > 0);
  },
);

videoTest(
  "toFloat: [B, 3, T, H, W] float32 in [0, 1], the same pixels",
  async () => {
    const { fx } = await fixtures();
    const link = await dataset("float", { "a.mp4": fx.h264 });
    const opts = {
      clip: 3,
      stride: 30,
      batchSizeClips: 2,
      resizeHw: [24, 32] as [number, number],
    };
    await using u = await openLoader(link, opts);
    await using f = await openLoader(link, { ...opts, toFloat: true });
    const [a, b] = [await drain(u), await drain(f)];
    assert.equal(a.length, b.length);
    for (const [i, x] of a.entries()) {
      const y = b[i];
      assert.equal(y.clips.dtype, "float32");
      const [n, t, h, w] = x.clips.shape;
      assert.deepEqual(y.clips.shape, [n, 3, t, h, w]);
      assert.deepEqual(
        y.clips.data,
        toPlanarFloat(x.clips.data as Uint8Array, n, t, h, w),
      );
    }
  },
);

videoTest(
  "memory: compressed videos + decoder working memory + clip tensor are reserved before decode, never above the cap; a released batch is freed",
  async () => {
    const { fx } = await fixtures();
    const link = await dataset("budget", {
      "a.mp4": fx.h264,
      "b.webm": fx.vp9,
    });
    const video = Math.max(
      (await Deno.stat(fx.h264)).size,
      (await Deno.stat(fx.vp9)).size,
    );
    const tensor = 2 * 4 * 48 * 64 * 3;
    // Both fixtures are 320×240.
    const work = passWorkingBytes({ width: 320, height: 240 }, 1);
    // Room for one batch of one video at a time (plus one other video), no more.
    const cap = tensor + 2 * video + 2 * work;
    await using l = await openLoader(link, {
      clip: 4,
      batchSizeClips: 2,
      resizeHw: [48, 64],
      maxInflightBytes: cap,
      prefetchBatches: 4,
    });
    let batches = 0;
    for await (const b of l) {
      batches++;
      // The batch the consumer holds is still reserved.
      assert.ok(l.stats().inflightBytes >= b.clips.data.byteLength);
      const data = b.clips.data;
      b.release();
      assert.equal(data.length, 0, "a released batch's memory is freed");
    }
    assert.ok(batches > 2);
    const s = l.stats();
    assert.ok(
      s.inflightHighWaterBytes <= cap,
      `${s.inflightHighWaterBytes} > ${cap}`,
    );
    assert.ok(
      s.inflightHighWaterBytes >= tensor + work,
      `high water ${s.inflightHighWaterBytes} never held a tensor and a decoder's working memory`,
    );
    // A cap below one batch fails with the sizes.
    await using small = await openLoader(link, {
      clip: 4,
      batchSizeClips: 2,
      resizeHw: [48, 64],
      maxInflightBytes: video + work,
    });
    await assert.rejects(() => drain(small), BatchTooLargeError);
  },
);

videoTest(
  "checkpoint: a loader resumed from it delivers exactly the remaining clips",
  async () => {
    const { fx } = await fixtures();
    const link = await dataset("resume", {
      "a.mp4": fx.h264,
      "b.webm": fx.vp9,
    });
    const opts = {
      clip: 2,
      stride: 7,
      batchSizeClips: 3,
      resizeHw: [16, 16] as [number, number],
      shuffle: true,
      seed: 5,
    };
    const store = openManifestStore(
      await Deno.makeTempDir({ prefix: "mx8-store-" }),
    );
    await using full = video(link, {
      ...opts,
      manifestStore: store,
      log: () => {},
    });
    const all = (await drain(full)).flatMap((b) => [...b.clipIds]);
    await using first = video(link, {
      ...opts,
      manifestStore: store,
      log: () => {},
    });
    const head = (await drain(first, 2)).flatMap((b) => [...b.clipIds]);
    const token = first.checkpoint();
    await using rest = video(link, {
      ...opts,
      manifestStore: store,
      log: () => {},
      resumeFrom: token,
    });
    const tail = (await drain(rest)).flatMap((b) => [...b.clipIds]);
    assert.deepEqual([...head, ...tail], all);
    await using other = video(link, {
      ...opts,
      seed: 6,
      manifestStore: store,
      log: () => {},
      resumeFrom: token,
    });
    await assert.rejects(() => other.open(), CheckpointError);
  },
);

videoTest(
  "a truncated video: its late clips fail the loader naming the file, or are skipped and counted",
  async () => {
    const { fx } = await fixtures();
    const link = await dataset("broken", {
      "a.mp4": fx.h264,
      "cut.mp4": fx.truncatedFast,
      "gone.mp4": fx.truncatedNoIndex,
    });
    const opts = {
      clip: 2,
      stride: 20,
      batchSizeClips: 4,
      resizeHw: [16, 16] as [number, number],
    };
    await using strict = await openLoader(link, opts);
    await assert.rejects(
      () => drain(strict),
      (e: unknown) =>
        e instanceof VideoDecodeError && /gone\.mp4/.test(e.message),
    );
    const events: string[] = [];
    await using lenient = await openLoader(link, {
      ...opts,
      onDecodeError: "skip",
      log: (e) => events.push(e),
    });
    const batches = await drain(lenient);
    const s = lenient.stats();
    assert.equal(s.videosSkipped, 1); // gone.mp4: no index, cannot open
    assert.ok(
      s.clipErrorsSkipped >= 1,
      "cut.mp4's clips past the cut are skipped",
    );
    assert.equal(s.deliveredClipsTotal + s.clipErrorsSkipped, s.plannedClips);
    assert.equal(
      batches.reduce((n, b) => n + b.clips.shape[0], 0),
      s.deliveredClipsTotal,
    );
    assert.ok(
      events.includes("video_skipped") && events.includes("clip_skipped"),
    );
    assert.equal(s.inflightBytes, 0);
  },
);

videoTest(
  "the per-video index is cached with the snapshot: a second open probes nothing, a corrupt cache is re-probed",
  async () => {
    const { fx } = await fixtures();
    const link = await dataset("cached", {
      "a.mp4": fx.h264,
      "b.webm": fx.vp9,
    });
    const storeRoot = await Deno.makeTempDir({ prefix: "mx8-store-" });
    const store = openManifestStore(storeRoot);
    const opts = {
      clip: 4,
      stride: 9,
      resizeHw: [16, 16] as [number, number],
      manifestStore: store,
      log: () => {},
    };
    await using first = video(link, opts);
    const a = (await drain(first)).flatMap((b) => [...b.clipIds]);
    assert.equal(first.stats().videosProbed, 2);
    const cacheFile = join(storeRoot, "video_index", first.manifestHash!);
    assert.ok((await Deno.stat(cacheFile)).isFile);
    await using second = video(link, opts);
    const b = (await drain(second)).flatMap((x) => [...x.clipIds]);
    assert.equal(second.stats().videosProbed, 0);
    assert.equal(second.stats().videosIndexed, 2);
    assert.deepEqual(b, a);
    await Deno.writeTextFile(
      cacheFile,
      '{"v":1,"videos":[{"id":"0","size":"x"}]}',
    );
    await using third = video(link, opts);
    await third.open();
    assert.equal(third.stats().videosProbed, 2);
  },
);

videoTest(
  'backend "cli" (the ffmpeg CLI fallback) delivers the same clips as the native decoder',
  async () => {
    const { fx } = await fixtures();
    const link = await dataset("cli", { "a.mp4": fx.h264, "b.webm": fx.vp9 });
    const opts = {
      clip: 3,
      stride: 25,
      frameStep: 2,
      batchSizeClips: 4,
      resizeHw: [24, 32] as [number, number],
    };
    await using native = await openLoader(link, { ...opts, backend: "native" });
    await using cli = await openLoader(link, { ...opts, backend: "cli" });
    const [a, b] = [await drain(native), await drain(cli)];
    assert.equal(native.stats().backend, "native");
    assert.equal(cli.stats().backend, "cli");
    assert.deepEqual(
      b.flatMap((x) => [...x.clipIds]),
      a.flatMap((x) => [...x.clipIds]),
    );
    const n = 3 * 24 * 32 * 3;
    for (const [i, x] of a.entries()) {
      for (let k = 0; k < x.clips.shape[0]; k++) {
        const db = psnr(
          x.clips.data.subarray(k * n, (k + 1) * n) as Uint8Array,
          b[i].clips.data.subarray(k * n, (k + 1) * n) as Uint8Array,
        );
        assert.ok(db >= 40, `batch ${i} clip ${k}: PSNR ${db.toFixed(1)}`);
      }
    }
  },
);

videoTest(
  "loader(link, { video }) is the same VideoLoader; image options beside video are refused",
  async () => {
    const { fx } = await fixtures();
    const link = await dataset("front", { "a.mp4": fx.h264 });
    const store = openManifestStore(
      await Deno.makeTempDir({ prefix: "mx8-store-" }),
    );
    const clipOpts = {
      clip: 4,
      stride: 30,
      resizeHw: [16, 16] as [number, number],
    };
    await using a = loader(link, {
      video: clipOpts,
      manifestStore: store,
      log: () => {},
    });
    assert.ok(a instanceof VideoLoader);
    await using b = video(link, {
      ...clipOpts,
      manifestStore: store,
      log: () => {},
    });
    assert.deepEqual(
      (await drain(a)).flatMap((x) => [...x.clipIds]),
      (await drain(b)).flatMap((x) => [...x.clipIds]),
    );
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => loader(link, { video: clipOpts, batchSizeSamples: 4 } as any),
      /loader options batchSizeSamples do not apply to video clips/,
    );
  },
);
