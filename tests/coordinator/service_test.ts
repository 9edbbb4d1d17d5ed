import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  encodeCheckpoint,
  parseCheckpoint,
} from "../../lib/lease/checkpoint.ts";
import { MANIFEST_CHUNK_BYTES } from "../../lib/coordinator/manifest_chunks.ts";
import { requireBearerToken } from "../../lib/rpc/auth.ts";
import { testJob } from "./_job.ts";

async function rejectsWith(
  promise: Promise<unknown>,
  code: Code,
  message?: RegExp,
): Promise<void> {
  await assert.rejects(promise, (err) => {
    const ce = ConnectError.from(err);
    assert.equal(Code[ce.code], Code[code], ce.message);
    if (message) assert.match(ce.rawMessage, message);
    return true;
  });
}

const J = { jobId: "j" };

Deno.test("RegisterNode fills every field and freezes membership at the barrier", async () => {
  const { client, job } = testJob();
  const a = await client.registerNode({
    ...J,
    nodeId: "b",
    caps: { maxInflightBytes: 5n, cpuCores: 2 },
  });
  assert.equal(a.assignedRank, -1);
  assert.equal(a.jobReady, false);
  assert.equal(a.worldSize, 2);
  assert.equal(a.registeredNodes, 1);
  assert.equal(a.manifestHash, job.manifestHash);
  assert.equal(a.heartbeatIntervalMs, 100);
  assert.equal(a.leaseTtlMs, 1000);
  assert.equal(a.datasetRoot, "/data");
  assert.deepEqual(a.classes, ["cls0", "cls1"]);
  assert.equal(a.totalSamples, 10n);
  const b = await client.registerNode({ ...J, nodeId: "a" });
  assert.equal(b.jobReady, true);
  assert.equal(b.assignedRank, 0);
  assert.equal(
    (await client.registerNode({ ...J, nodeId: "b" })).assignedRank,
    1,
  );
  await rejectsWith(
    client.registerNode({ ...J, nodeId: "c" }),
    Code.FailedPrecondition,
    /Membership is frozen: node "c" is not one of the 2 members \("a", "b"\); a member restarted after a crash must register with its old node id/,
  );
});

Deno.test("every RPC checks the job id: empty → InvalidArgument, other → FailedPrecondition", async () => {
  const { client } = testJob();
  const calls = (jobId: string) => [
    client.registerNode({ jobId, nodeId: "a" }),
    client.heartbeat({ jobId, nodeId: "a" }),
    client.requestLease({ jobId, nodeId: "a", want: 1 }),
    client.reportProgress({ jobId, nodeId: "a", leaseId: "l" }),
    client.getManifest({ jobId }),
    (async () => {
      for await (const _ of client.getManifestStream({ jobId })) { /* none */ }
    })(),
    client.getJobSnapshot({ jobId }),
    client.getResumeCheckpoint({ jobId }),
  ];
  for (const p of calls("")) {
    await rejectsWith(p, Code.InvalidArgument, /Job id must not be empty/);
  }
  for (const p of calls("other")) {
    await rejectsWith(p, Code.FailedPrecondition, /Wrong job.*"other"/);
  }
});

