import assert from "node:assert/strict";
import {
  type Client,
  Code,
  ConnectError,
  createClient,
  createRouterTransport,
} from "@connectrpc/connect";
import { CoordinatorJob } from "../../lib/coordinator/job.ts";
import { coordinatorRoutes } from "../../lib/coordinator/service.ts";
import { LeaseSource } from "../../lib/distributed/lease_source.ts";
import { Coordinator } from "../../lib/gen/mx8/v1/coordinator_pb.ts";
import { SEGMENT_SOURCE } from "../../lib/loader/base_loader.ts";
import { DataLoader } from "../../lib/loader/data_loader.ts";
import { openDataset } from "../../lib/loader/dataset.ts";
import { FsManifestStore } from "../../lib/manifest_store/fs.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";

async function dataset(n: number) {
  const dir = await tempDir();
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    files[`${i % 2 ? "a" : "b"}/${String(i).padStart(4, "0")}.txt`] =
      `sample-${i}`;
  }
  await writeTree(dir.path, files);
  const store = new FsManifestStore(`${dir.path}/_mx8/store`);
  const ds = await openDataset(dir.path, store);
  return { dir, ds };
}

function jobFor(
  ds: Awaited<ReturnType<typeof openDataset>>,
  worldSize: number,
  leaseTtlMs = 5000,
) {
  return new CoordinatorJob({
    jobId: "j1",
    manifestHash: ds.snapshot.manifestHash,
    manifestBytes: ds.snapshot.manifestBytes,
    totalSamples: ds.rows.length,
    datasetRoot: ds.root,
    classes: ds.classes,
    worldSize,
    blockSize: 10,
    leaseTtlMs,
    heartbeatIntervalMs: 100,
  });
}

function loaderOn(
  job: CoordinatorJob,
  nodeId: string,
  batch = 4,
  o: {
    /** The client (default: straight to `job`). */
    client?: Client<typeof Coordinator>;
    log?: (event: string) => void;
  } = {},
) {
  const client = o.client ?? createClient(
    Coordinator,
    createRouterTransport(coordinatorRoutes(job)),
  );
  const source = new LeaseSource({
    client,
    jobId: "j1",
    nodeId,
    want: 1,
    batchSize: batch,
    caps: { maxInflightBytes: 1 << 20, maxRamBytes: 1 << 30 },
    log: o.log,
  });
  const loader = new DataLoader(
    "",
    { batchSizeSamples: batch, [SEGMENT_SOURCE]: source } as never,
  );
  return { loader, source };
}

Deno.test("distributed loaders share a job: every sample delivered, bytes right, job drains", async () => {
  const { dir, ds } = await dataset(57);
  await using _ = dir;
  using job = jobFor(ds, 2);
  job.start();
  const got = new Map<number, string>();
  const run = async (node: string) => {
    const { loader } = loaderOn(job, node);
    for await (const b of loader) {
      for (let i = 0; i < b.sampleIds.length; i++) {
        got.set(Number(b.sampleIds[i]), new TextDecoder().decode(b.sample(i)));
      }
    }
    return loader.stats().deliveredSamplesTotal;
  };
  const [a, b] = await Promise.all([run("node-a"), run("node-b")]);
  assert.equal(a + b, 57);
  assert.ok(a > 0 && b > 0, "both nodes got work");
  assert.equal(got.size, 57);
  for (const [id, text] of got) {
    assert.equal(text, `sample-${Number(ds.rows[id].location.slice(2, 6))}`);
  }
  const snap = job.snapshot();
  assert.equal(snap.jobDrained, true);
});

Deno.test("a node that stops mid-lease: the rest is requeued and delivered by the other node", async () => {
  const { dir, ds } = await dataset(30);
  await using _ = dir;
  using job = jobFor(ds, 2, 300);
  job.start();
  const quitter = loaderOn(job, "node-q", 2);
  const other = loaderOn(job, "node-o", 3);
  const ids: number[] = [];
  // Both join (the barrier needs two); the other node drains everything it can get.
  const otherRun = (async () => {
    for await (const b of other.loader) {
      ids.push(...Array.from(b.sampleIds, Number));
    }
  })();
  const first = await quitter.loader.next(); // holds a lease, takes one batch
  assert.ok(first);
  const quitterIds = Array.from(first!.sampleIds, Number);
  await quitter.loader.next(); // releases batch 1 → progress reported
  await quitter.source.flush();
  // The quitter dies here: no more heartbeats or progress.
  await quitter.source.close();
  await otherRun;
  await quitter.loader.close();
  const union = new Set([...quitterIds, ...ids]);
  assert.equal(union.size, 30, "no sample lost");
  const counters = job.snapshot().counters;
  assert.ok(counters.leases_expired_total >= 1);
  assert.ok(counters.ranges_requeued_total >= 1);
});

Deno.test("a coordinator down longer than a few retries (manifest rows refused 6 times): the lease source keeps retrying and delivers everything once", async () => {
  const { dir, ds } = await dataset(12);
  await using _ = dir;
  using job = jobFor(ds, 1, 60_000);
  job.start();
  const real = createClient(
    Coordinator,
    createRouterTransport(coordinatorRoutes(job)),
  );
  let refused = 0;
  // The manifest stream is refused like a restarting coordinator's port.
  const client = new Proxy(real, {
    get(target, key, recv) {
      if (key === "getManifestStream" && refused < 6) {
        return () => {
          refused++;
          throw new ConnectError(
            "connect ECONNREFUSED 127.0.0.1:1",
            Code.Unavailable,
          );
        };
      }
      return Reflect.get(target, key, recv);
    },
  });
  const events: string[] = [];
  await using loader = loaderOn(job, "node-r", 4, {
    client,
    log: (e) => events.push(e),
  }).loader;
  const ids: number[] = [];
  for await (const b of loader) ids.push(...Array.from(b.sampleIds, Number));
  assert.equal(refused, 6);
  assert.deepEqual(ids.toSorted((a, b) => a - b), [...Array(12).keys()]);
  assert.equal(job.snapshot().jobDrained, true);
});

Deno.test("a progress report refused while the coordinator fails over is resent: the lease is kept, nothing is lost or delivered twice", async () => {
  const { dir, ds } = await dataset(20);
  await using _ = dir;
  using job = jobFor(ds, 1, 3_000);
  job.start();
  const real = createClient(
    Coordinator,
    createRouterTransport(coordinatorRoutes(job)),
  );
  let refused = 0;
  // Every report is refused three times, as by replicas that have no
  // leader yet; the final ones reach the coordinator only on a resend.
  const client = new Proxy(real, {
    get(target, key, recv) {
      if (key === "reportProgress") {
        return (req: unknown) => {
          if (refused++ % 4 < 3) {
            throw new ConnectError(
              `No leader for job "j1" yet (election or failover under way): retry shortly`,
              Code.Unavailable,
            );
          }
          return target.reportProgress(req as never);
        };
      }
      return Reflect.get(target, key, recv);
    },
  });
  const events: string[] = [];
  await using loader = loaderOn(job, "node-f", 5, {
    client,
    log: (e) => events.push(e),
  }).loader;
  const ids: number[] = [];
  for await (const b of loader) ids.push(...Array.from(b.sampleIds, Number));
  assert.ok(refused >= 12, `only ${refused} reports refused`);
  assert.deepEqual(events.filter((e) => e === "lease_lost"), []);
  assert.deepEqual(ids.toSorted((a, b) => a - b), [...Array(20).keys()]);
  assert.equal(job.snapshot().jobDrained, true);
  assert.equal(job.snapshot().counters.leases_expired_total, 0);
});
