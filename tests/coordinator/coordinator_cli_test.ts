import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { createCoordinatorClient } from "../../lib/rpc/client.ts";
import { runMx8 } from "../_helpers/mx8.ts";
import { tempDir } from "../_helpers/tmp.ts";
import { startCoordinator, writeDataset } from "./_process.ts";

function codeOf(err: unknown): Code {
  return ConnectError.from(err).code;
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\d+)$`, "m").exec(text);
  assert.ok(m, `metric ${name} missing:\n${text}`);
  return Number(m[1]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("mx8 coordinator: barrier, leases, expiry + requeue, drain, metrics", async () => {
  await using data = await tempDir();
  await using store = await tempDir();
  await writeDataset(data.path, 10);
  await using coord = await startCoordinator([
    "--job-id",
    "job1",
    "--dataset",
    data.path,
    "--manifest-store",
    store.path,
    "--world-size",
    "2",
    "--block-size",
    "4",
    "--lease-ttl-ms",
    "600",
    "--heartbeat-ms",
    "100",
  ]);
  assert.equal(coord.samples, 10);
  using client = createCoordinatorClient(coord.url);
  const job = { jobId: "job1" };

  // Barrier: one node is not enough.
  const a1 = await client.registerNode({ ...job, nodeId: "a" });
  assert.equal(a1.jobReady, false);
  assert.equal(a1.assignedRank, -1);
  await assert.rejects(
    client.requestLease({ ...job, nodeId: "a", want: 1 }),
    (err) => codeOf(err) === Code.FailedPrecondition,
  );
  const b = await client.registerNode({ ...job, nodeId: "b" });
  assert.equal(b.jobReady, true);
  assert.equal(b.assignedRank, 1);
  const a = await client.registerNode({ ...job, nodeId: "a" });
  assert.equal(a.assignedRank, 0);
  assert.equal(a.worldSize, 2);
  assert.equal(a.registeredNodes, 2);
  assert.equal(a.manifestHash, coord.manifestHash);
  assert.equal(a.datasetRoot, await Deno.realPath(data.path));
  assert.deepEqual(a.classes, ["cat", "dog"]);
  assert.equal(a.totalSamples, 10n);
  assert.equal(a.heartbeatIntervalMs, 100);
  assert.equal(a.leaseTtlMs, 600);

  // a takes [0,4), delivers two samples, then goes silent.
  const [la] = (await client.requestLease({ ...job, nodeId: "a", want: 1 }))
    .leases;
  assert.deepEqual([la.range?.startId, la.range?.endId], [0n, 4n]);
  await client.reportProgress({
    ...job,
    nodeId: "a",
    leaseId: la.leaseId,
    cursor: 2n,
    deliveredSamples: 2n,
  });

  // b drains its own queue while heartbeating.
  const [lb] = (await client.requestLease({ ...job, nodeId: "b", want: 1 }))
    .leases;
  assert.deepEqual([lb.range?.startId, lb.range?.endId], [4n, 8n]);
  await client.reportProgress({
    ...job,
    nodeId: "b",
    leaseId: lb.leaseId,
    cursor: 8n,
    deliveredSamples: 4n,
  });
  const beat = setInterval(() => {
    client.heartbeat({ ...job, nodeId: "b", stats: { inflightBytes: 7n } })
      .catch(() => {});
  }, 100);
  try {
    await coord.waitForEvent((e) =>
      e.event === "range_requeued" && e.lease_id === la.leaseId
    );
    await coord.waitForEvent((e) =>
      e.event === "node_departed" && e.node_id === "a"
    );
    // The remainder [2,4) comes first, then a's unissued block [8,10).
    const grant = await client.requestLease({ ...job, nodeId: "b", want: 2 });
    assert.deepEqual(
      grant.leases.map((l) => [l.range?.startId, l.range?.endId]),
      [[2n, 4n], [8n, 10n]],
    );
    for (const l of grant.leases) {
      await client.reportProgress({
        ...job,
        nodeId: "b",
        leaseId: l.leaseId,
        cursor: l.range!.endId,
      });
    }
  } finally {
    clearInterval(beat);
  }
  const after = await client.requestLease({ ...job, nodeId: "b", want: 1 });
  assert.equal(after.jobDrained, true);
  assert.equal(after.leases.length, 0);
  await assert.rejects(
    client.reportProgress({
      ...job,
      nodeId: "a",
      leaseId: la.leaseId,
      cursor: 3n,
    }),
    (err) => codeOf(err) === Code.FailedPrecondition, // a departed
  );

  const snap = await client.getJobSnapshot(job);
  assert.equal(snap.jobDrained, true);
  assert.equal(snap.completedSamples, 10n);
  assert.equal(snap.nodes.find((n) => n.nodeId === "a")?.departed, true);
  assert.equal(
    snap.nodes.find((n) => n.nodeId === "b")?.stats?.inflightBytes,
    7n,
  );
  const ckpt = await client.getResumeCheckpoint(job);
  assert.match(ckpt.checkpoint, /^mx8ckpt1\./);
  assert.equal(ckpt.manifestHash, coord.manifestHash);

  const metrics = await (await fetch(`${coord.url}/metrics`)).text();
  assert.equal(metric(metrics, "leases_expired_total"), 1);
  assert.equal(metric(metrics, "ranges_requeued_total"), 2);
  assert.equal(metric(metrics, "leases_granted_total"), 4);
  assert.equal(metric(metrics, "register_total"), 3);
  assert.equal(metric(metrics, "job_drained"), 1);
  assert.equal(metric(metrics, "completed_samples"), 10);
  assert.equal(metric(metrics, "total_samples"), 10);
  assert.equal(metric(metrics, "active_leases"), 0);
  assert.equal(metric(metrics, "registered_nodes"), 1);
  const health = await fetch(`${coord.url}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(await health.text(), "ok\n");

  await coord.waitForEvent((e) => e.event === "job_drained");
  await sleep(300); // one more tick: the drain must not be logged twice
  assert.equal(await coord.stop(), 0);
  const events = coord.events();
  const count = (name: string) => events.filter((e) => e.event === name).length;
  assert.equal(count("lease_granted"), 4);
  assert.equal(count("lease_completed"), 3);
  assert.equal(count("lease_expired"), 1);
  assert.equal(count("job_ready"), 1);
  assert.equal(count("job_drained"), 1);
  assert.equal(count("node_registered"), 2);
  assert.equal(count("lease_overlap"), 0);
  assert.equal(count("coordinator_stopping"), 1);
  const requeued = events.find((e) => e.event === "range_requeued");
  assert.deepEqual([requeued?.start_id, requeued?.end_id], [2, 4]);
  for (const e of events) {
    assert.equal(typeof e.ts, "string");
    assert.equal(e.job_id, "job1");
  }
  assert.ok(
    coord.stderrLines().every((l) => l.startsWith("{")),
    "stderr holds only JSON lines",
  );
});