Deno.test("node and lease rules map to InvalidArgument / FailedPrecondition / NotFound", async () => {
  const { client } = testJob();
  await rejectsWith(
    client.registerNode({ ...J, nodeId: "" }),
    Code.InvalidArgument,
  );
  await rejectsWith(
    client.heartbeat({ ...J, nodeId: "ghost" }),
    Code.FailedPrecondition,
    /not registered/,
  );
  await rejectsWith(
    client.requestLease({ ...J, nodeId: "ghost", want: 1 }),
    Code.FailedPrecondition,
    /not registered/,
  );
  await client.registerNode({ ...J, nodeId: "a" });
  await rejectsWith(
    client.requestLease({ ...J, nodeId: "a", want: 1 }),
    Code.FailedPrecondition,
    /barrier not met: 1 of 2/,
  );
  await client.registerNode({ ...J, nodeId: "b" });
  await rejectsWith(
    client.requestLease({ ...J, nodeId: "a", want: 0 }),
    Code.InvalidArgument,
    /Want/,
  );
  const [lease] = (await client.requestLease({ ...J, nodeId: "a", want: 1 }))
    .leases;
  assert.deepEqual([lease.range?.startId, lease.range?.endId], [0n, 4n]);
  assert.equal(lease.nodeId, "a");
  assert.equal(lease.expiresUnixTimeMs, 2000n);
  const report = (nodeId: string, leaseId: string, cursor: bigint) =>
    client.reportProgress({ ...J, nodeId, leaseId, cursor });
  await rejectsWith(report("a", "nope", 1n), Code.NotFound, /"nope"/);
  await rejectsWith(report("a", "", 1n), Code.InvalidArgument);
  await rejectsWith(
    report("b", lease.leaseId, 1n),
    Code.FailedPrecondition,
    /not yours/,
  );
  await rejectsWith(report("a", lease.leaseId, 5n), Code.InvalidArgument);
  await rejectsWith(
    report("a", lease.leaseId, 2n ** 60n),
    Code.InvalidArgument,
    /out of range/,
  );
  await report("a", lease.leaseId, 3n);
  await report("a", lease.leaseId, 3n); // equal is fine
  await rejectsWith(
    report("a", lease.leaseId, 2n),
    Code.FailedPrecondition,
    /backwards/,
  );
  await report("a", lease.leaseId, 4n);
  await report("a", lease.leaseId, 4n); // repeating the final report is a no-op
  await rejectsWith(report("a", lease.leaseId, 3n), Code.NotFound);
});

Deno.test("expiry requeues the remainder, which the next request gets first", async () => {
  const { client, advance, events } = testJob();
  await client.registerNode({ ...J, nodeId: "a" });
  await client.registerNode({ ...J, nodeId: "b" });
  const [la] = (await client.requestLease({ ...J, nodeId: "a", want: 1 }))
    .leases;
  await client.reportProgress({
    ...J,
    nodeId: "a",
    leaseId: la.leaseId,
    cursor: 1n,
  });
  advance(900);
  await client.heartbeat({ ...J, nodeId: "b" });
  advance(200); // a's lease and a itself are past the TTL
  const expired = events.filter((e) => e.event === "lease_expired");
  assert.deepEqual(expired.map((e) => e.cursor), [1]);
  // The pool first (remainder, then a's unissued block), then b's own queue.
  const grant = await client.requestLease({ ...J, nodeId: "b", want: 3 });
  assert.deepEqual(
    grant.leases.map((l) => [l.range?.startId, l.range?.endId]),
    [[1n, 4n], [8n, 10n], [4n, 8n]],
  );
  const snap = await client.getJobSnapshot(J);
  assert.equal(snap.counters?.leasesExpiredTotal, 1n);
  assert.equal(snap.counters?.rangesRequeuedTotal, 2n);
  assert.equal(snap.nodes.find((n) => n.nodeId === "a")?.departed, true);
  await rejectsWith(
    client.heartbeat({ ...J, nodeId: "a" }),
    Code.FailedPrecondition,
    /departed/,
  );
  await rejectsWith(
    client.reportProgress({
      ...J,
      nodeId: "b",
      leaseId: la.leaseId,
      cursor: 2n,
    }),
    Code.NotFound,
    /expired/,
  );
});

