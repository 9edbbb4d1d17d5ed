/**
 * HA drills (spec §12) with real processes: a real etcd on loopback, three
 * `mx8 coordinator --ha-etcd` replicas, four `mx8 agent`s with `ids:` sinks
 * following the leader through `--coord-url A,B,C`.
 */
import assert from "node:assert/strict";
import {
  type AgentProcess,
  packedDataset,
  readIds,
  startAgent,
} from "../agent/_agents.ts";
import { HAS_ETCD, startEtcd } from "../_helpers/etcd.ts";
import { tempDir } from "../_helpers/tmp.ts";
import { type CoordinatorProcess, startCoordinator } from "./_process.ts";

const ignore = !HAS_ETCD;
type Event = Record<string, unknown>;

async function startReplicas(
  n: number,
  etcd: string[],
  data: string,
  store: string,
): Promise<CoordinatorProcess[]> {
  return await Promise.all(
    Array.from({ length: n }, () =>
      startCoordinator([
        "--job-id",
        "job",
        "--dataset",
        data,
        "--world-size",
        "4",
        "--block-size",
        "20",
        "--lease-ttl-ms",
        "3000",
        "--heartbeat-ms",
        "300",
        "--manifest-store",
        store,
        "--grpc-bind",
        "off",
        "--ha-etcd",
        etcd.join(","),
        "--ha-ttl-ms",
        "2000",
      ])),
  );
}

async function leaderOf(
  replicas: CoordinatorProcess[],
  exclude: Set<CoordinatorProcess> = new Set(),
): Promise<CoordinatorProcess> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    for (const r of replicas) {
      if (exclude.has(r)) continue;
      if (r.events().some((e) => e.event === "leader_ready")) return r;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `no replica became leader:\n${
      replicas.map((r) => r.stderrLines().join("\n")).join("\n---\n")
    }`,
  );
}

/** Waits for the agents; kills them and fails (with their logs) after `ms`. */
async function agentsDone(agents: AgentProcess[], ms = 120_000) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      for (const a of agents) a.kill("SIGKILL");
      reject(new Error(`agents still running after ${ms} ms`));
    }, ms);
  });
  try {
    const results = await Promise.race([
      Promise.all(agents.map((a) => a.done)),
      timeout,
    ]);
    for (const r of results) assert.equal(r.code, 0, r.stderr.slice(-3000));
    return results;
  } finally {
    clearTimeout(timer);
  }
}

/** Lease ids the agents were answered with (their `lease_granted` log lines). */
function receivedLeases(results: { stderr: string }[]): Set<unknown> {
  const ids = new Set<unknown>();
  for (const r of results) {
    for (const line of r.stderr.split("\n")) {
      if (!line.startsWith("{")) continue;
      const e = JSON.parse(line);
      if (e.event === "lease_granted") ids.add(e.lease_id);
    }
  }
  return ids;
}

/**
 * Two grants of overlapping ranges under different lease ids, both
 * answered to an agent (a grant whose commit failed was logged by its
 * replica but never answered, so it has no owner): the earlier lease must
 * have ended (expired) before the later grant.
 */
function doubleOwners(logs: Event[][], received: Set<unknown>): string[] {
  const all = logs.flat();
  const grants = all.filter((e) => e.event === "lease_granted")
    .filter((g) => received.has(g.lease_id))
    .sort((a, b) => String(a.ts).localeCompare(String(b.ts)));
  const endedAt = new Map<unknown, string>();
  for (const e of all) {
    if (e.event === "lease_expired" || e.event === "lease_completed") {
      const prev = endedAt.get(e.lease_id);
      if (prev === undefined || String(e.ts) < prev) {
        endedAt.set(e.lease_id, String(e.ts));
      }
    }
  }
  const problems: string[] = [];
  for (let i = 0; i < grants.length; i++) {
    for (let j = i + 1; j < grants.length; j++) {
      const a = grants[i], b = grants[j];
      if (a.lease_id === b.lease_id) continue;
      const overlap = Number(a.start_id) < Number(b.end_id) &&
        Number(b.start_id) < Number(a.end_id);
      if (!overlap) continue;
      const ended = endedAt.get(a.lease_id);
      if (ended === undefined || ended > String(b.ts)) {
        problems.push(
          `${JSON.stringify(a)} still live at ${JSON.stringify(b)}`,
        );
      }
    }
  }
  return problems;
}

