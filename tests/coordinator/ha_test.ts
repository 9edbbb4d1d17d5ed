import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { EtcdClient } from "../../lib/etcd/client.ts";
import type { CoordinatorEvent } from "../../lib/coordinator/events.ts";
import { HaReplica, LEADER_METADATA } from "../../lib/coordinator/ha.ts";
import { CoordinatorJob } from "../../lib/coordinator/job.ts";
import { serveCoordinator } from "../../lib/coordinator/server.ts";
import { jobKeys } from "../../lib/ha/layout.ts";
import { createCoordinatorClient } from "../../lib/rpc/client.ts";
import { HAS_ETCD, startEtcd } from "../_helpers/etcd.ts";
import { makeManifest } from "./_job.ts";

const ignore = !HAS_ETCD;

/** An in-process replica: job, HA replica, server. */
async function replica(endpoints: string[], events: CoordinatorEvent[]) {
  const manifest = makeManifest(40);
  const job = new CoordinatorJob({
    jobId: "j",
    manifestHash: manifest.hash,
    manifestBytes: manifest.bytes,
    totalSamples: 40,
    datasetRoot: "/data",
    classes: [],
    worldSize: 2,
    blockSize: 10,
    leaseTtlMs: 5000,
    heartbeatIntervalMs: 500,
    checkInvariants: true,
  });
  const server = await serveCoordinator(job, { port: 0 });
  const ha = new HaReplica(job, {
    endpoints,
    ttlMs: 2000,
    advertiseUrl: server.url,
    meta: {
      jobId: "j",
      manifestHash: manifest.hash,
      totalSamples: 40,
      blockSize: 10,
      seed: "0",
      epoch: 0,
      shuffle: false,
      resumed: [],
      worldSize: 2,
    },
    onEvent: (e) => events.push(e),
  });
  ha.start();
  return {
    job,
    server,
    ha,
    async [Symbol.asyncDispose]() {
      await ha.close();
      await server.close();
    },
  };
}

async function until(fn: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test({
  name:
    "HA service: followers refuse writes with mx8-leader; multi-URL clients follow; writes are durable before the answer",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    const events: CoordinatorEvent[] = [];
    await using a = await replica(etcd.endpoints, events);
    await until(() => a.ha.isLeader, "the first replica to lead");
    await using b = await replica(etcd.endpoints, events);
    await until(
      () => b.ha.leaderUrl === a.server.url,
      "the follower to see the leader",
    );

    // /metrics says who leads.
    const metric = async (url: string, name: string) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
    };
    assert.equal(await metric(a.server.url, "ha_is_leader"), 1);
    assert.equal(await metric(b.server.url, "ha_is_leader"), 0);
    assert.ok(await metric(b.server.url, "ha_term") > 0);
    assert.equal(
      await metric(b.server.url, "ha_term"),
      await metric(a.server.url, "ha_term"),
    );

    // A follower refuses a write, naming the leader (fast path: binary Connect).
    using direct = createCoordinatorClient(b.server.url);
    const err = await direct.registerNode({ jobId: "j", nodeId: "n1" }).then(
      () => undefined,
      (e) => ConnectError.from(e),
    );
    assert.equal(err?.code, Code.FailedPrecondition);
    assert.equal(err?.metadata.get(LEADER_METADATA), a.server.url);
    assert.match(err!.rawMessage, /Not the leader/);

    // A client of both replicas, follower first, reaches the leader.
    using both = createCoordinatorClient(`${b.server.url},${a.server.url}`);
    const res = await both.registerNode({ jobId: "j", nodeId: "n1" });
    assert.equal(res.registeredNodes, 1);
    // Durable before the answer: the member is in etcd already.
    const etcdClient = new EtcdClient(etcd.endpoints);
    const member = await etcdClient.range(jobKeys("j").member("n1"));
    assert.equal(member.count, 1);
    await both.registerNode({ jobId: "j", nodeId: "n2" });
    const grant = await both.requestLease({
      jobId: "j",
      nodeId: "n1",
      want: 1,
    });
    const lease = grant.leases[0];
    const stored = await etcdClient.range(
      jobKeys("j").range(Number(lease.range!.endId)),
    );
    assert.equal(JSON.parse(stored.kvs[0].value).lease, lease.leaseId);

    // A follower serves reads from what etcd holds.
    const snap = await direct.getJobSnapshot({ jobId: "j" });
    assert.equal(snap.registeredNodes, 2);
    assert.equal(snap.activeLeases, 1);

    // The leader resigns: the follower takes over with the lease restored,
    // and the holder keeps reporting on its lease id.
    await a.ha.close();
    await until(() => b.ha.isLeader, "the follower to take over");
    await both.reportProgress({
      jobId: "j",
      nodeId: "n1",
      leaseId: lease.leaseId,
      cursor: lease.range!.endId,
    });
    assert.equal(b.job.snapshot().completedSamples, 10);
    assert.equal(await metric(b.server.url, "ha_is_leader"), 1);
    assert.equal(await metric(b.server.url, "ha_leader_elected_total"), 1);
    assert.equal(await metric(a.server.url, "ha_leader_lost_total"), 1);
    const kinds = events.map((e) => e.event).filter((e) =>
      e.startsWith("leader")
    );
    assert.deepEqual(kinds, [
      "leader_elected",
      "leader_ready",
      "leader_lost",
      "leader_elected",
      "leader_ready",
    ]);
  },
});

