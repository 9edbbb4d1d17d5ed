import assert from "node:assert/strict";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { CoordinatorJob } from "../../lib/coordinator/job.ts";
import type { CoordinatorEvent } from "../../lib/coordinator/events.ts";
import { coordinatorRoutes } from "../../lib/coordinator/service.ts";
import { LeaseSource } from "../../lib/distributed/lease_source.ts";
import { Coordinator } from "../../lib/gen/mx8/v1/coordinator_pb.ts";
import { SEGMENT_SOURCE } from "../../lib/loader/base_loader.ts";
import { DataLoader } from "../../lib/loader/data_loader.ts";
import { openDataset } from "../../lib/loader/dataset.ts";
import { FsManifestStore } from "../../lib/manifest_store/fs.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";

const SAMPLES = 100;
const BLOCK = 20;

// Agents fed in lock step finish their leases together; asking for the next
// lease only then makes every node call the coordinator at once. The agent
// asks for it at a random point in [50 %, 90 %) of the current lease
// (want + 1, the current lease still counts), so the next lease is live
// before the current one completes, and every sample is still delivered
// exactly once.
Deno.test("an agent prefetches its next lease inside the current one, and still delivers every sample once", async () => {
  const dir = await tempDir();
  await using _ = dir;
  const files: Record<string, string> = {};
  for (let i = 0; i < SAMPLES; i++) {
    files[`a/${String(i).padStart(4, "0")}.txt`] = `sample-${i}`;
  }
  await writeTree(dir.path, files);
  const ds = await openDataset(
    dir.path,
    new FsManifestStore(`${dir.path}/_mx8/store`),
  );
  const events: CoordinatorEvent[] = [];
  using job = new CoordinatorJob({
    jobId: "j1",
    manifestHash: ds.snapshot.manifestHash,
    manifestBytes: ds.snapshot.manifestBytes,
    totalSamples: SAMPLES,
    datasetRoot: ds.root,
    classes: ds.classes,
    worldSize: 1,
    blockSize: BLOCK,
    leaseTtlMs: 10_000,
    heartbeatIntervalMs: 50,
    onEvent: (e) => events.push(e),
  });
  job.start();
  // Each request: its `want`, and the live lease's delivered fraction then.
  const requests: { want: number; fraction?: number }[] = [];
  const requestLease = job.requestLease.bind(job);
  job.requestLease = (id, want) => {
    const [live] = job.snapshot().liveLeases;
    requests.push({
      want,
      fraction: live &&
        (live.cursor - live.startId) / (live.endId - live.startId),
    });
    return requestLease(id, want);
  };
  const source = new LeaseSource({
    client: createClient(
      Coordinator,
      createRouterTransport(coordinatorRoutes(job)),
    ),
    jobId: "j1",
    nodeId: "node-a",
    want: 1,
    batchSize: 2,
    caps: { maxInflightBytes: 1 << 20, maxRamBytes: 1 << 30 },
  });
  const loader = new DataLoader(
    "",
    { batchSizeSamples: 2, [SEGMENT_SOURCE]: source } as never,
  );
  const got: number[] = [];
  for await (const batch of loader) {
    for (let i = 0; i < batch.sampleIds.length; i++) {
      const id = Number(batch.sampleIds[i]);
      got.push(id);
      assert.equal(
        new TextDecoder().decode(batch.sample(i)),
        `sample-${Number(ds.rows[id].location.slice(2, 6))}`,
      );
    }
  }
  await source.close();
  assert.deepEqual(got.sort((a, b) => a - b), [...Array(SAMPLES).keys()]);
  assert.equal(job.snapshot().jobDrained, true);
  // The first request has nothing live; every later grant was asked for
  // from inside the lease before it, at [50 %, 90 %] of it (batches of 2
  // cross the drawn point), with want 2; the last lease's prefetch finds
  // nothing left, and the request after it learns the job drained.
  const prefetches = requests.filter((r) => r.fraction !== undefined);
  assert.equal(prefetches.length, SAMPLES / BLOCK, JSON.stringify(requests));
  assert.deepEqual(
    requests.map((r) => r.want),
    [1, ...prefetches.map(() => 2), 1],
  );
  for (const r of prefetches) {
    assert.equal(r.want, 2);
    assert.ok(r.fraction! >= 0.5 && r.fraction! <= 0.9, String(r.fraction));
  }
  // So each next lease was granted before the one before it completed.
  const order = events
    .filter((e) => e.event === "lease_granted" || e.event === "lease_completed")
    .map((e) => `${e.event === "lease_granted" ? "+" : "-"}${e.start_id}`);
  assert.deepEqual(order, [
    "+0",
    "+20",
    "-0",
    "+40",
    "-20",
    "+60",
    "-40",
    "+80",
    "-60",
    "-80",
  ]);
});
