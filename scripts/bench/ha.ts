/**
 * Benchmark and soak of coordinator HA on etcd (spec §12): a real etcd on
 * loopback, three `mx8 coordinator --ha-etcd` replicas on fixed ports and
 * four `mx8 agent`s (`ids:` sinks) following the leader. It kills the
 * leader with SIGKILL `--kills` times (restarting the killed replica on its
 * port each time), measures each failover as the time from the kill to the
 * new leader's `leader_ready` event, and at the end checks that every
 * sample was delivered and the job drained. Prints p50/p95/max failover
 * next to the goal: p95 ≤ TTL + 1.5 s.
 *
 * ```sh
 * deno task bench:ha [--kills 20] [--ttl-ms 2000] [--samples 12000] [--sink-sleep-ms 40]
 * ```
 *
 * Prerequisite, checked first: `etcd` (apt `etcd-server`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ETCD, requirePrerequisites } from "./_prereq.ts";
import {
  packedDataset,
  readIds,
  startAgent,
} from "../../tests/agent/_agents.ts";
import { startEtcd } from "../../tests/_helpers/etcd.ts";
import {
  type CoordinatorProcess,
  startCoordinator,
} from "../../tests/coordinator/_process.ts";

requirePrerequisites("bench:ha", [ETCD]);

const { values } = parseArgs({
  args: Deno.args,
  options: {
    kills: { type: "string", default: "20" },
    "ttl-ms": { type: "string", default: "2000" },
    samples: { type: "string", default: "12000" },
    "sink-sleep-ms": { type: "string", default: "40" },
  },
});
const KILLS = Number(values.kills);
const TTL = Number(values["ttl-ms"]);
const N = Number(values.samples);

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

await using etcd = await startEtcd(1);
const work = await Deno.makeTempDir({ prefix: "mx8-bench-ha-" });
try {
  console.error(`bench:ha: packing ${N} samples…`);
  const data = await packedDataset(work, N);
  const ports = [freePort(), freePort(), freePort()];
  const start = (port: number) =>
    startCoordinator([
      "--bind",
      `127.0.0.1:${port}`,
      "--job-id",
      "job",
      "--dataset",
      data,
      "--world-size",
      "4",
      "--block-size",
      "20",
      "--lease-ttl-ms",
      "4000",
      "--heartbeat-ms",
      "300",
      "--manifest-store",
      `${work}/store`,
      "--grpc-bind",
      "off",
      "--ha-etcd",
      etcd.endpoints.join(","),
      "--ha-ttl-ms",
      String(TTL),
    ]);
  const replicas: CoordinatorProcess[] = await Promise.all(ports.map(start));
  const all: CoordinatorProcess[] = [...replicas];
  const readyCount = (r: CoordinatorProcess) =>
    r.events().filter((e) => e.event === "leader_ready").length;
  const waitLeader = async (skip?: CoordinatorProcess) => {
    const before = new Map(replicas.map((r) => [r, readyCount(r)]));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      for (const r of replicas) {
        if (r === skip) continue;
        const ev = r.events().filter((e) => e.event === "leader_ready");
        if (skip === undefined ? ev.length > 0 : ev.length > before.get(r)!) {
          return { r, ready: ev.at(-1)! };
        }
      }
      await new Promise((res) => setTimeout(res, 20));
    }
    throw new Error("bench:ha: no new leader within 30 s");
  };
  let { r: leader } = await waitLeader();
  const urls = replicas.map((r) => r.url).join(",");
  const agents = ["a", "b", "c", "d"].map((id) =>
    startAgent(urls, id, [
      "--sink",
      `ids:${work}/ids-${id}.txt`,
      "--batch-size",
      "5",
      "--sink-sleep-ms",
      values["sink-sleep-ms"]!,
    ])
  );
  await leader.waitForEvent((e) => e.event === "lease_completed", 60_000);
  const failovers: number[] = [];
  let drained = false;
  for (let k = 0; k < KILLS && !drained; k++) {
    await new Promise((res) => setTimeout(res, 500)); // let the new leader work a bit
    const killedAt = Date.now();
    Deno.kill(leader.pid, "SIGKILL");
    const next = await waitLeader(leader);
    const ms = Date.parse(String(next.ready.ts)) - killedAt;
    failovers.push(ms);
    console.error(`bench:ha: kill ${k + 1}: failover ${ms} ms`);
    const i = replicas.indexOf(leader);
    await leader.stop();
    replicas[i] = await start(ports[i]);
    all.push(replicas[i]);
    leader = next.r;
    drained = replicas.some((r) =>
      r.events().some((e) => e.event === "job_drained")
    );
  }
  const results = await Promise.all(agents.map((a) => a.done));
  const union = new Set<number>();
  for (const id of ["a", "b", "c", "d"]) {
    for (const x of await readIds(`${work}/ids-${id}.txt`)) union.add(x);
  }
  const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3)
    .join(" ");
  const goal = TTL + 1500;
  const p95 = pct(failovers, 95);
  console.log(
    `# bench:ha (load average ${load}; other work on this machine disturbs it)`,
  );
  console.log("");
  console.log(
    "| kills | TTL ms | failover p50 ms | p95 ms | max ms | goal p95 ≤ ms | delivered | agents ok |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  console.log(
    `| ${failovers.length} | ${TTL} | ${pct(failovers, 50)} | ${p95} | ${
      Math.max(...failovers)
    } | ${goal} | ${union.size}/${N} | ${
      results.filter((r) => r.code === 0).length
    }/4 |`,
  );
  console.log("");
  console.log(
    `p95 / goal = ${(p95 / goal).toFixed(2)} ${
      p95 <= goal ? "(met)" : "(NOT met)"
    }`,
  );
  await Promise.all(replicas.map((r) => r.stop()));
  if (union.size !== N || results.some((r) => r.code !== 0)) {
    for (const r of results) console.error(r.stderr.slice(-1500));
    console.error("bench:ha: samples lost or an agent failed");
    Deno.exitCode = 1;
  }
} finally {
  await Deno.remove(work, { recursive: true }).catch(() => {});
}