Deno.test({
  name:
    "HA drill: kill -9 the leader mid-job; every sample delivered, no range with two live owners, job drains",
  ignore,
  async fn() {
    const N = 800;
    await using etcd = await startEtcd(1);
    await using work = await tempDir();
    const data = await packedDataset(work.path, N);
    const replicas = await startReplicas(
      3,
      etcd.endpoints,
      data,
      `${work.path}/store`,
    );
    try {
      const first = await leaderOf(replicas);
      const urls = replicas.map((r) => r.url).join(",");
      const agents = ["a", "b", "c", "d"].map((id) =>
        startAgent(urls, id, [
          "--sink",
          `ids:${work.path}/ids-${id}.txt`,
          "--batch-size",
          "5",
          "--sink-sleep-ms",
          "8",
        ])
      );
      // Mid-job: some leases granted and some completed.
      await first.waitForEvent((e) => e.event === "lease_completed", 30_000);
      const killedAt = Date.now();
      Deno.kill(first.pid, "SIGKILL");
      const others = replicas.filter((r) => r !== first);
      const second = await leaderOf(others);
      const results = await agentsDone(agents);
      const union = new Set<number>();
      for (const id of ["a", "b", "c", "d"]) {
        for (const x of await readIds(`${work.path}/ids-${id}.txt`)) {
          union.add(x);
        }
      }
      const missing = [];
      for (let i = 0; i < N; i++) if (!union.has(i)) missing.push(i);
      assert.deepEqual(missing, [], `missing ${missing.length} ids`);
      await second.waitForEvent((e) => e.event === "job_drained", 30_000);
      const ready = second.events().find((e) => e.event === "leader_ready")!;
      console.log(
        `failover: kill -9 → new leader ready in ${
          Date.parse(String(ready.ts)) - killedAt
        } ms (TTL 2000 ms), live leases restored: ${ready.live_leases}`,
      );
      const logs = replicas.map((r) => r.events());
      const received = receivedLeases(results);
      assert.ok(received.size >= 10, `agents got ${received.size} leases`);
      assert.deepEqual(doubleOwners(logs, received), []);
      assert.ok(!logs.flat().some((e) => e.event === "lease_overlap"));
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
    }
  },
});

Deno.test({
  name:
    "HA drill: SIGSTOP the leader past its TTL; on SIGCONT its writes are refused and it steps down",
  ignore,
  async fn() {
    const N = 600;
    await using etcd = await startEtcd(1);
    await using work = await tempDir();
    const data = await packedDataset(work.path, N);
    const replicas = await startReplicas(
      2,
      etcd.endpoints,
      data,
      `${work.path}/store`,
    );
    try {
      const first = await leaderOf(replicas);
      const urls = replicas.map((r) => r.url).join(",");
      const agents = ["a", "b", "c", "d"].map((id) =>
        startAgent(urls, id, [
          "--sink",
          `ids:${work.path}/ids-${id}.txt`,
          "--batch-size",
          "5",
          "--sink-sleep-ms",
          "8",
        ])
      );
      await first.waitForEvent((e) => e.event === "lease_completed", 30_000);
      Deno.kill(first.pid, "SIGSTOP");
      const second = await leaderOf(replicas.filter((r) => r !== first));
      await second.waitForEvent((e) => e.event === "lease_completed", 30_000);
      Deno.kill(first.pid, "SIGCONT");
      const rejected = await first.waitForEvent(
        (e) => e.event === "fenced_write_rejected",
        15_000,
      );
      const lost = await first.waitForEvent(
        (e) => e.event === "leader_lost",
        15_000,
      );
      assert.ok(Number(rejected.term) > 0);
      assert.ok(
        Number(lost.term) < Number(
          second.events().find((e) => e.event === "leader_ready")!.term,
        ),
      );
      const results = await agentsDone(agents);
      const union = new Set<number>();
      for (const id of ["a", "b", "c", "d"]) {
        for (const x of await readIds(`${work.path}/ids-${id}.txt`)) {
          union.add(x);
        }
      }
      assert.equal(union.size, N);
      // The paused leader never granted after the new one took over.
      const takeover = String(
        second.events().find((e) => e.event === "leader_ready")!.ts,
      );
      const late = first.events().filter((e) =>
        e.event === "lease_granted" && String(e.ts) > takeover
      );
      assert.deepEqual(late, []);
      const logs = replicas.map((r) => r.events());
      const received = receivedLeases(results);
      assert.ok(received.size >= 10, `agents got ${received.size} leases`);
      assert.deepEqual(doubleOwners(logs, received), []);
    } finally {
      try {
        Deno.kill(replicas[0].pid, "SIGCONT");
        Deno.kill(replicas[1].pid, "SIGCONT");
      } catch { /* gone */ }
      await Promise.all(replicas.map((r) => r.stop()));
    }
  },
});

Deno.test({
  name:
    "HA drill: kill -9 the raft leader of a 3-member etcd mid-job; the job still drains with every sample",
  ignore,
  async fn() {
    const N = 600;
    await using etcd = await startEtcd(3);
    await using work = await tempDir();
    const data = await packedDataset(work.path, N);
    const replicas = await startReplicas(
      3,
      etcd.endpoints,
      data,
      `${work.path}/store`,
    );
    try {
      const first = await leaderOf(replicas);
      const urls = replicas.map((r) => r.url).join(",");
      const agents = ["a", "b", "c", "d"].map((id) =>
        startAgent(urls, id, [
          "--sink",
          `ids:${work.path}/ids-${id}.txt`,
          "--batch-size",
          "5",
          "--sink-sleep-ms",
          "8",
        ])
      );
      await first.waitForEvent((e) => e.event === "lease_completed", 30_000);
      await etcd.kill(await etcd.leader());
      const results = await agentsDone(agents);
      const union = new Set<number>();
      for (const id of ["a", "b", "c", "d"]) {
        for (const x of await readIds(`${work.path}/ids-${id}.txt`)) {
          union.add(x);
        }
      }
      assert.equal(union.size, N);
      const logs = replicas.map((r) => r.events());
      assert.ok(
        logs.flat().some((e) => e.event === "job_drained"),
        "some replica saw the job drain",
      );
      assert.deepEqual(doubleOwners(logs, receivedLeases(results)), []);
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
    }
  },
});
