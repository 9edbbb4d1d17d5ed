/**
 * Benchmark of `mx8 coordinator` under many simulated nodes.
 *
 * For each node count N it starts a real coordinator process (world size N,
 * blocks of 100 samples), then two client processes that simulate N/2 nodes
 * each. Every node has its own h2c connection (the client of
 * lib/rpc/client.ts), registers until the barrier is met, then for the
 * measured window: heartbeats every 200 ms, and in a second loop requests a
 * lease (want 1) and reports progress every 200 ms, 10 samples at a time,
 * until the lease completes. It prints RPCs/s, p50/p99 latency (client side)
 * and the coordinator's CPU (utime+stime from /proc, 100% = one core) as a
 * markdown table. Goal: p99 < 20 ms at 512 nodes on a 2-core machine.
 *
 * ```sh
 * deno run -A scripts/bench/coordinator.ts [--nodes 16,128,512] [--seconds 10] [--clients 2]
 *   [--heartbeat-ms 200] [--progress-ms 200] [--conns 0 (= one per node)]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { serializeManifest } from "../../lib/manifest/tsv.ts";
import {
  type CoordinatorClient,
  createCoordinatorClient,
} from "../../lib/rpc/client.ts";

const MAIN_TS = new URL("../../main.ts", import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;
const JOB = "bench";
const BLOCK = 100;
const STEP = 10;
/** Latency histogram resolution: 0.05 ms buckets. */
const BUCKET_MS = 0.05;

/** What one client process reports. */
interface WorkerReport {
  /** Bucket index → count, for every RPC started inside the window. */
  hist: Record<string, number>;
  /** RPCs per method inside the window. */
  calls: Record<string, number>;
  /** Failed RPCs inside the window. */
  errors: number;
  /** First error message, if any. */
  firstError?: string;
}