Deno.test("mx8 coordinator: a bearer token guards every RPC, not /metrics", async () => {
  await using data = await tempDir();
  await using store = await tempDir();
  await writeDataset(data.path, 3);
  const tokenFile = `${store.path}/token`;
  await Deno.writeTextFile(tokenFile, "s3cret-token\n");
  await using coord = await startCoordinator([
    "--job-id",
    "j",
    "--dataset",
    data.path,
    "--manifest-store",
    store.path,
    "--auth-token-file",
    tokenFile,
  ]);
  for (const token of [undefined, "wrong"]) {
    using client = createCoordinatorClient(coord.url, { token });
    await assert.rejects(
      client.getJobSnapshot({ jobId: "j" }),
      (err) => codeOf(err) === Code.Unauthenticated,
    );
    await assert.rejects(
      client.registerNode({ jobId: "j", nodeId: "a" }),
      (err) => codeOf(err) === Code.Unauthenticated,
    );
  }
  using ok = createCoordinatorClient(coord.url, { token: "s3cret-token" });
  assert.equal(
    (await ok.registerNode({ jobId: "j", nodeId: "a" })).jobReady,
    true,
  );
  const metrics = await fetch(`${coord.url}/metrics`);
  assert.equal(metrics.status, 200);
  assert.equal(metric(await metrics.text(), "register_total"), 1);
  assert.equal((await fetch(`${coord.url}/healthz`)).status, 200);
});

Deno.test("mx8 coordinator: MX8_AUTH_TOKEN turns auth on", async () => {
  await using data = await tempDir();
  await using store = await tempDir();
  await writeDataset(data.path, 2);
  await using coord = await startCoordinator(
    ["--job-id", "j", "--dataset", data.path, "--manifest-store", store.path],
    { MX8_AUTH_TOKEN: "env-token" },
  );
  using anon = createCoordinatorClient(coord.url);
  await assert.rejects(
    anon.getJobSnapshot({ jobId: "j" }),
    (err) => codeOf(err) === Code.Unauthenticated,
  );
  using ok = createCoordinatorClient(coord.url, { token: "env-token" });
  assert.equal((await ok.getJobSnapshot({ jobId: "j" })).totalSamples, 2n);
});

function assertOneLine(stderr: string, re: RegExp): void {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.match(lines[0], re);
  assert.ok(!/\bat .*:\d+:\d+/.test(stderr), "no stack trace");
}

