import assert from "node:assert/strict";
import { join } from "node:path";
import { pack } from "../../lib/pack/pack.ts";
import { openManifestStore } from "../../lib/manifest_store/open.ts";
import { loader } from "../../lib/loader/loader.ts";
import { video, type VideoOptions } from "../../lib/video/mod.ts";
import { jobFlags, startCoordinator } from "../coordinator/_process.ts";
import { startAgent } from "../agent/_agents.ts";
import { tempDir } from "../_helpers/tmp.ts";
import { sharedFixtures, videoTest } from "./_fixtures.ts";
import { clipDigestLines } from "./_clip_digest_sink.ts";
import type { ClipBatch } from "../../lib/video/clip_batch.ts";
import { passWorkingBytes } from "../../lib/video/working_memory.ts";

const SINK = new URL("./_clip_digest_sink.ts", import.meta.url).pathname;

/** 16-frame-or-so clips, small frames: decoding stays cheap on a busy machine. */
const CLIPS: VideoOptions = { clip: 8, stride: 4, resizeHw: [32, 32] };

/**
 * Packs 7 real videos (H.264 with B-frames ×3, VP9 ×3, variable frame
 * rate ×1) and a text file into several shards.
 */
async function packedVideos(dir: string): Promise<string> {
  const fx = await sharedFixtures();
  const src = join(dir, "src");
  await Deno.mkdir(src);
  for (let i = 0; i < 3; i++) {
    await Deno.copyFile(fx.h264, join(src, `a${i}.mp4`));
    await Deno.copyFile(fx.vp9, join(src, `b${i}.webm`));
  }
  await Deno.copyFile(fx.vfr, join(src, "c.mp4"));
  await Deno.writeTextFile(join(src, "notes.txt"), "not a video\n");
  const out = join(dir, "packed");
  await pack(src, { out, shardMb: 0.1 });
  return out;
}

/** The digest lines of every clip `video()` delivers alone, sorted. */
async function localClips(dir: string, link: string): Promise<string[]> {
  await using clips = video(link, {
    ...CLIPS,
    batchSizeClips: 5,
    manifestStore: openManifestStore(join(dir, "local-store")),
    log: () => {},
  });
  return await sortedDigests(clips);
}

/** The digest lines of every clip a loader delivers, sorted. */
async function sortedDigests(
  clips: AsyncIterable<ClipBatch>,
): Promise<string[]> {
  let lines = "";
  for await (const b of clips) lines += clipDigestLines(b);
  return lines.split("\n").filter((l) => l !== "").sort();
}

async function readLines(path: string): Promise<string[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter((l) => l !== "");
}

videoTest(
  "a coordinator and 2 agents with --video deliver exactly the clips video() plans alone (ids, starts, pixels)",
  async () => {
    await using work = await tempDir();
    const data = await packedVideos(work.path);
    const expected = await localClips(work.path, data);
    // 3×24 + 3×17 + 19 clips of 8 frames every 4.
    assert.equal(expected.length, 142);
    await using coord = await startCoordinator(
      jobFlags(work.path, data, {
        worldSize: 2,
        blockSize: 2,
        heartbeatMs: 200,
      }),
    );
    const env = { MX8_TEST_CLIP_DIGESTS: join(work.path, "digests") };
    const agents = ["a", "b"].map((id) =>
      startAgent(coord.url, id, [
        "--sink",
        `module:${SINK}`,
        "--video",
        JSON.stringify(CLIPS),
        "--batch-size",
        "4",
      ], env)
    );
    const results = await Promise.all(agents.map((a) => a.done));
    const delivered: string[] = [];
    for (const [i, r] of results.entries()) {
      assert.equal(r.code, 0, r.stderr);
      const m =
        /^mx8 agent done node=(\S+) clips=(\d+) batches=\d+ leases=(\d+)$/m
          .exec(r.stdout);
      assert.ok(m, r.stdout);
      const lines = await readLines(`${env.MX8_TEST_CLIP_DIGESTS}-${m[1]}`);
      assert.equal(Number(m[2]), lines.length, `agent ${agents[i].nodeId}`);
      assert.ok(Number(m[3]) >= 1, "every agent worked on a lease");
      delivered.push(...lines);
    }
    // No failure: every clip exactly once, with the pixels video() decodes.
    assert.deepEqual(delivered.sort(), expected);
    await coord.waitForEvent((e) => e.event === "job_drained");
  },
);

