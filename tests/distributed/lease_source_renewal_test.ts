import assert from "node:assert/strict";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { CoordinatorJob } from "../../lib/coordinator/job.ts";
import { coordinatorRoutes } from "../../lib/coordinator/service.ts";
import { LeaseSource } from "../../lib/distributed/lease_source.ts";
import { Coordinator } from "../../lib/gen/mx8/v1/coordinator_pb.ts";
import { SEGMENT_SOURCE } from "../../lib/loader/base_loader.ts";
import { DataLoader } from "../../lib/loader/data_loader.ts";
import { openDataset } from "../../lib/loader/dataset.ts";
import { FsManifestStore } from "../../lib/manifest_store/fs.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";

const TTL_MS = 1200;
const HEARTBEAT_MS = 100;

// want 2: the second lease waits in the agent's queue while the first is
// delivered, longer than the TTL. It must be renewed so that it does not
// expire, but only as its expiry draws near (about every TTL / 2), not on
// every heartbeat: a prefetched lease waits in the queue during every lease.
Deno.test("a queued lease is renewed before it expires, not on every heartbeat", async () => {
  const dir = await tempDir();
  await using _ = dir;
  const files: Record<string, string> = {};
  for (let i = 0; i < 20; i++) {
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
    totalSamples: 20,
    datasetRoot: ds.root,
    classes: ds.classes,
    worldSize: 1,
    blockSize: 10,
    leaseTtlMs: TTL_MS,
    heartbeatIntervalMs: HEARTBEAT_MS,
  });
  job.start();
  let beats = 0;
  let renewals = 0;
  const heartbeat = job.heartbeat.bind(job);
  job.heartbeat = (id, stats) => {
    beats++;
    heartbeat(id, stats);
  };
  const reportProgress = job.reportProgress.bind(job);
  job.reportProgress = (id, lease, cursor, samples, bytes) => {
    if (samples === 0) renewals++;
    return reportProgress(id, lease, cursor, samples, bytes);
  };
  const source = new LeaseSource({
    client: createClient(
      Coordinator,
      createRouterTransport(coordinatorRoutes(job)),
    ),
    jobId: "j1",
    nodeId: "node-a",
    want: 2,
    batchSize: 5,
    caps: { maxInflightBytes: 1 << 20, maxRamBytes: 1 << 30 },
  });
  const loader = new DataLoader(
    "",
    { batchSizeSamples: 5, [SEGMENT_SOURCE]: source } as never,
  );
  const got: number[] = [];
  let beatsWhileQueued = 0;
  for await (const batch of loader) {
    got.push(...Array.from(batch.sampleIds, Number));
    // A slow consumer: the first lease takes ≈1.4 s, beyond the TTL.
    const before = beats;
    await new Promise((r) => setTimeout(r, 700));
    if (got.length <= 10) beatsWhileQueued += beats - before;
  }
  await source.close();
  assert.deepEqual(got.sort((a, b) => a - b), [...Array(20).keys()]);
  const counters = job.snapshot().counters;
  assert.equal(counters.leases_expired_total, 0, "the queued lease expired");
  assert.ok(renewals >= 1, "the queued lease was never renewed");
  assert.ok(
    renewals * 3 <= beatsWhileQueued,
    `${renewals} renewals over ${beatsWhileQueued} heartbeats`,
  );
});
