/**
 * Benchmark of `mx8 coordinator` under many simulated nodes.
 *
 * For each node count N it starts a real coordinator process (world size N,
 * blocks of 100 samples), then two client processes
 * (`_coord_worker.ts`) that simulate N/2 nodes each. Every node has its own
 * h2c connection, registers until the barrier is met, then for the measured
 * window: heartbeats every 200 ms, and in a second loop requests a lease
 * (want 1) and reports progress every 200 ms, 10 samples at a time, until
 * the lease completes. It prints RPCs/s, p50/p99 latency (client side), the
 * coordinator's CPU and the client processes' CPU (utime+stime from /proc,
 * 100% = one core) and the hypervisor's steal time over the window (% of all
 * vCPUs) as a markdown table. Each node count runs `--repeat` times (default
 * 3, every run printed); the goal is judged on the median run's p99, since a
 * VM whose host steals CPU for tens of ms at a time adds those ms to the tail
 * of whichever run it hits. Goals on a 2-core machine: p99 < 15 ms at 512
 * nodes (200 ms intervals), p99 < 20 ms at 2 048 nodes with the default 1 s
 * intervals. The simulated nodes de-synchronize as `LeaseSource` does
 * (random heartbeat phase, 90–100 % periods, staggered first lease, next
 * lease prefetched at a random point of the current one; `--lease-prefetch
 * off` requests it at the end instead) and pace their progress reports as an
 * agent's consumer does: one interval after the previous report was sent
 * (`--progress-from answer`: after its answer, which lets every coordinator
 * turn synchronize the nodes it answered). The native simulator's 100 ms
 * timeline gives the `peak / mean` column and, with `--timeline FILE`, a TSV
 * of the window; the last table is each node count's median run (CPU ms per
 * RPC and latency as the node count grows).
 *
 * The simulated nodes share the machine with the coordinator, so their own
 * cost per RPC is taken from the coordinator's CPU. Two knobs keep that
 * artifact small, and the header line says which were used:
 * - `--client raw` (default): a minimal Connect client on `node:http2`
 *   (unary POST, `application/proto`: the same bytes on the wire as
 *   lib/rpc/client.ts) instead of `--client connect` (lib/rpc/client.ts,
 *   ≈0.5 ms CPU per call in the simulator);
 * - `--sim auto` (default): run the simulators under Node.js (the worker
 *   bundled with `deno bundle`, nothing installed) when `node` is on PATH,
 *   else under Deno; `--sim deno` / `--sim node` force one.
 *
 * ```sh
 * deno run -A scripts/bench/coordinator.ts [--nodes 16,128,512] [--seconds 10] [--clients 2]
 *   [--heartbeat-ms 200] [--progress-ms 200] [--conns 0 (= one per node)]
 *   [--client raw|connect] [--sim auto|node|deno]
 *   ["--coord-flags=--cpu-prof --cpu-prof-dir=DIR"] ["--sim-flags=…"]
 *   [--coord-log FILE (the coordinator's stdout, e.g. with --v8-flags=--trace-gc)]
 *   [--gc-stats (the coordinator's GCs in the window: allocation per RPC, pauses)]
 *   [--content-length on|off (native simulator: send it, as agents do; default on)]
 *   [--progress-from send|answer (native simulator: next progress report one interval
 *   after the previous one was sent, as an agent's consumer, default; or after its answer)]
 *   [--main PATH (the coordinator of another checkout's main.ts, e.g. the code before a change)]
 *   [--lag FILE (the coordinator's event-loop lag, CPU and run-queue wait per 100 ms,
 *   `_coord_lag.ts`; FILE.N.RUN with several runs)]
 *   [--repeat 3] [--coord-cpus LIST] [--sim-cpus LIST] (taskset CPU lists)
 *   [--lease-prefetch on|off] [--timeline FILE (FILE.N.RUN with several runs)]
 * ```
 *
 * Prerequisites, checked before anything runs (one line naming the install
 * command, exit 1): `h2load` (nghttp2-client); `cc` and libnghttp2-dev under
 * `--sim auto|native`; `node` under `--sim node`; `taskset` with
 * `--coord-cpus` / `--sim-cpus`.
 *
 * Summarize a profile with `deno run -A scripts/bench/_coord_profsum.ts FILE`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { Coordinator } from "../../lib/gen/mx8/v1/coordinator_pb.ts";
import { serializeManifest } from "../../lib/manifest/tsv.ts";
import { BUCKET_MS, JOB, STEP, type WorkerReport } from "./_coord_common.ts";
import {
  type GcEvent,
  type GcSummary,
  parseGcLine,
  summarizeGc,
} from "./_coord_gc.ts";
import {
  CC,
  H2LOAD,
  NGHTTP2_DEV,
  type Prerequisite,
  requirePrerequisites,
  tool,
} from "./_prereq.ts";

const MAIN_TS = new URL("../../main.ts", import.meta.url).pathname;
const WORKER_TS = new URL("./_coord_worker.ts", import.meta.url).pathname;
const LAG_TS = new URL("./_coord_lag.ts", import.meta.url).pathname;
const NATIVE_SIM_C = new URL("./coord_sim.c", import.meta.url).pathname;
const BLOCK = 100;
/** The native simulator's label in the table header. */
const NATIVE_LABEL = "native C/nghttp2";
/** Bin of the native simulator's timeline (ms). */
const TIMELINE_MS = 100;

