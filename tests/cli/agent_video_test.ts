import assert from "node:assert/strict";
import { parseAgentVideo } from "../../lib/cli/agent_video.ts";
import { UsageError } from "../../lib/cli/command.ts";
import { runMx8 } from "../_helpers/mx8.ts";

Deno.test("parseAgentVideo: a JSON object of clip options", () => {
  assert.deepEqual(
    parseAgentVideo(
      '{"clip":16,"stride":8,"resizeHw":[112,112],"seed":3,"toFloat":true}',
    ),
    { clip: 16, stride: 8, resizeHw: [112, 112], seed: 3, toFloat: true },
  );
});

Deno.test("parseAgentVideo: bad JSON, a non-object, a missing clip, unknown keys and keys with their own flag are usage errors naming the fix", () => {
  const cases: [string, RegExp][] = [
    [
      "{clip:8}",
      /--video must be a JSON object of clip options.*in "\{clip:8\}"/,
    ],
    ["[8]", /--video must be a JSON object.*got \[8\]/],
    ["8", /--video must be a JSON object/],
    ['{"stride":8}', /--video needs "clip" \(frames per clip, a number\)/],
    ['{"clip":"8"}', /--video needs "clip"/],
    ['{"clip":8,"clips":2}', /unknown key "clips": use clip, stride, /],
    [
      '{"clip":8,"maxInflightBytes":1}',
      /"maxInflightBytes" has its own flag: pass --max-inflight-bytes/,
    ],
    ['{"clip":8,"coordUrl":"x"}', /pass --coord-url instead/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseAgentVideo(text), (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.match(e.message, re);
      return true;
    });
  }
});

const AGENT = [
  "agent",
  "--coord-url",
  "http://127.0.0.1:1",
  "--job-id",
  "j",
  "--node-id",
  "n",
];

Deno.test("mx8 agent --video: an out-of-range clip option exits 2 with one line naming --video, before any coordinator call", async () => {
  const r = await runMx8([...AGENT, "--video", '{"clip":0}']);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(
    r.stderr.trim(),
    "mx8 agent: --video: clip must be a positive integer: 0 (see mx8 agent --help)",
  );
  const bad = await runMx8([...AGENT, "--video", '{"clip":8,"sampling":"x"}']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--video: sampling must be "regular" or "random"/);
});

Deno.test("mx8 agent --video: flags that do not apply, or say the same thing twice, are refused", async () => {
  const q = await runMx8([
    ...AGENT,
    "--video",
    '{"clip":8}',
    "--max-queue-batches",
    "4",
  ]);
  assert.equal(q.code, 2, q.stderr);
  assert.match(q.stderr, /--max-queue-batches does not apply to --video/);
  const b = await runMx8([
    ...AGENT,
    "--video",
    '{"clip":8,"batchSizeClips":4}',
    "--batch-size",
    "4",
  ]);
  assert.equal(b.code, 2, b.stderr);
  assert.match(b.stderr, /--batch-size and --video's "batchSizeClips"/);
});

Deno.test("mx8 agent --help documents --video and its ids: lines", async () => {
  const r = await runMx8(["agent", "--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /--video JSON/);
  assert.match(r.stdout, /CLIP_ID<TAB>SAMPLE_ID<TAB>START_SECONDS/);
  assert.match(r.stdout, /mx8 agent done node=ID clips=N/);
});
