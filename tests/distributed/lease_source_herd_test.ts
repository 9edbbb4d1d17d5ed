import assert from "node:assert/strict";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { CoordinatorJob } from "../../lib/coordinator/job.ts";
import { coordinatorRoutes } from "../../lib/coordinator/service.ts";
import { LeaseSource } from "../../lib/distributed/lease_source.ts";
import { Coordinator } from "../../lib/gen/mx8/v1/coordinator_pb.ts";
import { openDataset } from "../../lib/loader/dataset.ts";
import { FsManifestStore } from "../../lib/manifest_store/fs.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";

const NODES = 16;
const HEARTBEAT_MS = 600;

// Nodes that meet the barrier together must not heartbeat and lease
// together for the rest of the job: each node's first heartbeat and first
// RequestLease land at a random point of one heartbeat interval. (With a
// fixed `setInterval` from registration and an immediate first request,
// all 16 arrive within a few ms of each other.) 16 uniform draws all fall
// within 30 % of the interval with probability 16 · 0.3^15 ≈ 2e-7.
Deno.test("agents that meet the barrier together spread their first heartbeats and lease requests over one interval", async () => {
  const dir = await tempDir();
  await using _ = dir;
  const files: Record<string, string> = {};
  for (let i = 0; i < NODES * 10; i++) {
    files[`a/${String(i).padStart(4, "0")}.txt`] = `sample-${i}`;
  }
  await writeTree(dir.path, files);
  const ds = await openDataset(
    dir.path,
    new FsManifestStore(`${dir.path}/_mx8/store`),
  );
  using job = new CoordinatorJob({
    jobId: "j1",
    manifestHash: ds.snapshot.manifestHash,
    manifestBytes: ds.snapshot.manifestBytes,
    totalSamples: ds.rows.length,
    datasetRoot: ds.root,
    classes: ds.classes,
    worldSize: NODES,
    blockSize: 10,
    leaseTtlMs: 10_000,
    heartbeatIntervalMs: HEARTBEAT_MS,
  });
  const ids = Array.from({ length: NODES }, (_, i) => `node-${i}`);
  // Barrier met before the agents start: they all see `job_ready` at once.
  for (const id of ids) job.register(id, undefined);
  const firstBeat = new Map<string, number>();
  const firstLease = new Map<string, number>();
  const heartbeat = job.heartbeat.bind(job);
  job.heartbeat = (id, stats) => {
    if (!firstBeat.has(id)) firstBeat.set(id, performance.now());
    heartbeat(id, stats);
  };
  const requestLease = job.requestLease.bind(job);
  job.requestLease = (id, want) => {
    if (!firstLease.has(id)) firstLease.set(id, performance.now());
    return requestLease(id, want);
  };
  const client = createClient(
    Coordinator,
    createRouterTransport(coordinatorRoutes(job)),
  );
  const sources = ids.map((nodeId) =>
    new LeaseSource({
      client,
      jobId: "j1",
      nodeId,
      want: 1,
      batchSize: 5,
      caps: { maxInflightBytes: 1 << 20, maxRamBytes: 1 << 30 },
    })
  );
  const abort = new AbortController();
  try {
    const segments = await Promise.all(
      sources.map((s) => s.next(abort.signal)),
    );
    assert.ok(segments.every((s) => s !== null), "every node got a lease");
    while (firstBeat.size < NODES) {
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    abort.abort();
    await Promise.all(sources.map((s) => s.close()));
  }
  const spread = (times: Map<string, number>) =>
    Math.max(...times.values()) - Math.min(...times.values());
  assert.ok(
    spread(firstBeat) > 0.3 * HEARTBEAT_MS,
    `first heartbeats within ${spread(firstBeat).toFixed(0)} ms`,
  );
  assert.ok(
    spread(firstLease) > 0.3 * HEARTBEAT_MS,
    `first lease requests within ${spread(firstLease).toFixed(0)} ms`,
  );
});
