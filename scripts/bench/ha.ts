/**
 * Benchmark and soak of coordinator HA on etcd (spec §12), in two parts.
 *
 * **Failover** (drills 1 and 4): a real etcd on loopback, three
 * `mx8 coordinator --ha-etcd` replicas on fixed ports and `--agents`
 * `mx8 agent`s (`ids:` sinks) following the leader. It kills the leader
 * with SIGKILL `--kills` times (restarting the killed replica on its port
 * each time), measures each failover as the time from the kill to the new
 * leader's `leader_ready` event, and at the end checks every invariant of
 * the drills from the event logs of all replicas and agents (the same code
 * as tests/coordinator/ha_drill_test.ts: tests/coordinator/_ha_invariants.ts):
 * every sample delivered, no range with two live owners, no acknowledged
 * completion granted again, no overlap, the job drained. Prints p50/p95/max
 * failover next to the goal: p95 ≤ TTL + 1.5 s. `--soak` is drill 4: 20
 * kills during one job of 400 000 samples with 8 agents, spread over the
 * job (kill k once the leader counts k/21 of the samples completed).
 *
 * **RPC cost** (`--rpc-nodes`, `--write-nodes`): the simulated nodes of
 * `deno task bench:coordinator` (scripts/bench/coordinator.ts `runOne`)
 * against one coordinator with HA off, then one `--ha-etcd` leader, and
 * prints p50/p99 of both (goal: p99 with HA ≤ 2× without) and the fenced
 * txns the leader committed to etcd per second (its `ha_etcd_txns_total`),
 * per 100 nodes, and at `--write-nodes` (the write rate must stay bounded).
 *
 * ```sh
 * deno task bench:ha [--kills 20] [--ttl-ms 2000] [--samples 12000] [--agents 4]
 *   [--sink-sleep-ms 40] [--batch-size 5] [--block-size 20] [--soak]
 *   [--rpc-nodes 128] [--write-nodes 512] [--seconds 10] [--repeat 3]
 *   [--only failover|rpc] [--ha-max-inflight N]
 * ```
 *
 * `--soak` takes `--samples` and `--kills` for a shorter soak (e.g.
 * `--soak --samples 100000 --kills 5`); `--ha-max-inflight` is passed to
 * every replica (fenced txns in flight: latency vs etcd write rate).
 *
 * Prerequisites, checked first: `etcd` (apt `etcd-server`); for the RPC
 * part those of bench:coordinator (h2load, cc, libnghttp2-dev).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ETCD, requirePrerequisites } from "./_prereq.ts";
import {
  type BenchOptions,
  pickSimulator,
  prerequisites,
  type Row,
  runOne,
} from "./coordinator.ts";
import { packedDataset, startAgent } from "../../tests/agent/_agents.ts";
import { startEtcd } from "../../tests/_helpers/etcd.ts";
import { checkHaRun } from "../../tests/coordinator/_ha_invariants.ts";
import {
  type CoordinatorProcess,
  startCoordinator,
} from "../../tests/coordinator/_process.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    kills: { type: "string" },
    "ttl-ms": { type: "string", default: "2000" },
    samples: { type: "string" },
    agents: { type: "string" },
    "sink-sleep-ms": { type: "string" },
    "batch-size": { type: "string" },
    "block-size": { type: "string" },
    "pause-ms": { type: "string" },
    soak: { type: "boolean", default: false },
    "rpc-nodes": { type: "string", default: "128" },
    "write-nodes": { type: "string", default: "512" },
    seconds: { type: "string", default: "10" },
    repeat: { type: "string", default: "3" },
    only: { type: "string" },
    "ha-max-inflight": { type: "string" },
  },
});
/** Drill 4's preset, or the quick default; explicit flags win. */
const preset = values.soak
  ? {
    kills: 20,
    samples: 400_000,
    agents: 8,
    sinkSleepMs: 1,
    batchSize: 50,
    blockSize: 500,
    pauseMs: 1000,
    spread: true,
  }
  : {
    kills: 20,
    samples: 12_000,
    agents: 4,
    sinkSleepMs: 40,
    batchSize: 5,
    blockSize: 20,
    pauseMs: 500,
    spread: false,
  };
