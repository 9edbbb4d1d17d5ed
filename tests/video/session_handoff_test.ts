import assert from "node:assert/strict";
import { join } from "node:path";
import { ByteBudget } from "../../lib/loader/byte_budget.ts";
import { openManifestStore } from "../../lib/manifest_store/open.ts";
import type { ClipSession } from "../../lib/video/clip_decoder.ts";
import { VideoDecodeError } from "../../lib/video/errors.ts";
import { liveVideoSessions } from "../../lib/video/native_decoder.ts";
import type { VideoOptions } from "../../lib/video/options.ts";
import { SessionHandoffs } from "../../lib/video/session_handoff.ts";
import { video, type VideoLoader } from "../../lib/video/video_loader.ts";
import { sharedFixtures, videoTest } from "./_fixtures.ts";

/** A dataset folder holding copies of `files` (name → source path). */
async function dataset(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "mx8-video-sessions-" });
  for (const [to, from] of Object.entries(files)) {
    await Deno.copyFile(from, join(dir, to));
  }
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

/** Clip ids and a copy of the pixels of every batch (at most `max`). */
async function drain(
  l: VideoLoader,
  max = Infinity,
): Promise<{ ids: bigint[]; pixels: Uint8Array[] }> {
  const ids: bigint[] = [];
  const pixels: Uint8Array[] = [];
  for await (const b of l) {
    ids.push(...b.clipIds);
    pixels.push((b.clips.data as Uint8Array).slice());
    if (pixels.length >= max) break;
  }
  return { ids, pixels };
}

const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** 16-frame clips at stride 8 in batches of 2: every batch after the first continues a video. */
const OPTS: VideoOptions = {
  clip: 16,
  stride: 8,
  batchSizeClips: 2,
  resizeHw: [24, 32],
};

videoTest(
  "a video's batches go on one decoder: each frame of the video decoded once (not each batch's GOP lead-in again), the clips unchanged, no session left at the end",
  async () => {
    const fx = await sharedFixtures();
    // 100 frames, GOP 60; 75 frames, GOP 30.
    const link = await dataset({ "a.mp4": fx.h264, "b.webm": fx.vp9 });
    const live = liveVideoSessions();
    await using l = await openLoader(link, OPTS);
    const got = await drain(l);
    const s = l.stats();
    assert.equal(s.deliveredClipsTotal, s.plannedClips);
    assert.ok(s.decodePasses > 4, `${s.decodePasses} passes`);
    // A pass per batch opening its video decodes well over 175 here (each
    // batch from its keyframe).
    assert.ok(
      s.framesDecoded <= 100 + 75,
      `${s.framesDecoded} frames decoded for 175 in the files (${s.framesKept} kept)`,
    );
    assert.equal(liveVideoSessions(), live, "every session freed");
    assert.equal(s.inflightBytes, 0);
    // The same clips as batches of one clip (a pass per clip).
    await using one = await openLoader(link, { ...OPTS, batchSizeClips: 1 });
    const alone = await drain(one);
    assert.deepEqual(got.ids, alone.ids);
    assert.deepEqual(concat(got.pixels), concat(alone.pixels));
  },
);

videoTest(
  "close() in the middle of a video frees its session and every reserved byte",
  async () => {
    const fx = await sharedFixtures();
    const link = await dataset({ "a.mp4": fx.h264 });
    const live = liveVideoSessions();
    const l = await openLoader(link, { ...OPTS, prefetchBatches: 3 });
    const it = l[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.done, false);
    assert.ok(
      liveVideoSessions() > live,
      "a session is open for the batches after",
    );
    await l.close();
    assert.equal(liveVideoSessions(), live);
    await it.return(undefined);
    assert.equal(l.stats().inflightBytes, 0);
    assert.equal(liveVideoSessions(), live);
  },
);

videoTest(
  "breaking out of the loop in the middle of a video frees its session",
  async () => {
    const fx = await sharedFixtures();
    const link = await dataset({ "a.mp4": fx.h264 });
    const live = liveVideoSessions();
    await using l = await openLoader(link, OPTS);
    await drain(l, 2);
    assert.equal(liveVideoSessions(), live);
    assert.equal(l.stats().inflightBytes, 0);
  },
);

videoTest(
  "a decode error in the middle of a video (truncated file) fails the loader naming the file, and frees the session; skipped, the other clips are delivered",
  async () => {
    const fx = await sharedFixtures();
    // The header says 100 frames; the file ends near 60.
    const link = await dataset({ "cut.mp4": fx.truncatedFast });
    const live = liveVideoSessions();
    await using strict = await openLoader(link, OPTS);
    let delivered = 0;
    await assert.rejects(
      async () => {
        for await (const b of strict) delivered += b.clips.shape[0];
      },
      (e: unknown) =>
        e instanceof VideoDecodeError && /cut\.mp4/.test(e.message),
    );
    assert.ok(delivered >= 2, `the error came after ${delivered} clips`);
    assert.equal(liveVideoSessions(), live);
    assert.equal(strict.stats().inflightBytes, 0);
    await using lenient = await openLoader(link, {
      ...OPTS,
      onDecodeError: "skip",
    });
    const got = await drain(lenient);
    const s = lenient.stats();
    assert.ok(s.clipErrorsSkipped >= 1);
    assert.equal(got.ids.length + s.clipErrorsSkipped, s.plannedClips);
    assert.equal(liveVideoSessions(), live);
  },
);

videoTest(
  "a loader resumed in the middle of a video delivers exactly the remaining clips, pixel for pixel",
  async () => {
    const fx = await sharedFixtures();
    const link = await dataset({ "a.mp4": fx.h264, "b.webm": fx.vp9 });
    const store = openManifestStore(
      await Deno.makeTempDir({ prefix: "mx8-store-" }),
    );
    const opts = { ...OPTS, manifestStore: store, log: () => {} };
    await using full = video(link, opts);
    const all = await drain(full);
    await using first = video(link, opts);
    // Two batches: the first video's clips go on after them.
    const head = await drain(first, 2);
    await using rest = video(link, {
      ...opts,
      resumeFrom: first.checkpoint(),
    });
    const tail = await drain(rest);
    assert.deepEqual([...head.ids, ...tail.ids], all.ids);
    assert.deepEqual(
      concat([...head.pixels, ...tail.pixels]),
      concat(all.pixels),
    );
  },
);

Deno.test("SessionHandoffs: releaseAll frees the sessions waiting for a next batch, and their bytes", async () => {
  const budget = new ByteBudget(1000);
  const handoffs = new SessionHandoffs(budget);
  let freed = 0;
  const session: ClipSession = {
    decodeMany: () => Promise.reject(new Error("unused")),
    release: () => freed++,
  };
  await budget.acquire(300);
  const a = handoffs.claim(0, true, 300);
  const b = handoffs.claim(1, false);
  a.done({ session, bytes: 300 });
  a.done({ session, bytes: 300 }); // once only
  b.done(undefined);
  assert.equal(handoffs.size, 1);
  assert.equal(handoffs.waitingBytes(0), 300);
  await handoffs.releaseAll();
  assert.equal(freed, 1);
  assert.equal(budget.usedBytes, 0);
  assert.equal(handoffs.size, 0);
});