/** One measured run of {@linkcode runOne}. */
export interface Row {
  nodes: number;
  /** Window length (s). */
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  cpu: number;
  /** CPU of all client processes together (100% = one core). */
  clientCpu: number;
  errors: number;
  calls: Record<string, number>;
  /**
   * Heartbeats of the native h2load probe, if run: p50, p99 ms and how many
   * were answered (the coordinator's CPU answered those too).
   */
  probe?: [number, number, number];
  /** Hypervisor steal over the window, % of all vCPUs' time. */
  steal: number;
  /**
   * Busiest 100 ms bin's RPC starts over the mean bin's (native simulator
   * only): 1.0 = a flat load, 1.5 = bursts half again above it.
   */
  peak?: number;
  /**
   * How bunched the RPC starts are (native simulator only): the 99th
   * percentile and the largest count of RPCs started in one 10 ms bin,
   * each over the mean bin's. Timers at independent phases give
   * ≈1.3 / 1.6 at 512 nodes; nodes that fire together give more.
   */
  bunch?: [number, number];
  /** Increase of {@linkcode BenchOptions.counter} over the window. */
  counterDelta?: number;
  /** The coordinator's collections in the window (`--gc-stats`). */
  gc?: GcSummary;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- driver

/** utime + stime of a process in clock ticks; NaN once it has exited. */
function cpuTicks(pid: number): number {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return NaN;
  }
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

/**
 * Steal time of the whole machine in clock ticks (the `cpu` line of
 * /proc/stat, 8th value): time the hypervisor ran someone else while our
 * vCPUs wanted to run. NaN when /proc/stat is unreadable.
 */
function stealTicks(): number {
  try {
    const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
    return Number(line.trim().split(/\s+/)[8]);
  } catch {
    return NaN;
  }
}

function clockTicks(): number {
  try {
    const out = new Deno.Command("getconf", { args: ["CLK_TCK"] }).outputSync();
    return Number(new TextDecoder().decode(out.stdout).trim()) || 100;
  } catch {
    return 100;
  }
}

async function makeDataset(
  dir: string,
  name: string,
  samples: number,
): Promise<string> {
  const rows = Array.from({ length: samples }, (_, i) => ({
    sampleId: i,
    location: `shards/shard-${
      String(Math.floor(i / 1000)).padStart(5, "0")
    }.tar`,
    byteOffset: (i % 1000) * 512 + 512,
    byteLength: 100,
  }));
  const path = `${dir}/${name}.tsv`;
  await Deno.writeFile(path, serializeManifest(rows));
  return path;
}

/** Settings of one benchmark run. */
export interface BenchOptions {
  seconds: number;
  clients: number;
  heartbeatMs: number;
  progressMs: number;
  conns: number;
  dir: string;
  /** How to start a client process. */
  sim: Simulator;
  /** Simulated nodes' client: `connect` (lib/rpc/client.ts) or `raw` (node:http2). */
  client: string;
  /**
   * Nodes prefetch their next lease at a random point of the current one,
   * as LeaseSource does (`--lease-prefetch on`, the default); `off`: they
   * request it when the current one completes, the old agents' way.
   */
  prefetch: boolean;
  /** Extra `deno run` flags for the coordinator process (e.g. `--cpu-prof`). */
  coordFlags: string[];
  /** Run the h2load latency probe during the window. */
  probe: boolean;
  /** Niceness of the simulator processes (0: same priority as the coordinator). */
  simNice: number;
  /** Where to save the coordinator's stdout after the ready line (`--coord-log`). */
  coordLog?: string;
  /** Trace the coordinator's GCs and summarize the window's (`--gc-stats`). */
  gcStats: boolean;
  /** The `main.ts` whose coordinator runs (`--main`; default this checkout's). */
  main: string;
  /** Where the coordinator's per-100 ms lag rows go (`--lag`). */
  lag?: string;
  /** CPUs (taskset list) for the coordinator / the simulators; all when unset. */
  coordCpus?: string;
  simCpus?: string;
  /** Where to write the merged 100 ms timeline (TSV, `--timeline`). */
  timeline?: string;
  /**
   * Traffic runs this long before the measured window (`--warmup-ms`): every
   * node's first lease grant and the coordinator's cold JIT fall in it.
   */
  warmupMs: number;
  /** Extra coordinator flags (bench:ha: `--ha-etcd URL`). */
  coordArgs?: string[];
  /**
   * Awaited once the coordinator printed its ready line, before any node
   * registers (bench:ha: until the replica leads).
   */
  whenReady?: (url: string) => Promise<void>;
  /**
   * Read at the window's start and end; the difference is
   * {@linkcode Row.counterDelta} (bench:ha: the etcd writes the leader made).
   */
  counter?: (url: string) => Promise<number>;
}

/** A way to run `_coord_worker.ts`. */
export interface Simulator {
  /** Executable. */
  command: string;
  /** Arguments before the worker's own. */
  args: string[];
  /** What the table header says. */
  label: string;
}

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  try {
    const r = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" })
      .outputSync();
    const text = new TextDecoder().decode(r.success ? r.stdout : r.stderr);
    return { ok: r.success, out: text.trim() };
  } catch (err) {
    return { ok: false, out: String(err) };
  }
}

