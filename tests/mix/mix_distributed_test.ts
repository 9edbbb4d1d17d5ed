import assert from "node:assert/strict";
import { DataLoader, mix } from "../../mod.ts";
import { startCoordinator, writeDataset } from "../coordinator/_process.ts";
import { tempDir } from "../_helpers/tmp.ts";
import { createCoordinatorClient } from "../../lib/rpc/client.ts";

const CONSUMER = new URL("./_mix_consumer.ts", import.meta.url).pathname;

/** A consumer process running the leased mix; its delivered batches as they come. */
function startConsumer(
  urlA: string,
  urlB: string,
  node: string,
  sleepMs: number,
) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unsafe-proto",
      "--quiet",
      CONSUMER,
      urlA,
      urlB,
      node,
      String(sleepMs),
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const batches: { s: number; ids: number[] }[] = [];
  let done = false;
  const waiters = new Set<() => void>();
  const out = (async () => {
    let buf = "";
    for await (const t of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += t;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (line.done) done = true;
        else batches.push(line);
        for (const w of waiters) w();
      }
    }
  })();
  const err = new Response(child.stderr).text();
  return {
    pid: child.pid,
    batches,
    get done() {
      return done;
    },
    /** Resolves once `n` batches were printed. */
    waitBatches(n: number): Promise<void> {
      return new Promise((resolve) => {
        const check = () => {
          if (batches.length >= n) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
      });
    },
    async status() {
      const st = await child.status;
      await out;
      return { ...st, stderr: await err };
    },
  };
}

Deno.test("mix: two distributed sources (two coordinator processes) mixed, every sample of each delivered", async () => {
  await using dataA = await tempDir();
  await using dataB = await tempDir();
  await using store = await tempDir();
  await writeDataset(dataA.path, 48);
  await writeDataset(dataB.path, 20);
  const coordArgs = (job: string, dir: string) => [
    "--job-id",
    job,
    "--dataset",
    dir,
    "--manifest-store",
    store.path,
    "--world-size",
    "1",
    "--block-size",
    "8",
    "--heartbeat-ms",
    "100",
  ];
  await using a = await startCoordinator(coordArgs("mix-a", dataA.path));
  await using b = await startCoordinator(coordArgs("mix-b", dataB.path));
  const leased = (coordUrl: string, jobId: string) =>
    new DataLoader("", {
      coordUrl,
      jobId,
      nodeId: `mixer-${jobId}`,
      batchSizeSamples: 4,
      log: () => {},
    });
  await using m = mix(
    { a: leased(a.url, "mix-a"), b: leased(b.url, "mix-b") },
    {
      weights: { a: 0.7, b: 0.3 },
      seed: 1,
      onSourceExhausted: "allow",
      log: () => {},
    },
  );
  const seen: number[][] = [[], []];
  const units: number[] = [];
  let checked = false;
  for await (const batch of m) {
    if (!checked) {
      checked = true;
      assert.throws(
        () => m.checkpoint(),
        /distributed; it resumes through its coordinator/,
      );
      // The node's heartbeats to each coordinator carry the whole mix.
      for (const [c, job] of [[a, "mix-a"], [b, "mix-b"]] as const) {
        const client = createCoordinatorClient(c.url);
        for (let tries = 0;; tries++) {
          assert.ok(
            tries < 200,
            `no heartbeat to ${job} carried the mix's sources`,
          );
          const snap = await client.getJobSnapshot({ jobId: job });
          const node = snap.nodes.find((n) => n.nodeId === `mixer-${job}`);
          const mixSources = node?.stats?.mixSources ?? [];
          if (mixSources.length > 0) {
            assert.deepEqual(mixSources.map((x) => x.name), ["a", "b"]);
            break;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
    const s = Number(batch.sourceIds[0]);
    units.push(s);
    seen[s].push(...Array.from(batch.sampleIds, Number));
  }
  assert.deepEqual(
    seen[0].toSorted((x, y) => x - y),
    Array.from({ length: 48 }, (_, i) => i),
  );
  assert.deepEqual(
    seen[1].toSorted((x, y) => x - y),
    Array.from({ length: 20 }, (_, i) => i),
  );
  // Exact while both had leases: 5 of b's batches within the first 16 units (0.3 × 16 = 4.8).
  assert.ok(
    Math.abs(units.slice(0, 16).filter((s) => s === 1).length - 4.8) <= 1,
  );
  const st = m.stats().mixSources;
  assert.equal(st[0].manifestHash, a.manifestHash);
  assert.equal(st[1].manifestHash, b.manifestHash);
});

Deno.test("mix: two leased mix consumers, one killed -9 mid-lease; the other finishes both jobs, every sample delivered (at-least-once)", async () => {
  await using dataA = await tempDir();
  await using dataB = await tempDir();
  await using store = await tempDir();
  const [nA, nB] = [160, 80];
  await writeDataset(dataA.path, nA);
  await writeDataset(dataB.path, nB);
  const coordArgs = (job: string, dir: string) => [
    "--job-id",
    job,
    "--dataset",
    dir,
    "--manifest-store",
    store.path,
    "--world-size",
    "2",
    "--block-size",
    "8",
    "--lease-ttl-ms",
    "1500",
    "--heartbeat-ms",
    "200",
  ];
  await using a = await startCoordinator(coordArgs("mix-a", dataA.path));
  await using b = await startCoordinator(coordArgs("mix-b", dataB.path));
  // m1 is slow (150 ms a batch): the kill lands while it holds leases.
  const m1 = startConsumer(a.url, b.url, "m1", 150);
  const m2 = startConsumer(a.url, b.url, "m2", 30);
  await m1.waitBatches(4);
  Deno.kill(m1.pid, "SIGKILL");
  const st1 = await m1.status();
  assert.equal(st1.signal, "SIGKILL", st1.stderr);
  assert.equal(m1.done, false, "killed before the end");
  const st2 = await m2.status();
  assert.equal(st2.code, 0, st2.stderr);
  assert.ok(m2.done, st2.stderr);
  const all = [...m1.batches, ...m2.batches];
  for (const [s, n] of [[0, nA], [1, nB]]) {
    const got = new Set(all.filter((x) => x.s === s).flatMap((x) => x.ids));
    const missing = Array.from({ length: n }, (_, i) => i).filter((i) =>
      !got.has(i)
    );
    assert.deepEqual(missing, [], `source ${s}: samples never delivered`);
  }
  // The killed consumer's leases expired and were re-granted to the other.
  const requeued = [...a.events(), ...b.events()].filter((e) =>
    e.event === "range_requeued"
  );
  assert.ok(
    requeued.length >= 1,
    "a lease of the killed consumer was requeued",
  );
  await a.waitForEvent((e) => e.event === "job_drained");
  await b.waitForEvent((e) => e.event === "job_drained");
});
