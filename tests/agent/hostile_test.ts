/**
 * `mx8 agent` against hostile or broken surroundings, as real processes:
 * endpoints that are not coordinators, an unmet barrier, a throwing sink, a
 * crash and re-run with the default node id.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { hostname } from "node:os";
import { jobFlags, startCoordinator } from "../coordinator/_process.ts";
import { tempDir } from "../_helpers/tmp.ts";
import {
  type AgentProcess,
  packedDataset,
  readIds,
  startAgent,
} from "./_agents.ts";

/** Waits for the agent's exit; a hang (the bug) is killed and reported. */
async function exitOf(agent: AgentProcess, limitMs = 30_000) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((r) => {
    timer = setTimeout(() => r("hung"), limitMs);
  });
  const r = await Promise.race([agent.done, hung]);
  clearTimeout(timer);
  if (r === "hung") {
    agent.kill("SIGKILL");
    const out = await agent.done;
    assert.fail(`agent still running after ${limitMs} ms:\n${out.stderr}`);
  }
  return r;
}

function events(stderr: string): Record<string, unknown>[] {
  return stderr.split("\n").filter((l) => l.startsWith("{")).map((l) =>
    JSON.parse(l)
  );
}

Deno.test("a blocked port (6000) fails at once with the reason and the fix, no retry loop", async () => {
  const r = await exitOf(startAgent("http://127.0.0.1:6000", "n"));
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /mx8 agent: error: registration of node n for job job at http:\/\/127\.0\.0\.1:6000 failed: the runtime refuses to connect to port 6000 .*; run the coordinator on another port/,
  );
  assert.doesNotMatch(r.stderr, /internal error/);
});

Deno.test("an HTTP/1.1 server that is not a coordinator fails at once, naming --coord-url", async () => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("hello");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const port = (server.address() as { port: number }).port;
    const r = await exitOf(startAgent(`http://127.0.0.1:${port}`, "n"));
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /error: registration of node n .* failed: the server does not speak HTTP\/2 \(h2c\) like an MX8 coordinator.*check --coord-url/,
    );
  } finally {
    await new Promise((r) => server.close(r));
  }
});

Deno.test("an unmet barrier is logged with the missing count (not every poll) and --barrier-timeout-ms ends the wait", async () => {
  await using work = await tempDir();
  const data = await packedDataset(work.path, 20);
  await using coord = await startCoordinator(
    jobFlags(work.path, data, { worldSize: 3, heartbeatMs: 200 }),
  );
  const r = await exitOf(
    startAgent(coord.url, "only", ["--barrier-timeout-ms", "3000"]),
  );
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /error: job job at http:\/\/127\.0\.0\.1:\d+: membership barrier not met after 3000 ms: 1 of 3 nodes registered, 2 missing; start the missing agents/,
  );
  const waits = events(r.stderr).filter((e) =>
    e.event === "waiting_for_barrier"
  );
  // The old agent logged every 500 ms (6+ lines in 3 s); now once per change or 10 s.
  assert.equal(waits.length, 1, r.stderr);
  assert.deepEqual(
    [waits[0].registered, waits[0].world_size, waits[0].missing],
    [1, 3, 2],
  );
});

Deno.test("a module sink that throws: one clear line naming the sink and the error, exit 1", async () => {
  await using work = await tempDir();
  const data = await packedDataset(work.path, 20);
  await Deno.writeTextFile(
    `${work.path}/bad_sink.ts`,
    `export default () => { throw new Error("disk quota exceeded"); };\n`,
  );
  await using coord = await startCoordinator(jobFlags(work.path, data));
  const r = await exitOf(
    startAgent(coord.url, "n", ["--sink", `module:${work.path}/bad_sink.ts`]),
  );
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `mx8 agent: error: sink module:${work.path}/bad_sink\\.ts threw: disk quota exceeded \\(batch of sample ids 0\\.\\.\\d+\\)`,
    ),
  );
  assert.doesNotMatch(r.stderr, /internal error/);
});

Deno.test("default node ids: a crashed agent re-run with the same command rejoins and the job drains; two agents on one host get distinct ids", async () => {
  await using work = await tempDir();
  const n = 120;
  const data = await packedDataset(work.path, n);
  const env = { MX8_STATE_DIR: `${work.path}/state` };
  await using coord = await startCoordinator(
    jobFlags(work.path, data, {
      worldSize: 1,
      blockSize: 40,
      leaseTtlMs: 1500,
      heartbeatMs: 200,
    }),
  );
  const sink = ["--sink", `ids:${work.path}/ids.txt`, "--batch-size", "5"];
  const crashed = await exitOf(
    startAgent(coord.url, "", [
      ...sink,
      "--sink-sleep-ms",
      "20",
      "--kill-after-ms",
      "300",
    ], env),
  );
  assert.equal(crashed.signal, "SIGKILL", crashed.stderr);
  const rerun = await exitOf(startAgent(coord.url, "", sink, env), 60_000);
  assert.equal(rerun.code, 0, rerun.stderr);
  const id = `${hostname()}-0`;
  assert.match(rerun.stdout, new RegExp(`^mx8 agent done node=${id} `, "m"));
  assert.ok(
    events(crashed.stderr).some((e) =>
      e.event === "registered" && e.node_id === id
    ),
    crashed.stderr,
  );
  assert.deepEqual(
    [...new Set(await readIds(`${work.path}/ids.txt`))].sort((a, b) => a - b),
    Array.from({ length: n }, (_, i) => i),
  );
  await coord.waitForEvent((e) => e.event === "job_drained");

  // Two agents of one job on one host at once: hostname-0 and hostname-1.
  await using coord2 = await startCoordinator(
    jobFlags(work.path, data, { worldSize: 2, blockSize: 40 }),
  );
  const pair = await Promise.all(
    [1, 2].map((k) =>
      exitOf(
        startAgent(
          coord2.url,
          "",
          ["--sink", `ids:${work.path}/p${k}.txt`],
          env,
        ),
      )
    ),
  );
  const ids = pair.map((r) => {
    assert.equal(r.code, 0, r.stderr);
    return /node=(\S+)/.exec(r.stdout)![1];
  }).sort();
  assert.deepEqual(ids, [`${hostname()}-0`, `${hostname()}-1`]);
});