const num = (v: string | undefined, fallback: number, name: string) => {
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`--${name} must be a whole number >= 0: ${v}`);
  }
  return n;
};
const KILLS = num(values.kills, preset.kills, "kills");
const TTL = num(values["ttl-ms"], 2000, "ttl-ms");
const N = num(values.samples, preset.samples, "samples");
const AGENTS = num(values.agents, preset.agents, "agents");
const SINK_SLEEP = num(
  values["sink-sleep-ms"],
  preset.sinkSleepMs,
  "sink-sleep-ms",
);
const BATCH = num(values["batch-size"], preset.batchSize, "batch-size");
const BLOCK = num(values["block-size"], preset.blockSize, "block-size");
const PAUSE = num(values["pause-ms"], preset.pauseMs, "pause-ms");
/** Spread the kills over the job (`--soak`): kill k waits for k/(kills+1) of the samples. */
const SPREAD = preset.spread;
const RPC_NODES = num(values["rpc-nodes"], 128, "rpc-nodes");
const WRITE_NODES = num(values["write-nodes"], 512, "write-nodes");
const SECONDS = num(values.seconds, 10, "seconds");
const REPEAT = Math.max(1, num(values.repeat, 3, "repeat"));
/** `--ha-max-inflight N`, passed on to every replica (default: theirs). */
const INFLIGHT = values["ha-max-inflight"] === undefined ? [] : [
  "--ha-max-inflight",
  String(num(values["ha-max-inflight"], 4, "ha-max-inflight")),
];
if (values.only !== undefined && !["failover", "rpc"].includes(values.only)) {
  throw new Error(`--only must be failover or rpc: ${values.only}`);
}
const doFailover = values.only !== "rpc";
const doRpc = values.only !== "failover" && !values.soak;

requirePrerequisites("bench:ha", [
  ETCD,
  ...(doRpc ? prerequisites("auto", false) : []),
]);

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

const loadAverage = () =>
  Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");

/** `leader_ready` events a replica logged (cheap: no JSON parse). */
const readyLines = (r: CoordinatorProcess) =>
  r.stderrLines().filter((l) => l.includes('"event":"leader_ready"'));

