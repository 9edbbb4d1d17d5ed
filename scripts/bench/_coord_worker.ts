/**
 * One client process of `scripts/bench/coordinator.ts`: simulates a share of
 * the nodes against a running coordinator. Runtime-neutral (no `Deno.*`), so
 * the driver can run it under Deno or, bundled, under Node.js (whose native
 * `node:http2` costs the shared CPU far less per RPC than Deno's compat).
 *
 * Protocol with the driver: argv `--url U --node-ids a,b,… --seconds S
 * --heartbeat-ms H --progress-ms P --conns C`; prints `registered` once every
 * node registered, reads the window start (Unix ms) from stdin, and prints
 * one JSON {@linkcode WorkerReport} line at the end.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import * as http2 from "node:http2";
import process from "node:process";
import { parseArgs } from "node:util";
import {
  create,
  type DescMethodUnary,
  fromBinary,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import { Coordinator } from "../../lib/gen/mx8/v1/coordinator_pb.ts";
import { createCoordinatorClient } from "../../lib/rpc/client.ts";
import {
  jitteredPeriodMs,
  prefetchPoint,
  randomPhaseMs,
} from "../../lib/distributed/jitter.ts";

import { BUCKET_MS, JOB, STEP, type WorkerReport } from "./_coord_common.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type M = typeof Coordinator.method;
/** The four RPCs a simulated node makes. */
type NodeClient =
  & {
    [K in "registerNode" | "heartbeat" | "requestLease" | "reportProgress"]: (
      req: MessageInitShape<M[K]["input"]>,
    ) => Promise<
      ReturnType<typeof fromBinary<M[K]["output"]>>
    >;
  }
  & { close(): void };

/**
 * A minimal Connect client on one raw `node:http2` session: unary POST,
 * `application/proto`, exactly the wire format of lib/rpc/client.ts's
 * default (Connect, binary, h2c) without the client library's per-call
 * machinery (web Headers, AbortControllers, async iterables), which costs
 * the simulator ~0.5 ms CPU per RPC on this box, the coordinator's CPU.
 */
function rawClient(url: string): NodeClient {
  const session = http2.connect(url);
  session.on("error", () => {});
  const call = <I extends DescMethodUnary>(method: I) =>
  (
    input: MessageInitShape<I["input"]>,
  ) =>
    new Promise<ReturnType<typeof fromBinary<I["output"]>>>(
      (resolve, reject) => {
        const req = session.request({
          ":method": "POST",
          ":path": `/${Coordinator.typeName}/${method.name}`,
          "content-type": "application/proto",
          "connect-protocol-version": "1",
        });
        const chunks: Buffer[] = [];
        let status = 0;
        req.on("response", (h) => status = Number(h[":status"]));
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          const body = Buffer.concat(chunks);
          if (status === 200) {
            resolve(
              fromBinary(method.output, body) as ReturnType<
                typeof fromBinary<I["output"]>
              >,
            );
          } else reject(new Error(`HTTP ${status}: ${body.toString()}`));
        });
        req.on("error", reject);
        req.end(toBinary(method.input, create(method.input, input)));
      },
    );
  const m = Coordinator.method;
  return {
    registerNode: call(m.registerNode),
    heartbeat: call(m.heartbeat),
    requestLease: call(m.requestLease),
    reportProgress: call(m.reportProgress),
    close: () => session.close(),
  };
}

async function worker(
  url: string,
  nodeIds: string[],
  opts: {
    seconds: number;
    heartbeatMs: number;
    progressMs: number;
    conns: number;
    client: string;
    prefetch: boolean;
    /** Traffic starts this long before the measured window (not recorded). */
    warmupMs: number;
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
    (): NodeClient =>
      opts.client === "raw" ? rawClient(url) : createCoordinatorClient(url),
  );
  const clientOf = new Map<string, NodeClient>(
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
  process.stdout.write("registered\n");
  const line = await readLine();
  startAt = Number(line);
  endAt = startAt + opts.seconds * 1000;
  const stop = () => Date.now() >= endAt;
  const heartbeatLoop = async (nodeId: string) => {
    const client = clientOf.get(nodeId)!;
    await sleep(
      Math.max(0, startAt - opts.warmupMs - Date.now()) +
        randomPhaseMs(opts.heartbeatMs),
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
      // 90–100 % of the interval, as lib/distributed/lease_source.ts.
      await sleep(
        Math.max(0, jitteredPeriodMs(opts.heartbeatMs) - (Date.now() - t)),
      );
    }
  };
  const workLoop = async (nodeId: string) => {
    const client = clientOf.get(nodeId)!;
    // First RequestLease staggered over one heartbeat interval, as LeaseSource.
    await sleep(
      Math.max(0, startAt - opts.warmupMs - Date.now()) +
        randomPhaseMs(opts.heartbeatMs),
    );
    const requestLease = (want: number) =>
      timed(
        "request_lease",
        () => client.requestLease({ jobId: JOB, nodeId, want }),
      );
    // The next lease, asked for inside the current one (as LeaseSource).
    let prefetched: ReturnType<typeof requestLease> | undefined;
    while (!stop()) {
      const ahead = (await prefetched)?.leases[0];
      prefetched = undefined;
      const grant = ahead ? undefined : await requestLease(1);
      const lease = ahead ?? grant?.leases[0];
      if (!lease) {
        if (grant?.jobDrained) return;
        const waitMs = grant?.waitMs || opts.progressMs;
        await sleep(waitMs + randomPhaseMs(waitMs / 10));
        continue;
      }
      let cursor = lease.range!.startId;
      const end = lease.range!.endId;
      const prefetchAt = BigInt(prefetchPoint(Number(cursor), Number(end)));
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
        if (
          opts.prefetch && prefetched === undefined && cursor >= prefetchAt &&
          cursor < end
        ) {
          prefetched = requestLease(2);
        }
      }
    }
  };
  await Promise.all(
    nodeIds.flatMap((id) => [heartbeatLoop(id), workLoop(id)]),
  );
  for (const client of pool) client.close();
  return report;
}

function readLine(): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    const onData = (chunk: Uint8Array | string) => {
      text += typeof chunk === "string"
        ? chunk
        : new TextDecoder().decode(chunk);
      if (text.includes("\n")) done();
    };
    const done = () => {
      process.stdin.off("data", onData);
      process.stdin.off("end", done);
      process.stdin.pause();
      resolve(text.trim());
    };
    process.stdin.on("data", onData);
    process.stdin.on("end", done);
  });
}

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    url: { type: "string" },
    "node-ids": { type: "string" },
    seconds: { type: "string", default: "10" },
    "heartbeat-ms": { type: "string", default: "200" },
    "progress-ms": { type: "string", default: "200" },
    conns: { type: "string", default: "0" },
    client: { type: "string", default: "connect" },
    prefetch: { type: "string", default: "1" },
    "warmup-ms": { type: "string", default: "0" },
  },
});
const report = await worker(values.url!, values["node-ids"]!.split(","), {
  seconds: Number(values.seconds),
  heartbeatMs: Number(values["heartbeat-ms"]),
  progressMs: Number(values["progress-ms"]),
  conns: Number(values.conns),
  client: values.client!,
  prefetch: values.prefetch !== "0",
  warmupMs: Number(values["warmup-ms"]),
});
// deno-lint-ignore no-explicit-any
const deno = (globalThis as any).Deno;
report.runtime = deno ? `deno ${deno.version.deno}` : `node ${process.version}`;
process.stdout.write(JSON.stringify(report) + "\n");
process.exit(0);
