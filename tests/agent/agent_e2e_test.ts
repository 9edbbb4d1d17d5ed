import assert from "node:assert/strict";
import { jobFlags, startCoordinator } from "../coordinator/_process.ts";
import { tempDir } from "../_helpers/tmp.ts";
import { packedDataset, readIds, startAgent } from "./_agents.ts";

const N = 300;

async function metrics(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^(?:mx8_)?([a-z_]+)(?:\{[^}]*\})?\s+([0-9.e+-]+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

function assertAllIds(union: Set<number>, n: number): void {
  const missing = [];
  for (let i = 0; i < n; i++) if (!union.has(i)) missing.push(i);
  assert.deepEqual(missing, [], `missing ${missing.length} ids`);
}

Deno.test("1 coordinator + 3 agents, one killed mid-lease: requeue, drain, every id delivered", async () => {
  await using work = await tempDir();
  const data = await packedDataset(work.path, N);
  await using coord = await startCoordinator(
    jobFlags(work.path, data, {
      worldSize: 3,
      blockSize: 20,
      leaseTtlMs: 1500,
      heartbeatMs: 200,
    }),
  );
  assert.equal(coord.samples, N);
  const agents = ["a", "b", "c"].map((id) =>
    startAgent(coord.url, id, [
      // One 20-sample lease takes ≥ 400 ms at 20 ms/sample: the kill at 250 ms lands mid-lease.
      "--sink",
      `ids:${work.path}/ids-${id}.txt`,
      "--batch-size",
      "5",
      "--sink-sleep-ms",
      id === "a" ? "20" : "3",
      ...(id === "a" ? ["--kill-after-ms", "250"] : []),
    ])
  );
  const results = await Promise.all(agents.map((a) => a.done));
  assert.equal(results[0].signal, "SIGKILL", "agent a was killed");
  for (const r of results.slice(1)) {
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^mx8 agent done node=\S+ samples=\d+ batches=\d+ leases=\d+$/m,
    );
  }
  const union = new Set<number>();
  for (const id of ["a", "b", "c"]) {
    for (const x of await readIds(`${work.path}/ids-${id}.txt`)) {
      union.add(x);
    }
  }
  assertAllIds(union, N);
  await coord.waitForEvent((e) => e.event === "job_drained");
  const m = await metrics(coord.url);
  assert.ok(m.leases_expired_total >= 1, JSON.stringify(m));
  assert.ok(m.ranges_requeued_total >= 1, JSON.stringify(m));
  assert.ok(
    !coord.events().some((e) => e.event === "lease_overlap"),
    "no overlapping leases",
  );
  assert.ok(coord.events().some((e) => e.event === "range_requeued"));
});

Deno.test("barrier: no lease before world size is reached", async () => {
  await using work = await tempDir();
  const data = await packedDataset(work.path, 40);
  await using coord = await startCoordinator(
    jobFlags(work.path, data, {
      worldSize: 2,
      blockSize: 10,
      heartbeatMs: 200,
    }),
  );
  const first = startAgent(coord.url, "first", [
    "--sink",
    `ids:${work.path}/1.txt`,
  ]);
  await coord.waitForEvent((e) => e.event === "node_registered");
  await new Promise((r) => setTimeout(r, 1200));
  assert.ok(
    !coord.events().some((e) => e.event === "lease_granted"),
    "no lease before the barrier",
  );
  const second = startAgent(coord.url, "second", [
    "--sink",
    `ids:${work.path}/2.txt`,
  ]);
  const [r1, r2] = await Promise.all([first.done, second.done]);
  assert.equal(r1.code, 0, r1.stderr);
  assert.equal(r2.code, 0, r2.stderr);
  const union = new Set([
    ...await readIds(`${work.path}/1.txt`),
    ...await readIds(`${work.path}/2.txt`),
  ]);
  assertAllIds(union, 40);
});