/** Failover part; true when every invariant held. */
async function failover(): Promise<boolean> {
  await using etcd = await startEtcd(1);
  const work = await Deno.makeTempDir({ prefix: "mx8-bench-ha-" });
  try {
    console.error(`bench:ha: packing ${N} samples…`);
    const data = await packedDataset(work, N, 1);
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
        String(AGENTS),
        "--block-size",
        String(BLOCK),
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
        ...INFLIGHT,
      ]);
    const replicas: CoordinatorProcess[] = await Promise.all(ports.map(start));
    const all: CoordinatorProcess[] = [...replicas];
    const waitLeader = async (skip?: CoordinatorProcess) => {
      const before = new Map(replicas.map((r) => [r, readyLines(r).length]));
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        for (const r of replicas) {
          if (r === skip) continue;
          const ready = readyLines(r);
          if (
            skip === undefined
              ? ready.length > 0
              : ready.length > before.get(r)!
          ) {
            return { r, ready: JSON.parse(ready.at(-1)!) };
          }
        }
        await new Promise((res) => setTimeout(res, 20));
      }
      const tails = replicas.map((r) =>
        `${r.url}:\n  ${r.stderrLines().slice(-8).join("\n  ")}`
      );
      throw new Error(
        `bench:ha: no new leader within 30 s; the replicas' last lines:\n${
          tails.join("\n")
        }`,
      );
    };
    let { r: leader } = await waitLeader();
    const urls = replicas.map((r) => r.url).join(",");
    const ids = Array.from({ length: AGENTS }, (_, i) => `n${i}`);
    const startedAt = Date.now();
    const agents = ids.map((id) =>
      startAgent(urls, id, [
        "--sink",
        `ids:${work}/ids-${id}.txt`,
        "--batch-size",
        String(BATCH),
        "--sink-sleep-ms",
        String(SINK_SLEEP),
      ])
    );
    await leader.waitForEvent((e) => e.event === "lease_completed", 120_000);
    const failovers: number[] = [];
    const drained = () =>
      replicas.some((r) =>
        r.stderrLines().some((l) => l.includes('"event":"job_drained"'))
      );
    // Kills are spread over the job: each waits until the leader completed
    // another share of the samples (and at least PAUSE ms).
    const share = Math.floor(N / (KILLS + 1));
    const completed = async (url: string) => {
      const text = await (await fetch(`${url}/metrics`)).text().catch(() => "");
      return Number(/^completed_samples (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    for (let k = 0; k < KILLS && !drained(); k++) {
      await new Promise((res) => setTimeout(res, PAUSE)); // the leader works a bit
      if (SPREAD) {
        while (!drained() && await completed(leader.url) < share * (k + 1)) {
          await new Promise((res) => setTimeout(res, 200));
        }
      }
      if (drained()) break;
      const killedAt = Date.now();
      Deno.kill(leader.pid, "SIGKILL");
      const next = await waitLeader(leader);
      const ms = Date.parse(String(next.ready.ts)) - killedAt;
      failovers.push(ms);
      console.error(
        `bench:ha: kill ${
          k + 1
        }: failover ${ms} ms (live leases restored ${next.ready.live_leases}, completed ${next.ready.completed_samples}/${N})`,
      );
      const i = replicas.indexOf(leader);
      await leader.stop();
      replicas[i] = await start(ports[i]);
      all.push(replicas[i]);
      leader = next.r;
    }
    const results = await Promise.all(agents.map((a) => a.done));
    const jobMs = Date.now() - startedAt;
    for (let i = 0; i < 300 && !drained(); i++) {
      await new Promise((res) => setTimeout(res, 100));
    }
    await Promise.all(replicas.map((r) => r.stop()));
    const report = await checkHaRun({
      logs: all.map((r) => r.events()),
      agents: results,
      idFiles: ids.map((id) => `${work}/ids-${id}.txt`),
      samples: N,
    });
    const goal = TTL + 1500;
    const p95 = pct(failovers, 95);
    console.log(
      `\n## bench:ha failover${
        values.soak ? " — soak (drill 4)" : ""
      }: ${N} samples, ${AGENTS} agents, blocks of ${BLOCK}, 3 replicas, 1 etcd member, load average ${loadAverage()} (other work on this machine disturbs it)\n`,
    );
    console.log(
      "| kills | TTL ms | failover p50 ms | p95 ms | max ms | goal p95 ≤ ms | delivered | leases | agents ok | job s | invariants |",
    );
    console.log("|---|---|---|---|---|---|---|---|---|---|---|");
    console.log(
      `| ${failovers.length}/${KILLS} | ${TTL} | ${
        pct(failovers, 50)
      } | ${p95} | ${
        Math.max(...failovers)
      } | ${goal} | ${report.delivered}/${N} | ${report.leases} | ${
        results.filter((r) => r.code === 0).length
      }/${AGENTS} | ${(jobMs / 1000).toFixed(0)} | ${
        report.problems.length === 0
          ? "all hold"
          : `${report.problems.length} broken`
      } |`,
    );
    console.log("");
    console.log(
      `p95 / goal = ${(p95 / goal).toFixed(2)} ${
        p95 <= goal ? "(met)" : "(NOT met)"
      }`,
    );
    // Leader changes beyond the kills, and why leaders stepped down.
    const events = all.flatMap((r) => r.events());
    const reasons = new Map<string, number>();
    for (const e of events) {
      if (e.event === "leader_lost") {
        const k = String(e.reason);
        reasons.set(k, (reasons.get(k) ?? 0) + 1);
      }
    }
    const elected = events.filter((e) => e.event === "leader_elected").length;
    const errors = events.filter((e) =>
      e.event === "ha_error" || (e.event === "leader_lost" && e.detail)
    );
    console.log(
      `leader elections ${elected} (kills ${failovers.length}); leader_lost by reason: ${
        [...reasons].map(([k, n]) => `${k} ${n}`).join(", ") || "none"
      }; errors ${errors.length}${
        errors.length > 0
          ? ` (first: ${String(errors[0].detail).slice(0, 200)})`
          : ""
      }`,
    );
    // Why leaders stepped down on their own: the first details per reason.
    for (const reason of reasons.keys()) {
      const details = events.filter((e) =>
        e.event === "leader_lost" && e.reason === reason && e.detail
      ).slice(0, 3).map((e) => String(e.detail).slice(0, 160));
      if (details.length > 0) {
        console.log(`leader_lost ${reason}: ${details.join(" | ")}`);
      }
    }
    for (const p of report.problems) console.error(`bench:ha: ${p}`);
    if (failovers.length < KILLS) {
      console.error(
        `bench:ha: the job drained after ${failovers.length} of ${KILLS} kills: slow the agents (--sink-sleep-ms) or add samples`,
      );
    }
    return report.problems.length === 0 && failovers.length === KILLS;
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/** Reads `ha_etcd_txns_total` from a replica's /metrics. */
async function etcdTxns(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^ha_etcd_txns_total (\S+)$/m.exec(text)?.[1] ?? NaN);
}

/** Waits until the replica at `url` leads (`ha_is_leader 1`). */
async function leads(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const text = await (await fetch(`${url}/metrics`)).text().catch(() => "");
    if (/^ha_is_leader 1$/m.test(text)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`bench:ha: ${url} did not become leader within 15 s`);
}

/** RPC part: HA off vs on at RPC_NODES, and the write rate at WRITE_NODES. */
async function rpc(): Promise<boolean> {
  const dir = await Deno.makeTempDir({ prefix: "mx8-bench-ha-rpc-" });
  try {
    const sim = pickSimulator("auto", dir, []);
    const base: BenchOptions = {
      seconds: SECONDS,
      clients: 2,
      heartbeatMs: 200,
      progressMs: 200,
      conns: 0,
      dir,
      sim,
      client: "raw",
      prefetch: true,
      coordFlags: [],
      probe: false,
      simNice: 0,
      warmupMs: 2000,
      gcStats: false,
      main: new URL("../../main.ts", import.meta.url).pathname,
    };
    const once = async (nodes: number, ha: boolean): Promise<Row> => {
      console.error(`bench:ha: ${nodes} nodes, HA ${ha ? "on" : "off"}…`);
      if (!ha) return await runOne(nodes, base);
      // A fresh etcd per run: the job's stored options differ per run.
      await using etcd = await startEtcd(1);
      return await runOne(nodes, {
        ...base,
        coordArgs: [
          "--ha-etcd",
          etcd.endpoints.join(","),
          "--ha-ttl-ms",
          String(TTL),
          ...INFLIGHT,
        ],
        whenReady: leads,
        counter: etcdTxns,
      });
    };
    const rows: { ha: boolean; row: Row }[] = [];
    for (let run = 0; run < REPEAT; run++) {
      rows.push({ ha: false, row: await once(RPC_NODES, false) });
      rows.push({ ha: true, row: await once(RPC_NODES, true) });
    }
    if (WRITE_NODES > 0) {
      rows.push({ ha: true, row: await once(WRITE_NODES, true) });
    }
    console.log(
      `\n## bench:ha RPC cost: simulated nodes of bench:coordinator (${sim.label}), heartbeat and progress every 200 ms, leases of 100, ${SECONDS} s window after a 2 s warm-up, HA: one --ha-etcd leader, 1 etcd member, load average ${loadAverage()}\n`,
    );
    console.log(
      "| nodes | HA | RPCs/s | p50 ms | p99 ms | errors | etcd txns/s | txns/s per 100 nodes |",
    );
    console.log("|---:|---|---:|---:|---:|---:|---:|---:|");
    for (const { ha, row } of rows) {
      const wps = row.counterDelta === undefined
        ? undefined
        : row.counterDelta / row.seconds;
      console.log(
        `| ${row.nodes} | ${ha ? "on" : "off"} | ${row.rps.toFixed(0)} | ${
          row.p50.toFixed(2)
        } | ${row.p99.toFixed(2)} | ${row.errors} | ${
          wps?.toFixed(0) ?? "—"
        } | ${
          wps === undefined ? "—" : (wps / (row.nodes / 100)).toFixed(0)
        } |`,
      );
    }
    const median = (ha: boolean) => {
      const p = rows.filter((r) => r.ha === ha && r.row.nodes === RPC_NODES)
        .map((r) => r.row.p99).sort((a, b) => a - b);
      return p[Math.floor((p.length - 1) / 2)];
    };
    const off = median(false), on = median(true);
    const ratio = on / off;
    console.log(
      `\n${RPC_NODES} nodes: median p99 HA on ${on.toFixed(2)} ms / off ${
        off.toFixed(2)
      } ms = ${ratio.toFixed(2)}× — goal ≤ 2×: ${
        ratio <= 2 ? "met" : "NOT met"
      }`,
    );
    const big = rows.at(-1)!.row;
    if (WRITE_NODES > 0 && big.counterDelta !== undefined) {
      console.log(
        `${WRITE_NODES} nodes: ${
          (big.counterDelta / big.seconds).toFixed(0)
        } etcd txns/s (${
          (big.counterDelta / big.seconds / (WRITE_NODES / 100)).toFixed(0)
        } per 100 nodes), p99 ${big.p99.toFixed(2)} ms, ${big.errors} errors`,
      );
    }
    return rows.every((r) => r.row.errors === 0);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

let ok = true;
if (doFailover) ok = (await failover()) && ok;
if (doRpc) ok = (await rpc()) && ok;
if (!ok) Deno.exitCode = 1;