Deno.test({
  name:
    "HA service: a final report resent after a failover is answered OK for a range the old leader completed (idempotent per lease)",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    const events: CoordinatorEvent[] = [];
    await using a = await replica(etcd.endpoints, events);
    await until(() => a.ha.isLeader, "the first replica to lead");
    await using b = await replica(etcd.endpoints, events);
    await until(
      () => b.ha.leaderUrl === a.server.url,
      "the follower to see the leader",
    );
    using client = createCoordinatorClient(`${a.server.url},${b.server.url}`);
    await client.registerNode({ jobId: "j", nodeId: "n1" });
    await client.registerNode({ jobId: "j", nodeId: "n2" });
    const [done] =
      (await client.requestLease({ jobId: "j", nodeId: "n1", want: 1 }))
        .leases;
    const [other] =
      (await client.requestLease({ jobId: "j", nodeId: "n2", want: 1 }))
        .leases;
    const final = {
      jobId: "j",
      nodeId: "n1",
      leaseId: done.leaseId,
      cursor: done.range!.endId,
    };
    // The old leader commits the completion (its answer may be lost).
    await client.reportProgress(final);
    await a.ha.close();
    await until(() => b.ha.isLeader, "the follower to take over");
    // The agent resends the final report to the new leader: OK, no change.
    await client.reportProgress(final);
    assert.equal(b.job.snapshot().completedSamples, 10);
    // Another node resending it, or a cursor short of the end, is refused.
    const refused = await client.reportProgress({ ...final, nodeId: "n2" })
      .then(() => undefined, (e) => ConnectError.from(e));
    assert.equal(refused?.code, Code.NotFound, refused?.rawMessage);
    // The live lease of the other node goes on as before.
    await client.reportProgress({
      jobId: "j",
      nodeId: "n2",
      leaseId: other.leaseId,
      cursor: other.range!.endId,
    });
    assert.equal(b.job.snapshot().completedSamples, 20);
  },
});

Deno.test({
  name:
    "HA service: a heartbeat is answered at once while other nodes' grants and completions wait for etcd",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    const events: CoordinatorEvent[] = [];
    await using a = await replica(etcd.endpoints, events);
    await until(() => a.ha.isLeader, "the replica to lead");
    using client = createCoordinatorClient(a.server.url);
    await client.registerNode({ jobId: "j", nodeId: "n1" });
    await client.registerNode({ jobId: "j", nodeId: "n2" });
    const [lease] =
      (await client.requestLease({ jobId: "j", nodeId: "n1", want: 1 }))
        .leases;
    const etcdProcess = etcd.members[0].process;
    etcdProcess.kill("SIGSTOP");
    try {
      // A completion: its txn is sent and hangs in the stopped etcd…
      const completion = client.reportProgress({
        jobId: "j",
        nodeId: "n1",
        leaseId: lease.leaseId,
        cursor: lease.range!.endId,
      }).then(() => "ok", (e) => ConnectError.from(e).code);
      // …a grant made meanwhile waits for a slot (one txn in flight)…
      const grant = client.requestLease({ jobId: "j", nodeId: "n2", want: 1 })
        .then(() => "ok", (e) => ConnectError.from(e).code);
      // …and a heartbeat, which changes nothing durable, does not wait for
      // either: it is answered while etcd is still stopped. (It used to
      // join the grant's batch and fail with it once the leadership
      // lapsed.)
      const heartbeat = await client.heartbeat({ jobId: "j", nodeId: "n2" })
        .then(() => "ok", (e) => ConnectError.from(e).rawMessage);
      assert.equal(heartbeat, "ok");
      etcdProcess.kill("SIGCONT");
      // Both changes then land (or fail, if the leadership lapsed on a
      // slow machine).
      const [c, g] = await Promise.all([completion, grant]);
      assert.ok(c === "ok" || c === Code.Unavailable, String(c));
      assert.ok(g === "ok" || g === Code.Unavailable, String(g));
    } finally {
      etcdProcess.kill("SIGCONT");
    }
  },
});
