/**
 * The coordinator's per-RPC JavaScript cost, in process (no HTTP): N nodes
 * registered on a `CoordinatorJob` with a JSON-lines event sink, each RPC
 * through the service implementation with its request decoded from and its
 * response encoded to protobuf bytes, as the server's fast path does. Rounds
 * of: every node leases, then 10 progress reports and heartbeats each, then a
 * maintenance tick. Prints the minimum over 6 trials of the mean µs per call.
 * Run with stderr to /dev/null (the events).
 *
 * ```sh
 * deno run -A scripts/bench/_coord_inproc.ts 2048 2>/dev/null
 * ```
 *
 * @module
 */
import {
  create,
  type DescMessage,
  fromBinary,
  toBinary,
} from "@bufbuild/protobuf";
import { Coordinator } from "../../lib/gen/mx8/v1/coordinator_pb.ts";
import { CoordinatorJob } from "../../lib/coordinator/job.ts";
import { createCoordinatorService } from "../../lib/coordinator/service.ts";
import { jsonLinesSink } from "../../lib/coordinator/events.ts";

const N = Number(Deno.args[0] ?? 512);
const job = new CoordinatorJob({
  jobId: "bench",
  manifestHash: "h",
  manifestBytes: new Uint8Array(),
  totalSamples: N * 100 * 200,
  datasetRoot: "/d",
  classes: [],
  worldSize: N,
  blockSize: 100,
  leaseTtlMs: 30000,
  heartbeatIntervalMs: 200,
  onEvent: jsonLinesSink({ fields: { job_id: "bench" } }),
});
const svc = createCoordinatorService(job) as unknown as Record<
  string,
  (req: unknown, ctx: unknown) => unknown
>;
const ids = Array.from(
  { length: N },
  (_, i) => `node-${String(i).padStart(4, "0")}`,
);
for (const nodeId of ids) svc.registerNode({ jobId: "bench", nodeId }, {});

/** One RPC through bytes: decode the request, call, encode the response. */
function wire(
  m: { input: DescMessage; output: DescMessage; localName: string },
  req: Record<string, unknown>,
): Uint8Array {
  const bytes = toBinary(m.input, create(m.input, req));
  const out = svc[m.localName](fromBinary(m.input, bytes), {});
  return toBinary(m.output, create(m.output, out as Record<string, unknown>));
}

const M = Coordinator.method;
const held = new Map<string, { id: string; cursor: bigint }>();
const timed = (fn: () => void) => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};
const best = {
  lease: Infinity,
  progress: Infinity,
  completing: Infinity,
  heartbeat: Infinity,
  tick: Infinity,
};
for (let trial = 0; trial < 6; trial++) {
  const sum = { lease: 0, progress: 0, completing: 0, heartbeat: 0, tick: 0 };
  const rounds = 3;
  for (let round = 0; round < rounds; round++) {
    for (const nodeId of ids) {
      sum.lease += timed(() => {
        const res = fromBinary(
          M.requestLease.output,
          wire(M.requestLease, { jobId: "bench", nodeId, want: 1 }),
        );
        const l = res.leases[0];
        held.set(nodeId, { id: l.leaseId, cursor: l.range!.startId });
      });
    }
    for (let k = 0; k < 10; k++) {
      for (const nodeId of ids) {
        const l = held.get(nodeId)!;
        const d = timed(() =>
          wire(M.reportProgress, {
            jobId: "bench",
            nodeId,
            leaseId: l.id,
            cursor: l.cursor + 10n,
            deliveredSamples: 10n,
            deliveredBytes: 1000n,
          })
        );
        l.cursor += 10n;
        if (k === 9) sum.completing += d;
        else sum.progress += d;
        sum.heartbeat += timed(() =>
          wire(M.heartbeat, {
            jobId: "bench",
            nodeId,
            unixTimeMs: 1n,
            stats: { inflightBytes: 1n << 20n, queueDepthBatches: 2 },
          })
        );
      }
    }
    sum.tick += timed(() => job.tick());
  }
  const calls = rounds * N;
  best.lease = Math.min(best.lease, (sum.lease / calls) * 1000);
  best.progress = Math.min(best.progress, (sum.progress / (calls * 9)) * 1000);
  best.completing = Math.min(best.completing, (sum.completing / calls) * 1000);
  best.heartbeat = Math.min(
    best.heartbeat,
    (sum.heartbeat / (calls * 10)) * 1000,
  );
  best.tick = Math.min(best.tick, sum.tick / rounds);
}
console.log(
  `${N} nodes: request_lease ${best.lease.toFixed(1)} µs, progress ${
    best.progress.toFixed(1)
  } µs, completing progress ${best.completing.toFixed(1)} µs, heartbeat ${
    best.heartbeat.toFixed(1)
  } µs, tick ${best.tick.toFixed(2)} ms (min of 6 trials)`,
);
job.stop();