Deno.test("auth: a wrong token is refused clearly; the right one works", async () => {
  await using work = await tempDir();
  const data = await packedDataset(work.path, 20);
  await Deno.writeTextFile(`${work.path}/token`, "s3cret-token\n");
  await Deno.writeTextFile(`${work.path}/wrong`, "nope\n");
  await using coord = await startCoordinator(
    jobFlags(work.path, data, {
      extra: ["--auth-token-file", `${work.path}/token`],
    }),
  );
  const bad = await startAgent(coord.url, "bad", [
    "--auth-token-file",
    `${work.path}/wrong`,
  ]).done;
  assert.equal(bad.code, 1);
  assert.match(
    bad.stderr,
    /mx8 agent: error: coordinator rejected our token \(Unauthenticated/,
  );
  const none = await startAgent(coord.url, "none").done;
  assert.equal(none.code, 1);
  const good = await startAgent(coord.url, "good", [
    "--auth-token-file",
    `${work.path}/token`,
    "--sink",
    `ids:${work.path}/ids.txt`,
  ]).done;
  assert.equal(good.code, 0, good.stderr);
  assertAllIds(new Set(await readIds(`${work.path}/ids.txt`)), 20);
});

Deno.test("coordinator restart: agents keep retrying, re-register, and the job completes", async () => {
  await using work = await tempDir();
  const data = await packedDataset(work.path, 200);
  const args = [
    "--job-id",
    "job",
    "--dataset",
    data,
    "--world-size",
    "2",
    "--block-size",
    "20",
    "--lease-ttl-ms",
    "2000",
    "--heartbeat-ms",
    "200",
    "--manifest-store",
    `${work.path}/store`,
  ];
  const first = await startCoordinator(args);
  const port = new URL(first.url).port;
  const agents = ["x", "y"].map((id) =>
    startAgent(first.url, id, [
      "--sink",
      `ids:${work.path}/${id}.txt`,
      "--batch-size",
      "5",
      "--sink-sleep-ms",
      "5",
    ])
  );
  await first.waitForEvent((e) => e.event === "lease_granted");
  await new Promise((r) => setTimeout(r, 300));
  Deno.kill(first.pid, "SIGKILL");
  await first.stop();
  // Down for longer than a few backoff rounds (100 ms doubling): an agent
  // mid manifest-rows request must keep retrying, not give up after a count.
  await new Promise((r) => setTimeout(r, 4000));
  await using second = await startCoordinator([
    ...args,
    "--bind",
    `127.0.0.1:${port}`,
  ]);
  assert.equal(new URL(second.url).port, port);
  const results = await Promise.all(agents.map((a) => a.done));
  for (const r of results) {
    assert.equal(r.code, 0, r.stderr);
    // Registered with the first coordinator and again with its replacement.
    const registrations = r.stderr.match(/"event":"registered"/g) ?? [];
    assert.ok(registrations.length >= 2, r.stderr);
  }
  const union = new Set([
    ...await readIds(`${work.path}/x.txt`),
    ...await readIds(`${work.path}/y.txt`),
  ]);
  assertAllIds(union, 200);
  await second.waitForEvent((e) => e.event === "job_drained");
});

Deno.test("SIGTERM while the coordinator is unreachable: clean stop, exit 143, no internal error", async () => {
  // A port nothing listens on (port 9 would be refused by fetch outright: a permanent error).
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const agent = startAgent(`http://127.0.0.1:${port}`, "lonely");
  await new Promise((r) => setTimeout(r, 1500));
  agent.kill("SIGTERM");
  const r = await agent.done;
  assert.equal(r.code, 143, r.stderr);
  assert.match(
    r.stdout,
    /^mx8 agent stopped by SIGTERM node=lonely samples=0/m,
  );
  assert.match(r.stderr, /"event":"coordinator_unreachable"/);
  assert.doesNotMatch(r.stderr, /internal error/);
});