Deno.test("GetManifest and GetManifestStream return the pinned bytes; another hash is NotFound", async () => {
  const { client, job } = testJob({ totalSamples: 3 });
  const one = await client.getManifest({
    ...J,
    manifestHash: job.manifestHash,
  });
  assert.deepEqual(one.manifestBytes, job.manifestBytes);
  assert.equal(one.schemaVersion, 0);
  assert.deepEqual(
    (await client.getManifest(J)).manifestBytes,
    job.manifestBytes,
    "an empty hash means the pinned one",
  );
  const chunks = await Array.fromAsync(
    client.getManifestStream({ ...J, manifestHash: job.manifestHash }),
  );
  assert.equal(chunks.length, 1);
  assert.deepEqual(chunks[0].data, job.manifestBytes);
  const other = "0".repeat(64);
  await rejectsWith(
    client.getManifest({ ...J, manifestHash: other }),
    Code.NotFound,
    /Manifest not found/,
  );
  await rejectsWith(
    Array.fromAsync(client.getManifestStream({ ...J, manifestHash: other })),
    Code.NotFound,
  );
});

Deno.test("GetManifestStream cuts a large manifest into ≤ 1 MiB chunks", async () => {
  const { client, job } = testJob({ totalSamples: 150_000 });
  assert.ok(job.manifestBytes.length > 2 * MANIFEST_CHUNK_BYTES);
  const chunks = await Array.fromAsync(client.getManifestStream(J));
  assert.ok(chunks.length >= 3);
  assert.ok(chunks.every((c) => c.data.length <= MANIFEST_CHUNK_BYTES));
  const joined = new Uint8Array(
    chunks.reduce((n, c) => n + c.data.length, 0),
  );
  let at = 0;
  for (const c of chunks) {
    joined.set(c.data, at);
    at += c.data.length;
  }
  assert.deepEqual(joined, job.manifestBytes);
});

Deno.test("GetJobSnapshot maps nodes, caps, stats, live leases and counters", async () => {
  const { client, job } = testJob();
  await client.registerNode({
    ...J,
    nodeId: "a",
    caps: { maxInflightBytes: 64n, maxRamBytes: 128n, cpuCores: 4 },
  });
  await client.registerNode({ ...J, nodeId: "b" });
  await client.heartbeat({
    ...J,
    nodeId: "a",
    stats: { inflightBytes: 9n, autotuneProfile: "balanced" },
  });
  const [lease] = (await client.requestLease({ ...J, nodeId: "a", want: 1 }))
    .leases;
  await client.reportProgress({
    ...J,
    nodeId: "a",
    leaseId: lease.leaseId,
    cursor: 2n,
    deliveredSamples: 2n,
    deliveredBytes: 20n,
  });
  const snap = await client.getJobSnapshot(J);
  assert.equal(snap.jobId, "j");
  assert.equal(snap.manifestHash, job.manifestHash);
  assert.equal(snap.worldSize, 2);
  assert.equal(snap.registeredNodes, 2);
  assert.equal(snap.jobReady, true);
  assert.equal(snap.jobDrained, false);
  assert.equal(snap.activeLeases, 1);
  assert.equal(snap.availableRanges, 2);
  assert.equal(snap.requeuedRanges, 0);
  assert.equal(snap.totalSamples, 10n);
  assert.equal(snap.completedSamples, 2n);
  assert.equal(snap.serverTimeUnixMs, 1000n);
  const a = snap.nodes[0];
  assert.equal(a.nodeId, "a");
  assert.equal(a.rank, 0);
  assert.equal(a.caps?.maxRamBytes, 128n);
  assert.equal(a.caps?.cpuCores, 4);
  assert.equal(a.stats?.inflightBytes, 9n);
  assert.equal(a.stats?.autotuneProfile, "balanced");
  assert.equal(a.lastHeartbeatUnixTimeMs, 1000n);
  assert.equal(snap.nodes[1].stats, undefined);
  assert.equal(snap.liveLeases.length, 1);
  assert.equal(snap.liveLeases[0].leaseId, lease.leaseId);
  assert.equal(snap.liveLeases[0].cursor, 2n);
  assert.equal(snap.counters?.registerTotal, 2n);
  assert.equal(snap.counters?.heartbeatTotal, 1n);
  assert.equal(snap.counters?.requestLeaseTotal, 1n);
  assert.equal(snap.counters?.leasesGrantedTotal, 1n);
  assert.equal(snap.counters?.progressTotal, 1n);
  assert.equal(snap.counters?.activeLeases, 1n);
  assert.equal(snap.counters?.registeredNodes, 2n);
});