Deno.test("mx8 coordinator: bad input is one clear line and exit 1 or 2", async (t) => {
  await using data = await tempDir();
  await using store = await tempDir();
  await writeDataset(data.path, 2);
  const base = ["coordinator", "--manifest-store", store.path];
  const env = { MX8_AUTH_TOKEN: "" };

  await t.step("missing --job-id", async () => {
    const r = await runMx8([...base, "--dataset", data.path], env);
    assert.equal(r.code, 2);
    assertOneLine(r.stderr, /missing --job-id/);
  });
  await t.step("unknown flag", async () => {
    const r = await runMx8(
      [...base, "--job-id", "j", "--dataset", data.path, "--wat"],
      env,
    );
    assert.equal(r.code, 2);
    assertOneLine(r.stderr, /--wat/);
  });
  await t.step("bad numbers and bind", async () => {
    for (
      const [flag, value, re] of [
        ["--world-size", "0", /--world-size must be an integer >= 1/],
        ["--lease-ttl-ms", "abc", /--lease-ttl-ms must be an integer/],
        ["--bind", "localhost", /--bind must be HOST:PORT/],
        ["--heartbeat-ms", "20000", /--heartbeat-ms must be less than/],
        ["--resume-from", "nope", /--resume-from: Invalid checkpoint token/],
      ] as const
    ) {
      const r = await runMx8(
        [...base, "--job-id", "j", "--dataset", data.path, flag, value],
        env,
      );
      assert.equal(r.code, 2, r.stderr);
      assertOneLine(r.stderr, re);
    }
  });
  await t.step("unknown dataset", async () => {
    const r = await runMx8(
      [...base, "--job-id", "j", "--dataset", `${data.path}/nope`],
      env,
    );
    assert.equal(r.code, 1);
    assertOneLine(r.stderr, /^mx8 coordinator: error: .*nope/);
  });
  await t.step("missing and empty token files", async () => {
    const empty = `${store.path}/empty`;
    await Deno.writeTextFile(empty, "\n");
    for (
      const [file, re] of [
        [`${store.path}/missing`, /auth token file .*missing/i],
        [empty, /Auth token file .*empty is empty/],
      ]
    ) {
      const r = await runMx8([
        ...base,
        "--job-id",
        "j",
        "--dataset",
        data.path,
        "--auth-token-file",
        file as string,
      ], env);
      assert.equal(r.code, 1);
      assertOneLine(r.stderr, re as RegExp);
    }
  });
  await t.step("bind in use", async () => {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const r = await runMx8([
      ...base,
      "--job-id",
      "j",
      "--dataset",
      data.path,
      "--bind",
      `127.0.0.1:${port}`,
    ], env);
    assert.equal(r.code, 1);
    assertOneLine(r.stderr, /address already in use/);
  });
  await t.step(
    "an unresolvable --bind host names the main address, not the gRPC port",
    async () => {
      const r = await runMx8([
        ...base,
        "--job-id",
        "j",
        "--dataset",
        data.path,
        "--bind",
        "nohost.invalid:1",
      ], env);
      assert.equal(r.code, 1);
      assertOneLine(
        r.stderr,
        /^mx8 coordinator: error: Cannot listen on nohost\.invalid:1: /,
      );
      assert.doesNotMatch(r.stderr, /gRPC/);
    },
  );
  await t.step("malformed connection limits", async () => {
    for (
      const flag of [
        "--max-connections",
        "--idle-timeout-ms",
        "--header-timeout-ms",
        "--body-timeout-ms",
      ]
    ) {
      const r = await runMx8(
        [...base, "--job-id", "j", "--dataset", data.path, flag, "0"],
        env,
      );
      assert.equal(r.code, 2, r.stderr);
      assertOneLine(r.stderr, new RegExp(`${flag} must be an integer >= 1`));
    }
  });
});

/** A free port P whose P + 1 is held by the returned listener. */
function portBelowATakenOne(): { port: number; taken: Deno.Listener } {
  for (let tries = 0; tries < 50; tries++) {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (taken.addr as Deno.NetAddr).port - 1;
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return { port, taken };
    } catch {
      taken.close();
    }
  }
  throw new Error("no free port below a taken one");
}

Deno.test("mx8 coordinator: a taken default gRPC port (--bind's + 1) falls back to a free one and says so; an explicit one is an error", async () => {
  await using data = await tempDir();
  await using store = await tempDir();
  await writeDataset(data.path, 4);
  const { port, taken } = portBelowATakenOne();
  try {
    const common = ["--dataset", data.path, "--manifest-store", store.path];
    {
      await using coord = await startCoordinator([
        "--job-id",
        "fallback",
        ...common,
        "--bind",
        `127.0.0.1:${port}`,
      ]);
      assert.equal(coord.url, `http://127.0.0.1:${port}`);
      assert.notEqual(coord.grpcUrl, `http://127.0.0.1:${port + 1}`);
      assert.match(coord.grpcUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      const e = await coord.waitForEvent((e) =>
        e.event === "grpc_port_fallback"
      );
      assert.equal(e.wanted_port, port + 1);
      assert.equal(e.grpc_url, coord.grpcUrl);
    }
    const r = await runMx8([
      "coordinator",
      "--job-id",
      "explicit",
      ...common,
      "--bind",
      "127.0.0.1:0",
      "--grpc-bind",
      String(port + 1),
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `gRPC port: Cannot listen on 127\\.0\\.0\\.1:${
          port + 1
        }: address already in use`,
      ),
    );
  } finally {
    taken.close();
  }
});