interface Row {
  nodes: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  cpu: number;
  errors: number;
  calls: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- worker

async function worker(
  url: string,
  nodeIds: string[],
  opts: {
    seconds: number;
    heartbeatMs: number;
    progressMs: number;
    conns: number;
  },
): Promise<WorkerReport> {
  const report: WorkerReport = { hist: {}, calls: {}, errors: 0 };
  let startAt = Infinity;
  let endAt = Infinity;
  const inWindow = (wall: number) => wall >= startAt && wall < endAt;
  const timed = async <T>(method: string, call: () => Promise<T>) => {
    const t0 = performance.now();
    const wall = Date.now();
    try {
      return await call();
    } catch (err) {
      if (inWindow(wall)) {
        report.errors++;
        report.firstError ??= `${method}: ${(err as Error).message}`;
      }
      return undefined;
    } finally {
      if (inWindow(wall)) {
        const b = Math.floor((performance.now() - t0) / BUCKET_MS);
        report.hist[b] = (report.hist[b] ?? 0) + 1;
        report.calls[method] = (report.calls[method] ?? 0) + 1;
      }
    }
  };
  // One connection per node, or `conns` connections shared round-robin.
  const pool = Array.from(
    {
      length: opts.conns > 0
        ? Math.min(opts.conns, nodeIds.length)
        : nodeIds.length,
    },
    () => createCoordinatorClient(url),
  );
  const clientOf = new Map<string, CoordinatorClient>(
    nodeIds.map((id, i) => [id, pool[i % pool.length]]),
  );
  for (let i = 0; i < nodeIds.length; i += 64) {
    await Promise.all(
      nodeIds.slice(i, i + 64).map((nodeId) =>
        clientOf.get(nodeId)!.registerNode({ jobId: JOB, nodeId })
      ),
    );
  }
  // Tell the driver we registered; it answers with the window start once the barrier is met.
  console.log("registered");
  const line = await readLine();
  startAt = Number(line);
  endAt = startAt + opts.seconds * 1000;
  const stop = () => Date.now() >= endAt;
  const heartbeatLoop = async (nodeId: string) => {
    const client = clientOf.get(nodeId)!;
    await sleep(
      Math.max(0, startAt - Date.now()) + Math.random() * opts.heartbeatMs,
    );
    while (!stop()) {
      const t = Date.now();
      await timed(
        "heartbeat",
        () =>
          client.heartbeat({
            jobId: JOB,
            nodeId,
            unixTimeMs: BigInt(t),
            stats: { inflightBytes: 1n << 20n, queueDepthBatches: 2 },
          }),
      );
      await sleep(Math.max(0, opts.heartbeatMs - (Date.now() - t)));
    }
  };
  const workLoop = async (nodeId: string) => {
    const client = clientOf.get(nodeId)!;
    await sleep(
      Math.max(0, startAt - Date.now()) + Math.random() * opts.progressMs,
    );
    while (!stop()) {
      const grant = await timed(
        "request_lease",
        () => client.requestLease({ jobId: JOB, nodeId, want: 1 }),
      );
      const lease = grant?.leases[0];
      if (!lease) {
        if (grant?.jobDrained) return;
        await sleep(grant?.waitMs || opts.progressMs);
        continue;
      }
      let cursor = lease.range!.startId;
      const end = lease.range!.endId;
      while (cursor < end && !stop()) {
        await sleep(opts.progressMs);
        const next = cursor + BigInt(STEP) < end ? cursor + BigInt(STEP) : end;
        await timed(
          "report_progress",
          () =>
            client.reportProgress({
              jobId: JOB,
              nodeId,
              leaseId: lease.leaseId,
              cursor: next,
              deliveredSamples: next - cursor,
              deliveredBytes: (next - cursor) * 100_000n,
            }),
        );
        cursor = next;
      }
    }
  };
  await Promise.all(
    nodeIds.flatMap((id) => [heartbeatLoop(id), workLoop(id)]),
  );
  for (const client of pool) client.close();
  return report;
}

async function readLine(): Promise<string> {
  const reader = Deno.stdin.readable.pipeThrough(new TextDecoderStream())
    .getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  return text.trim();
}

// ---------------------------------------------------------------- driver

function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime
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
interface BenchOptions {
  seconds: number;
  clients: number;
  heartbeatMs: number;
  progressMs: number;
  conns: number;
  dir: string;
}

async function runOne(nodes: number, o: BenchOptions): Promise<Row> {
  // Enough work that nobody drains inside the window.
  const samples = Math.ceil(
    nodes * (o.seconds + 5) * (1000 / o.progressMs) * STEP * 1.2,
  );
  const dataset = await makeDataset(o.dir, `bench-${nodes}`, samples);
  const coord = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      MAIN_TS,
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
    ],
    env: { MX8_AUTH_TOKEN: "" },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const coordOut = lines(coord.stdout);
  const ready = (await coordOut.next()).value ?? "";
  const url = /url=(\S+)/.exec(ready)?.[1];
  if (!url) throw new Error(`coordinator did not start: ${ready}`);
  const ids = Array.from(
    { length: nodes },
    (_, i) => `node-${String(i).padStart(4, "0")}`,
  );
  const parts = Array.from(
    { length: o.clients },
    (_, c) => ids.filter((_, i) => i % o.clients === c),
  ).filter((p) => p.length > 0);
  const workers = parts.map((part) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        SELF,
        "--worker",
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
  const startAt = Date.now() + 1000;
  for (const w of workers) {
    const writer = w.child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(`${startAt}\n`));
    await writer.close();
  }
  const hz = clockTicks();
  await sleep(Math.max(0, startAt - Date.now()));
  const cpu0 = cpuTicks(coord.pid);
  const t0 = performance.now();
  await sleep(o.seconds * 1000);
  const cpu1 = cpuTicks(coord.pid);
  const elapsed = (performance.now() - t0) / 1000;
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
  await coordOut.return(undefined);

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
    rps: total / o.seconds,
    p50: pct(0.5),
    p99: pct(0.99),
    max: sorted.length ? (sorted[sorted.length - 1][0] + 1) * BUCKET_MS : NaN,
    cpu: ((cpu1 - cpu0) / hz / elapsed) * 100,
    errors,
    calls,
  };
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      worker: { type: "boolean" },
      url: { type: "string" },
      "node-ids": { type: "string" },
      nodes: { type: "string", default: "16,128,512" },
      seconds: { type: "string", default: "10" },
      clients: { type: "string", default: "2" },
      "heartbeat-ms": { type: "string", default: "200" },
      "progress-ms": { type: "string", default: "200" },
      conns: { type: "string", default: "0" },
    },
  });
  const seconds = Number(values.seconds);
  const heartbeatMs = Number(values["heartbeat-ms"]);
  const progressMs = Number(values["progress-ms"]);
  const conns = Number(values.conns);
  if (values.worker) {
    const report = await worker(values.url!, values["node-ids"]!.split(","), {
      seconds,
      heartbeatMs,
      progressMs,
      conns,
    });
    console.log(JSON.stringify(report));
    return;
  }
  const clients = Number(values.clients);
  const counts = values.nodes!.split(",").map(Number);
  const dir = await Deno.makeTempDir({ prefix: "mx8-bench-coord-" });
  const rows: Row[] = [];
  try {
    for (const n of counts) {
      console.error(`coordinator bench: ${n} nodes, ${seconds} s …`);
      rows.push(
        await runOne(n, {
          seconds,
          clients,
          heartbeatMs,
          progressMs,
          conns,
          dir,
        }),
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  const cores = navigator.hardwareConcurrency;
  console.log(
    `\nmx8 coordinator: ${clients} client processes, ${
      conns > 0
        ? `${conns} shared h2c connections per process`
        : "one h2c connection per node"
    }, heartbeat every ${heartbeatMs} ms, progress every ${progressMs} ms ` +
      `(${STEP} samples, leases of ${BLOCK}), ${seconds} s window, ${cores} cores\n`,
  );
  console.log(
    "| nodes | RPCs/s | p50 ms | p99 ms | max ms | coordinator CPU % | errors | heartbeat / request_lease / report_progress |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|---:|---|");
  for (const r of rows) {
    console.log(
      `| ${r.nodes} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${
        r.p99.toFixed(2)
      } | ${r.max.toFixed(1)} | ${r.cpu.toFixed(0)} | ${r.errors} | ${
        r.calls.heartbeat ?? 0
      } / ${r.calls.request_lease ?? 0} / ${r.calls.report_progress ?? 0} |`,
    );
  }
  const big = rows.find((r) => r.nodes === 512);
  if (big) {
    console.log(
      `\ngoal p99 < 20 ms at 512 nodes: ${big.p99 < 20 ? "met" : "NOT met"} (${
        big.p99.toFixed(2)
      } ms)`,
    );
  }
}

if (import.meta.main) await main();