videoTest(
  "an agent killed (SIGKILL) mid-lease: its lease is requeued, the job drains, and every clip is delivered",
  async () => {
    await using work = await tempDir();
    const data = await packedVideos(work.path);
    const expected = new Set(
      (await localClips(work.path, data)).map((l) =>
        l.split("\t").slice(0, 3).join("\t")
      ),
    );
    await using coord = await startCoordinator(
      jobFlags(work.path, data, {
        worldSize: 2,
        blockSize: 2,
        leaseTtlMs: 1500,
        heartbeatMs: 200,
      }),
    );
    // a's first lease is rows 0–1 (two H.264 videos, 24 clips each). It
    // builds 4 batches of 8 clips ahead (past the end of both videos) and
    // delivers a batch every 800 ms (100 ms a clip): killed at the first
    // batch after 1.5 s, it has handed over at most its first video. The
    // cursor must not have moved past what was handed over.
    const agents = ["a", "b"].map((id) =>
      startAgent(coord.url, id, [
        "--sink",
        `ids:${work.path}/ids-${id}.txt`,
        "--video",
        JSON.stringify(CLIPS),
        "--batch-size",
        "8",
        "--prefetch-batches",
        "4",
        "--sink-sleep-ms",
        id === "a" ? "100" : "2",
        ...(id === "a" ? ["--kill-after-ms", "1500"] : []),
      ])
    );
    const [a, b] = await Promise.all(agents.map((x) => x.done));
    assert.equal(a.signal, "SIGKILL", a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const fromA = await readLines(`${work.path}/ids-a.txt`);
    const fromB = await readLines(`${work.path}/ids-b.txt`);
    assert.ok(fromA.length >= 8, "a delivered clips before it was killed");
    assert.ok(fromA.length < 48, "a was killed mid-lease");
    const union = new Set([...fromA, ...fromB]);
    const missing = [...expected].filter((l) => !union.has(l));
    assert.deepEqual(missing, [], `${missing.length} clips never delivered`);
    assert.deepEqual(
      [...union].filter((l) => !expected.has(l)),
      [],
      "no clip outside the plan",
    );
    await coord.waitForEvent((e) => e.event === "job_drained");
    const events = coord.events();
    assert.ok(
      events.some((e) => e.event === "range_requeued"),
      "a's live lease was requeued",
    );
    assert.ok(!events.some((e) => e.event === "lease_overlap"));
  },
);

videoTest(
  'loader("", { video, coordUrl, jobId }) leases the videos in process: every clip once, stats, no checkpoint',
  async () => {
    await using work = await tempDir();
    const data = await packedVideos(work.path);
    const expected = await localClips(work.path, data);
    await using coord = await startCoordinator(
      jobFlags(work.path, data, { blockSize: 3, heartbeatMs: 200 }),
    );
    const events: string[] = [];
    // A batch of 6 clips spans at most two videos: the two largest (VP9,
    // 245 kB each) + one decoder + room for two batch tensors. Batches wait
    // for each other under the cap.
    const cap = 2 * (await Deno.stat((await sharedFixtures()).vp9)).size +
      2 * 6 * 8 * 32 * 32 * 3 +
      passWorkingBytes({ width: 320, height: 240 }, 1);
    await using clips = loader("", {
      video: { ...CLIPS, batchSizeClips: 6, decodeConcurrency: 1 },
      maxInflightBytes: cap,
      coordUrl: coord.url,
      jobId: "job",
      nodeId: "lib",
      log: (event) => events.push(event),
    });
    assert.deepEqual(await sortedDigests(clips), expected);
    const s = clips.stats();
    assert.equal(s.deliveredClipsTotal, 142);
    assert.equal(s.plannedClips, 142);
    assert.equal(s.videosIndexed, 7);
    assert.equal(s.videosFromManifest, 7);
    assert.equal(s.videosProbed, 0);
    assert.equal(s.inflightBytes, 0);
    assert.equal(s.maxInflightBytes, cap);
    assert.ok(s.inflightHighWaterBytes <= cap, JSON.stringify(s));
    assert.ok(s.inflightHighWaterBytes > cap / 2, "the cap was reached");
    assert.equal(clips.manifestHash, coord.manifestHash);
    assert.throws(() => clips.checkpoint(), /GetResumeCheckpoint/);
    assert.ok(events.includes("job_drained"), events.join(","));
    assert.equal(events.filter((e) => e === "lease_clips_planned").length, 3);
  },
);

videoTest(
  "distributed video options are checked at construction",
  () => {
    assert.throws(
      () => video("", { clip: 8, coordUrl: "http://127.0.0.1:1" }),
      /Distributed mode needs jobId/,
    );
    assert.throws(
      () =>
        video("", {
          clip: 8,
          coordUrl: "http://127.0.0.1:1",
          jobId: "j",
          resumeFrom: "mx8clip1.x",
        }),
      /resumeFrom is for a video loader working alone/,
    );
    assert.throws(
      () =>
        video("", {
          clip: 8,
          coordUrl: "http://127.0.0.1:1",
          jobId: "j",
          nodeId: "n",
          want: 0,
        }),
      /want must be an integer in 1\.\.1024, got 0/,
    );
    return Promise.resolve();
  },
);

videoTest(
  "leased videos of a folder (no index in their rows) are probed by the agent, with the same clips as video() alone",
  async () => {
    await using work = await tempDir();
    await packedVideos(work.path);
    const src = join(work.path, "src");
    const expected = await localClips(work.path, src);
    await using coord = await startCoordinator(
      jobFlags(work.path, src, { blockSize: 4, heartbeatMs: 200 }),
    );
    await using clips = video("", {
      ...CLIPS,
      coordUrl: coord.url,
      jobId: "job",
      nodeId: "lib",
      log: () => {},
    });
    assert.deepEqual(await sortedDigests(clips), expected);
    const s = clips.stats();
    assert.equal(s.videosProbed, 7);
    assert.equal(s.videosFromManifest, 0);
    assert.equal(s.inflightBytes, 0);
  },
);

videoTest(
  "SIGTERM while a video agent decodes and delivers: a clean stop (exit 143), no error, its lease is requeued",
  async () => {
    await using work = await tempDir();
    const data = await packedVideos(work.path);
    await using coord = await startCoordinator(
      jobFlags(work.path, data, {
        blockSize: 8,
        leaseTtlMs: 1500,
        heartbeatMs: 200,
      }),
    );
    const agent = startAgent(coord.url, "t", [
      "--sink",
      `ids:${work.path}/ids.txt`,
      "--video",
      JSON.stringify(CLIPS),
      "--batch-size",
      "4",
      "--sink-sleep-ms",
      "50",
    ]);
    await coord.waitForEvent((e) => e.event === "lease_granted", 60_000);
    // Batches are being built ahead while the sink sleeps.
    while ((await readLines(`${work.path}/ids.txt`)).length < 8) {
      await new Promise((r) => setTimeout(r, 100));
    }
    agent.kill("SIGTERM");
    const r = await agent.done;
    assert.equal(r.code, 143, r.stderr);
    assert.match(r.stdout, /^mx8 agent stopped by SIGTERM node=t clips=\d+/m);
    assert.doesNotMatch(r.stderr, /error/i);
    await coord.waitForEvent((e) => e.event === "range_requeued", 30_000);
  },
);