Deno.test("GetResumeCheckpoint returns a token a new coordinator resumes from", async () => {
  const first = testJob({ worldSize: 1 });
  await first.client.registerNode({ ...J, nodeId: "a" });
  const [lease] =
    (await first.client.requestLease({ ...J, nodeId: "a", want: 1 })).leases;
  await first.client.reportProgress({
    ...J,
    nodeId: "a",
    leaseId: lease.leaseId,
    cursor: 3n,
  });
  const ckpt = await first.client.getResumeCheckpoint(J);
  assert.equal(ckpt.manifestHash, first.job.manifestHash);
  assert.equal(ckpt.epoch, 0);
  assert.deepEqual(parseCheckpoint(ckpt.checkpoint).completed, [
    { startId: 0, endId: 3 },
  ]);

  const second = testJob({ worldSize: 1, resumeFrom: ckpt.checkpoint });
  await second.client.registerNode({
    ...J,
    nodeId: "a",
    resumeFrom: ckpt.checkpoint,
  });
  const grant = await second.client.requestLease({
    ...J,
    nodeId: "a",
    want: 9,
  });
  assert.deepEqual(
    grant.leases.map((l) => [l.range?.startId, l.range?.endId]),
    [[3n, 4n], [4n, 8n], [8n, 10n]],
  );
  // A token this coordinator did not apply, or of another manifest, is refused.
  await rejectsWith(
    first.client.registerNode({
      ...J,
      nodeId: "a",
      resumeFrom: ckpt.checkpoint,
    }),
    Code.FailedPrecondition,
    /--resume-from/,
  );
  const foreign = encodeCheckpoint({
    manifestHash: "f".repeat(64),
    epoch: 0,
    seed: 0n,
    totalSamples: 10,
    completed: [],
  });
  await rejectsWith(
    second.client.registerNode({ ...J, nodeId: "a", resumeFrom: foreign }),
    Code.FailedPrecondition,
    /another manifest/,
  );
  await rejectsWith(
    second.client.registerNode({ ...J, nodeId: "a", resumeFrom: "junk" }),
    Code.InvalidArgument,
    /Invalid checkpoint token/,
  );
});

Deno.test("requests drain the job; RequestLease then says job_drained", async () => {
  const { client, events } = testJob({ worldSize: 1 });
  await client.registerNode({ ...J, nodeId: "a" });
  const grant = await client.requestLease({ ...J, nodeId: "a", want: 5 });
  assert.equal(grant.leases.length, 3);
  const empty = await client.requestLease({ ...J, nodeId: "a", want: 3 });
  assert.equal(empty.leases.length, 0);
  assert.ok(empty.waitMs > 0);
  for (const l of grant.leases) {
    await client.reportProgress({
      ...J,
      nodeId: "a",
      leaseId: l.leaseId,
      cursor: l.range!.endId,
    });
  }
  const done = await client.requestLease({ ...J, nodeId: "a", want: 1 });
  assert.equal(done.jobDrained, true);
  assert.equal(done.waitMs, 0);
  assert.equal(events.filter((e) => e.event === "job_drained").length, 1);
});

Deno.test("with a token, calls without it are Unauthenticated", async () => {
  const { client } = testJob({}, [requireBearerToken("s3cret")]);
  await rejectsWith(
    client.getJobSnapshot(J),
    Code.Unauthenticated,
    /Missing auth token/,
  );
  await rejectsWith(
    client.getJobSnapshot(J, { headers: { authorization: "Bearer nope" } }),
    Code.Unauthenticated,
    /Wrong auth token/,
  );
  await rejectsWith(
    Array.fromAsync(client.getManifestStream(J)),
    Code.Unauthenticated,
  );
  const snap = await client.getJobSnapshot(J, {
    headers: { authorization: "Bearer s3cret" },
  });
  assert.equal(snap.jobId, "j");
});