/**
 * Builds `coord_sim.c` (C, libnghttp2) into `dir`; undefined with the reason
 * when `cc` or the nghttp2 headers (Debian `libnghttp2-dev`) are missing.
 */
function buildNativeSim(dir: string): { path?: string; why?: string } {
  const path = `${dir}/coord_sim`;
  const built = run("cc", ["-O2", "-o", path, NATIVE_SIM_C, "-lnghttp2"]);
  return built.ok ? { path } : {
    why: `cannot build ${NATIVE_SIM_C} (needs cc and libnghttp2-dev): ${
      built.out.split("\n")[0]
    }`,
  };
}

/**
 * Picks the node simulator. `native` (the default under `auto`):
 * `coord_sim.c`, one epoll loop over libnghttp2 sessions, a few µs of CPU per
 * RPC, so the simulators neither take the coordinator's CPU nor add their
 * own event-loop delays to the latency. `node`: the worker bundled with
 * `deno bundle` (npm packages included, `node:*` left to Node.js) and run by
 * Node.js, whose native HTTP/2 client costs the shared CPU much less per RPC
 * than Deno's `node:http2` compat. `deno`: the worker run by Deno. `auto`:
 * node when `node` (>= 18) is on PATH and the bundle builds, else deno.
 */
export function pickSimulator(
  kind: string,
  dir: string,
  simFlags: string[],
): Simulator {
  const deno: Simulator = {
    command: Deno.execPath(),
    args: ["run", "-A", "--quiet", ...simFlags, WORKER_TS],
    label: `deno ${Deno.version.deno}`,
  };
  if (kind === "deno") return deno;
  if (kind === "native" || kind === "auto") {
    const native = buildNativeSim(dir);
    if (native.path) {
      return {
        command: native.path,
        args: ["--timeline-ms", String(TIMELINE_MS)],
        label: NATIVE_LABEL,
      };
    }
    if (kind === "native") throw new Error(`--sim native: ${native.why}`);
    console.error(`coordinator bench: no native simulator: ${native.why}`);
  }
  const version = run("node", ["--version"]);
  const major = Number(/^v(\d+)/.exec(version.out)?.[1] ?? 0);
  let why = version.ok && major >= 18 ? "" : `node not usable (${version.out})`;
  const bundle = `${dir}/_coord_worker.mjs`;
  if (!why) {
    const built = run(Deno.execPath(), [
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "-o",
      bundle,
      WORKER_TS,
    ]);
    if (!built.ok) why = `deno bundle failed: ${built.out}`;
  }
  if (!why) {
    return {
      command: "node",
      args: [...simFlags, bundle],
      label: `node ${version.out}`,
    };
  }
  if (kind === "node") throw new Error(`--sim node: ${why}`);
  console.error(`coordinator bench: simulators fall back to Deno: ${why}`);
  return deno;
}

/**
 * One run: a coordinator process with world size `nodes`, the simulated
 * nodes against it, the measured window.
 *
 * @param nodes Simulated nodes.
 * @param o Settings.
 * @returns The measured row.
 */
