/**
 * HA drills (spec §12) with real processes: a real etcd on loopback, three
 * `mx8 coordinator --ha-etcd` replicas, four `mx8 agent`s with `ids:` sinks
 * following the leader through `--coord-url A,B,C`.
 */
import assert from "node:assert/strict";
import {
  type AgentProcess,
  packedDataset,
  startAgent,
} from "../agent/_agents.ts";
import { HAS_ETCD, startEtcd } from "../_helpers/etcd.ts";
import { tempDir } from "../_helpers/tmp.ts";
import { checkHaRun } from "./_ha_invariants.ts";
import { type CoordinatorProcess, startCoordinator } from "./_process.ts";

const ignore = !HAS_ETCD;
const AGENTS = ["a", "b", "c", "d"];

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

/** Starts the drill's agents, following every replica, `ids:` sinks under `dir`. */
function startDrillAgents(
  replicas: CoordinatorProcess[],
  dir: string,
): AgentProcess[] {
  const urls = replicas.map((r) => r.url).join(",");
  return AGENTS.map((id) =>
    startAgent(urls, id, [
      "--sink",
      `ids:${dir}/ids-${id}.txt`,
      "--batch-size",
      "5",
      "--sink-sleep-ms",
      "8",
    ])
  );
}

/** Checks the HA invariants of a drill from every replica's log and the agents' sinks. */
function checkDrill(
  replicas: CoordinatorProcess[],
  results: Parameters<typeof checkHaRun>[0]["agents"],
  dir: string,
  samples: number,
): ReturnType<typeof checkHaRun> {
  return checkHaRun({
    logs: replicas.map((r) => r.events()),
    agents: results,
    idFiles: AGENTS.map((id) => `${dir}/ids-${id}.txt`),
    samples,
  });
}

/** Waits until some replica logged `job_drained` (its tick may lag the agents' exit). */
async function drained(replicas: CoordinatorProcess[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (
      replicas.some((r) => r.events().some((e) => e.event === "job_drained"))
    ) {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no replica logged job_drained within 30 s");
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
      const agents = startDrillAgents(replicas, work.path);
      // Mid-job: some leases granted and some completed.
      await first.waitForEvent((e) => e.event === "lease_completed", 30_000);
      const killedAt = Date.now();
      Deno.kill(first.pid, "SIGKILL");
      const others = replicas.filter((r) => r !== first);
      const second = await leaderOf(others);
      const results = await agentsDone(agents);
      await second.waitForEvent((e) => e.event === "job_drained", 30_000);
      const ready = second.events().find((e) => e.event === "leader_ready")!;
      console.log(
        `failover: kill -9 → new leader ready in ${
          Date.parse(String(ready.ts)) - killedAt
        } ms (TTL 2000 ms), live leases restored: ${ready.live_leases}`,
      );
      const report = await checkDrill(replicas, results, work.path, N);
      assert.deepEqual(report.problems, []);
      assert.equal(report.delivered, N);
      assert.ok(report.leases >= 10, `agents got ${report.leases} leases`);
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
      const agents = startDrillAgents(replicas, work.path);
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
      await drained(replicas);
      const report = await checkDrill(replicas, results, work.path, N);
      assert.deepEqual(report.problems, []);
      assert.ok(report.leases >= 10, `agents got ${report.leases} leases`);
      // The paused leader never granted after the new one took over.
      const takeover = String(
        second.events().find((e) => e.event === "leader_ready")!.ts,
      );
      const late = first.events().filter((e) =>
        e.event === "lease_granted" && String(e.ts) > takeover
      );
      assert.deepEqual(late, []);
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
      const agents = startDrillAgents(replicas, work.path);
      await first.waitForEvent((e) => e.event === "lease_completed", 30_000);
      await etcd.kill(await etcd.leader());
      const results = await agentsDone(agents);
      await drained(replicas);
      const report = await checkDrill(replicas, results, work.path, N);
      assert.deepEqual(report.problems, []);
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
    }
  },
});