export async function runOne(nodes: number, o: BenchOptions): Promise<Row> {
  // Enough work that nobody drains inside the window.
  const samples = Math.ceil(
    nodes * (o.seconds + 5) * (1000 / o.progressMs) * STEP * 1.2,
  );
  const dataset = await makeDataset(o.dir, `bench-${nodes}`, samples);
  if (o.lag !== undefined) await Deno.remove(o.lag).catch(() => {});
  // V8's tracing goes through C stdio, block-buffered on a pipe and lost
  // at SIGTERM: with --coord-log, line-buffer it with coreutils' stdbuf.
  const coordCmd = [
    ...(o.coordCpus ? ["taskset", "-c", o.coordCpus] : []),
    ...(o.coordLog !== undefined || o.gcStats ? ["stdbuf", "-oL"] : []),
    Deno.execPath(),
  ];
  // --trace-gc-nvp times are ms since the isolate started: close enough to
  // the spawn for 10 s windows.
  const spawnedAt = Date.now();
  const coord = new Deno.Command(coordCmd[0], {
    args: [
      ...coordCmd.slice(1),
      "run",
      "-A",
      "--quiet",
      ...o.coordFlags,
      ...(o.gcStats ? ["--v8-flags=--trace-gc-nvp"] : []),
      ...(o.lag !== undefined ? [`--preload=${LAG_TS}`] : []),
      o.main,
      "coordinator",
      "--job-id",
      JOB,
      "--dataset",
      dataset,
      "--bind",
      "127.0.0.1:0",
      "--manifest-store",
      `${o.dir}/store`,
      "--world-size",
      String(nodes),
      "--block-size",
      String(BLOCK),
      "--lease-ttl-ms",
      "30000",
      // What agents would be told to use (the simulators are told directly).
      "--heartbeat-ms",
      String(o.heartbeatMs),
      ...(o.coordArgs ?? []),
    ],
    env: {
      MX8_AUTH_TOKEN: "",
      ...(o.lag !== undefined ? { MX8_LAG_OUT: o.lag } : {}),
    },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const coordOut = lines(coord.stdout);
  // V8 tracing flags (`--coord-flags=--v8-flags=--trace-gc`) print to
  // stdout too, before and after the ready line.
  const kept: string[] = [];
  const gcs: GcEvent[] = [];
  let url: string | undefined;
  // (next(), not for-await: breaking out of for-await would close coordOut.)
  for (let r = await coordOut.next(); !r.done; r = await coordOut.next()) {
    url = / ready url=(\S+)/.exec(r.value)?.[1];
    if (url) break;
    kept.push(r.value);
    const gc = o.gcStats ? parseGcLine(r.value) : undefined;
    if (gc) gcs.push(gc);
  }
  if (!url) {
    throw new Error(`coordinator did not start: ${kept.slice(-3).join(" / ")}`);
  }
  // Keep reading: a full stdout pipe would stall the coordinator.
  const drained = (async () => {
    for await (const line of coordOut) {
      if (o.coordLog) kept.push(line);
      const gc = o.gcStats ? parseGcLine(line) : undefined;
      if (gc) gcs.push(gc);
    }
    if (o.coordLog) await Deno.writeTextFile(o.coordLog, kept.join("\n"));
  })();
  await o.whenReady?.(url);
  const ids = Array.from(
    { length: nodes },
    (_, i) => `node-${String(i).padStart(4, "0")}`,
  );
  const parts = Array.from(
    { length: o.clients },
    (_, c) => ids.filter((_, i) => i % o.clients === c),
  ).filter((p) => p.length > 0);
  const workers = parts.map((part) => {
    const simCmd = [
      ...(o.simCpus ? ["taskset", "-c", o.simCpus] : []),
      ...(o.simNice ? ["nice", "-n", String(o.simNice)] : []),
      o.sim.command,
    ];
    const child = new Deno.Command(simCmd[0], {
      args: [
        ...simCmd.slice(1),
        ...o.sim.args,
        "--url",
        url,
        "--node-ids",
        part.join(","),
        "--seconds",
        String(o.seconds),
        "--heartbeat-ms",
        String(o.heartbeatMs),
        "--progress-ms",
        String(o.progressMs),
        "--conns",
        String(o.conns),
        "--client",
        o.client,
        "--prefetch",
        o.prefetch ? "1" : "0",
        "--warmup-ms",
        String(o.warmupMs),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    return { child, out: lines(child.stdout) };
  });
  for (const w of workers) {
    const line = (await w.out.next()).value;
    if (line !== "registered") throw new Error(`worker said: ${line}`);
  }
  // Barrier met: every node registered.
  const startAt = Date.now() + 1000 + o.warmupMs;
  for (const w of workers) {
    const writer = w.child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(`${startAt}\n`));
    await writer.close();
  }
  const hz = clockTicks();
  await sleep(Math.max(0, startAt - Date.now()));
  const probe = o.probe ? startProbe(url, ids[0], o) : undefined;
  const cpu0 = cpuTicks(coord.pid);
  const steal0 = stealTicks();
  const client0 = workers.reduce((n, w) => n + cpuTicks(w.child.pid), 0);
  const counter0 = await o.counter?.(url);
  const t0 = performance.now();
  await sleep(o.seconds * 1000);
  const counter1 = await o.counter?.(url);
  const cpu1 = cpuTicks(coord.pid);
  const steal1 = stealTicks();
  const client1 = workers.reduce((n, w) => n + cpuTicks(w.child.pid), 0);
  const elapsed = (performance.now() - t0) / 1000;
  const probed = await probe;
  const reports: WorkerReport[] = [];
  for (const w of workers) {
    const json = (await w.out.next()).value;
    const status = await w.child.status;
    if (!status.success || !json) {
      throw new Error(`client process failed (${status.code})`);
    }
    reports.push(JSON.parse(json));
  }
  coord.kill("SIGTERM");
  await coord.status;
  await drained;

  const hist = new Map<number, number>();
  const calls: Record<string, number> = {};
  let errors = 0;
  for (const r of reports) {
    for (const [b, n] of Object.entries(r.hist)) {
      hist.set(Number(b), (hist.get(Number(b)) ?? 0) + n);
    }
    for (const [m, n] of Object.entries(r.calls)) {
      calls[m] = (calls[m] ?? 0) + n;
    }
    errors += r.errors;
    if (r.firstError) console.error(`  first error: ${r.firstError}`);
  }
  const timeline = mergeTimelines(reports, startAt);
  const bunch = bunching(reports);
  if (timeline && o.timeline) {
    await Deno.writeTextFile(o.timeline, timeline.tsv);
  }
  const total = [...hist.values()].reduce((a, b) => a + b, 0);
  const sorted = [...hist.entries()].sort((a, b) => a[0] - b[0]);
  const pct = (p: number) => {
    let seen = 0;
    for (const [b, n] of sorted) {
      seen += n;
      if (seen >= p * total) return (b + 1) * BUCKET_MS;
    }
    return NaN;
  };
  return {
    nodes,
    seconds: o.seconds,
    rps: total / o.seconds,
    p50: pct(0.5),
    p99: pct(0.99),
    max: sorted.length ? (sorted[sorted.length - 1][0] + 1) * BUCKET_MS : NaN,
    cpu: ((cpu1 - cpu0) / hz / elapsed) * 100,
    steal: ((steal1 - steal0) / hz / elapsed / navigator.hardwareConcurrency) *
      100,
    // Simulators that time their own CPU over the window say so (they may
    // exit before /proc is read at the window's end).
    clientCpu: reports.every((r) => r.cpuSeconds !== undefined)
      ? (reports.reduce((a, r) => a + r.cpuSeconds!, 0) / elapsed) * 100
      : ((client1 - client0) / hz / elapsed) * 100,
    errors,
    calls,
    probe: probed,
    peak: timeline?.peak,
    bunch,
    counterDelta: counter0 === undefined || counter1 === undefined
      ? undefined
      : counter1 - counter0,
    gc: o.gcStats
      ? summarizeGc(
        gcs,
        startAt - spawnedAt,
        startAt - spawnedAt + o.seconds * 1000,
      )
      : undefined,
  };
}

/**
 * Sums the simulators' timelines bin by bin: a TSV (one row per bin: start
 * ms from the window's start and as Unix ms (to line up with the
 * coordinator's own logs, e.g. `--coord-log` or a `--preload` probe), heartbeats, request_leases, progress reports, all RPCs, RPCs > 5 ms,
 * slowest ms) and the busiest bin's RPC count over the mean bin's. Undefined
 * when a simulator sent none (the JS worker).
 */
function mergeTimelines(
  reports: WorkerReport[],
  startUnixMs: number,
): { tsv: string; peak: number } | undefined {
  if (!reports.every((r) => r.timeline)) return undefined;
  const binMs = reports[0].timeline!.binMs;
  const n = Math.min(...reports.map((r) => r.timeline!.bins.length));
  const rows: number[][] = [];
  for (let b = 0; b < n; b++) {
    const row = [0, 0, 0, 0, 0];
    for (const r of reports) {
      const [hb, lease, prog, slow, max] = r.timeline!.bins[b];
      row[0] += hb;
      row[1] += lease;
      row[2] += prog;
      row[3] += slow;
      row[4] = Math.max(row[4], max);
    }
    rows.push(row);
  }
  const sums = rows.map((r) => r[0] + r[1] + r[2]);
  const mean = sums.reduce((a, b) => a + b, 0) / Math.max(1, n);
  const tsv = [
    "start_ms\tunix_ms\theartbeat\trequest_lease\treport_progress\trpcs\tslow_5ms\tmax_ms",
    ...rows.map((r, b) =>
      [
        b * binMs,
        startUnixMs + b * binMs,
        r[0],
        r[1],
        r[2],
        sums[b],
        r[3],
        r[4],
      ].join("\t")
    ),
  ].join("\n") + "\n";
  return { tsv, peak: mean > 0 ? Math.max(...sums) / mean : NaN };
}

/**
 * The 99th percentile and the largest of the RPCs started per 10 ms bin
 * (all simulators summed), each over the mean bin's; undefined when a
 * simulator did not count them.
 */
function bunching(reports: WorkerReport[]): [number, number] | undefined {
  if (!reports.every((r) => r.starts10)) return undefined;
  const n = Math.min(...reports.map((r) => r.starts10!.length));
  const sums = Array.from(
    { length: n },
    (_, b) => reports.reduce((a, r) => a + r.starts10![b], 0),
  );
  const mean = sums.reduce((a, b) => a + b, 0) / Math.max(1, n);
  if (!(mean > 0)) return undefined;
  const sorted = [...sums].sort((a, b) => a - b);
  const p99 = sorted[Math.min(n - 1, Math.floor(0.99 * n))];
  return [p99 / mean, sorted[n - 1] / mean];
}

/**
 * Runs `h2load` (nghttp2's native load generator: its own cost is negligible)
 * as one extra h2c connection sending heartbeats for an already registered
 * node at 50/s through the window, and returns its p50/p99 latency in ms
 * (the coordinator's latency without the simulators' JS event loops in it)
 * and the number of answered heartbeats.
 */
async function startProbe(
  url: string,
  nodeId: string,
  o: BenchOptions,
): Promise<[number, number, number] | undefined> {
  const method = Coordinator.method.heartbeat;
  const body = `${o.dir}/probe-heartbeat.bin`;
  const log = `${o.dir}/probe-log.tsv`;
  await Deno.writeFile(
    body,
    toBinary(
      method.input,
      create(method.input, {
        jobId: JOB,
        nodeId,
        unixTimeMs: BigInt(Date.now()),
        stats: { inflightBytes: 1n << 20n, queueDepthBatches: 2 },
      }),
    ),
  );
  const out = await new Deno.Command("h2load", {
    args: [
      "-D",
      String(o.seconds),
      "-c",
      "1",
      "--rps",
      "50",
      "-H",
      "content-type: application/proto",
      "-H",
      "connect-protocol-version: 1",
      "-d",
      body,
      "--log-file",
      log,
      `${url}/${Coordinator.typeName}/${method.name}`,
    ],
    stdout: "null",
    stderr: "null",
  }).output();
  if (!out.success) return undefined;
  const us = (await Deno.readTextFile(log)).trim().split("\n")
    .map((l) => l.split("\t"))
    .filter((f) => f[1] === "200")
    .map((f) => Number(f[2]))
    .sort((a, b) => a - b);
  if (us.length === 0) return undefined;
  const at = (p: number) =>
    us[Math.min(us.length - 1, Math.floor(p * us.length))] / 1000;
  return [at(0.5), at(0.99), us.length];
}

async function* lines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string, void, undefined> {
  let buf = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    buf += text;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
  if (buf) yield buf;
}

/**
 * What the run needs: h2load for the latency probe; cc and libnghttp2-dev to
 * build `coord_sim.c` (`--sim native`, and `auto`, whose figures are the
 * documented ones); Node.js for `--sim node`; taskset for CPU pinning.
 */
export function prerequisites(
  sim: string,
  pinned: boolean,
): Prerequisite[] {
  return [
    H2LOAD,
    ...(sim === "native" || sim === "auto" ? [CC, NGHTTP2_DEV] : []),
    ...(sim === "node" ? [tool("node", "nodejs")] : []),
    ...(pinned ? [tool("taskset", "util-linux")] : []),
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      sim: { type: "string", default: "auto" },
      nodes: { type: "string", default: "16,128,512" },
      seconds: { type: "string", default: "10" },
      clients: { type: "string", default: "2" },
      "heartbeat-ms": { type: "string", default: "200" },
      "progress-ms": { type: "string", default: "200" },
      conns: { type: "string", default: "0" },
      "coord-flags": { type: "string", default: "" },
      "sim-flags": { type: "string", default: "" },
      client: { type: "string", default: "raw" },
      "lease-prefetch": { type: "string", default: "on" },
      "sim-nice": { type: "string", default: "0" },
      "coord-log": { type: "string" },
      "gc-stats": { type: "boolean", default: false },
      "content-length": { type: "string", default: "on" },
      "progress-from": { type: "string", default: "send" },
      main: { type: "string", default: MAIN_TS },
      lag: { type: "string" },
      repeat: { type: "string", default: "3" },
      "coord-cpus": { type: "string" },
      "sim-cpus": { type: "string" },
      timeline: { type: "string" },
      "warmup-ms": { type: "string", default: "2000" },
    },
  });
  const simKinds = ["auto", "native", "node", "deno"];
  if (!simKinds.includes(values.sim!)) {
    throw new Error(
      `--sim must be one of ${simKinds.join(", ")}: ${values.sim}`,
    );
  }
  requirePrerequisites(
    "bench:coordinator",
    prerequisites(
      values.sim!,
      Boolean(values["coord-cpus"] || values["sim-cpus"]),
    ),
    values.sim === "auto"
      ? "or pick another simulator: --sim node or --sim deno"
      : undefined,
  );
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) {
    throw new Error(`--repeat must be a whole number >= 1: ${values.repeat}`);
  }
  const seconds = Number(values.seconds);
  const heartbeatMs = Number(values["heartbeat-ms"]);
  const progressMs = Number(values["progress-ms"]);
  const conns = Number(values.conns);
  if (!["on", "off"].includes(values["lease-prefetch"]!)) {
    throw new Error(
      `--lease-prefetch must be on or off: ${values["lease-prefetch"]}`,
    );
  }
  if (values.client !== "raw" && values.client !== "connect") {
    throw new Error(`--client must be raw or connect: ${values.client}`);
  }
  const clients = Number(values.clients);
  const counts = values.nodes!.split(",").map(Number);
  const dir = await Deno.makeTempDir({ prefix: "mx8-bench-coord-" });
  const rows: Row[] = [];
  const sim = pickSimulator(
    values.sim!,
    dir,
    values["sim-flags"]!.split(" ").filter((f) => f),
  );
  if (!["on", "off"].includes(values["content-length"]!)) {
    throw new Error(
      `--content-length must be on or off: ${values["content-length"]}`,
    );
  }
  // The agents' client (Deno fetch) sends content-length; HTTP/2 lets a
  // client leave it out, and then the coordinator reads the body as a
  // stream. Only the native simulator can leave it out.
  if (sim.label === NATIVE_LABEL) {
    sim.args.push(
      "--content-length",
      values["content-length"] === "on" ? "1" : "0",
    );
  }
  if (!["send", "answer"].includes(values["progress-from"]!)) {
    throw new Error(
      `--progress-from must be send or answer: ${values["progress-from"]}`,
    );
  }
  // The next progress report is due one interval after the previous one
  // was sent, as an agent's consumer reports each batch at its own pace
  // (`answer`: after the previous answer, the simulator before).
  if (sim.label === NATIVE_LABEL) {
    sim.args.push("--progress-from", values["progress-from"]!);
  }
  try {
    for (const n of counts) {
      for (let run = 1; run <= repeat; run++) {
        console.error(
          `coordinator bench: ${n} nodes, ${seconds} s, run ${run}/${repeat} …`,
        );
        rows.push(
          await runOne(n, {
            seconds,
            clients,
            heartbeatMs,
            progressMs,
            conns,
            dir,
            sim,
            client: values.client!,
            prefetch: values["lease-prefetch"] !== "off",
            coordFlags: values["coord-flags"]!.split(" ").filter((f) => f),
            probe: true,
            simNice: Number(values["sim-nice"]),
            coordCpus: values["coord-cpus"],
            simCpus: values["sim-cpus"],
            coordLog: values["coord-log"] && counts.length * repeat > 1
              ? `${values["coord-log"]}.${n}.${run}`
              : values["coord-log"],
            gcStats: values["gc-stats"]!,
            main: values.main!,
            lag: values.lag && counts.length * repeat > 1
              ? `${values.lag}.${n}.${run}`
              : values.lag,
            warmupMs: Number(values["warmup-ms"]),
            timeline: values.timeline && counts.length * repeat > 1
              ? `${values.timeline}.${n}.${run}`
              : values.timeline,
          }),
        );
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  const cores = navigator.hardwareConcurrency;
  console.log(
    `\nmx8 coordinator: ${clients} client processes (${sim.label}, ${values.client} client), ${
      conns > 0
        ? `${conns} shared h2c connections per process`
        : "one h2c connection per node"
    }, heartbeat every ${heartbeatMs} ms, progress every ${progressMs} ms ` +
      `(${STEP} samples, leases of ${BLOCK}), next lease prefetched: ${
        values["lease-prefetch"]
      }, content-length sent: ${
        sim.label === NATIVE_LABEL ? values["content-length"] : "on"
      }, progress paced from the previous report's ${
        sim.label === NATIVE_LABEL ? values["progress-from"] : "answer"
      }, coordinator ${values.main}, ${seconds} s window after a ${
        values["warmup-ms"]
      } ms warm-up (first grants, cold JIT; --warmup-ms 0 measures from the start), ${cores} cores, load average ${loadAverage()}\n`,
  );
  console.log(
    "| nodes | RPCs/s | p50 ms | p99 ms | max ms | probe p50 / p99 ms | coordinator CPU % | CPU ms / RPC | clients CPU % | steal % | peak / mean 100 ms | 10 ms bins p99 / max ÷ mean | errors | heartbeat / request_lease / report_progress |",
  );
  console.log(
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
  );
  for (const r of rows) {
    console.log(
      `| ${r.nodes} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${
        r.p99.toFixed(2)
      } | ${r.max.toFixed(1)} | ${
        r.probe ? `${r.probe[0].toFixed(2)} / ${r.probe[1].toFixed(2)}` : "—"
      } | ${r.cpu.toFixed(0)} | ${cpuPerRpc(r).toFixed(3)} | ${
        r.clientCpu.toFixed(0)
      } | ${r.steal.toFixed(1)} | ${r.peak?.toFixed(2) ?? "—"} | ${
        r.bunch ? `${r.bunch[0].toFixed(2)} / ${r.bunch[1].toFixed(2)}` : "—"
      } | ${r.errors} | ${r.calls.heartbeat ?? 0} / ${
        r.calls.request_lease ?? 0
      } / ${r.calls.report_progress ?? 0} |`,
    );
  }
  if (values["gc-stats"]) printGc(rows);
  // Growth: each node count's median run (by p99).
  console.log(
    "\n| nodes | RPCs/s | CPU ms / RPC | p50 ms | p99 ms (median run) | steal % |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|");
  const medians: Row[] = [];
  for (const n of counts) {
    const runs = rows.filter((r) => r.nodes === n).sort((a, b) =>
      a.p99 - b.p99
    );
    const m = runs[Math.floor((runs.length - 1) / 2)];
    medians.push(m);
    console.log(
      `| ${n} | ${m.rps.toFixed(0)} | ${cpuPerRpc(m).toFixed(3)} | ${
        m.p50.toFixed(2)
      } | ${m.p99.toFixed(2)} | ${m.steal.toFixed(1)} |`,
    );
  }
  console.log("");
  for (const m of medians) {
    const runs = rows.filter((r) => r.nodes === m.nodes);
    const p99s = runs.map((r) => r.p99).sort((a, b) => a - b);
    const goal = goalMs(m.nodes, heartbeatMs, progressMs);
    console.log(
      `${m.nodes} nodes: median p99 ${
        m.p99.toFixed(2)
      } ms over ${runs.length} runs ` +
        `(p99s ${p99s.map((p) => p.toFixed(1)).join(", ")} ms; steal ${
          runs.map((r) => r.steal.toFixed(1)).join(", ")
        } %)` +
        (goal === undefined
          ? ""
          : ` — goal p99 < ${goal} ms: ${m.p99 < goal ? "met" : "NOT met"}`),
    );
  }
}

/** The GC table of `--gc-stats`: allocation per RPC and pauses per run. */
function printGc(rows: Row[]): void {
  console.log(
    "\n| nodes | JS heap KB allocated / RPC | promoted KB/s | scavenges | scavenge pause median / max ms | mark-compacts | mark-compact pause max ms | GC pause ms/s |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    const g = r.gc;
    if (!g) continue;
    const rpcs = r.rps * r.seconds + (r.probe?.[2] ?? 0);
    console.log(
      `| ${r.nodes} | ${(g.allocatedBytes / 1024 / rpcs).toFixed(2)} | ${
        (g.promotedBytes / 1024 / r.seconds).toFixed(0)
      } | ${g.scavenges[0]} | ${g.scavenges[1].toFixed(2)} / ${
        g.scavenges[2].toFixed(2)
      } | ${g.fullGcs[0]} | ${g.fullGcs[1].toFixed(2)} | ${
        (g.pauseMs / r.seconds).toFixed(2)
      } |`,
    );
  }
}

/** The 1/5/15-minute load average (`/proc/loadavg`), or `?`. */
function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3)
      .join(" ");
  } catch {
    return "?";
  }
}

/** Coordinator CPU ms per RPC of a run (the probe's RPCs included). */
export function cpuPerRpc(r: Row): number {
  const probeRps = (r.probe?.[2] ?? 0) / r.seconds;
  return (r.cpu / 100) * 1000 / (r.rps + probeRps);
}

/**
 * The p99 goal (ms) for a node count and intervals, if there is one: 512
 * nodes heartbeating and reporting every 200 ms: < 15 ms; 2 048 nodes at
 * the defaults (1 s each): < 20 ms.
 */
function goalMs(
  nodes: number,
  heartbeatMs: number,
  progressMs: number,
): number | undefined {
  if (nodes === 512 && heartbeatMs === 200 && progressMs === 200) return 15;
  if (nodes === 2048 && heartbeatMs === 1000 && progressMs === 1000) return 20;
  return undefined;
}

if (import.meta.main) await main();
